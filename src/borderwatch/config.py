"""Strict, validated configuration for a scan.

Config holds no runtime state: :func:`borderwatch.scan.build_pipeline` turns it into
stage objects. Unknown keys are rejected everywhere (``extra="forbid"``), so a typo in
a config file is an error, not a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config_locate import describe, key_line, parse_error
from .errors import ConfigError
from .geometry import Polyline, parse_points


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineConfig(_Strict):
    """One border line. Side A is on your left walking from the first point to the last."""

    name: str = Field("border", description="Name used in records and counts.")
    points: list[tuple[float, float]] = Field(
        description="Polyline points (x, y): fractions of width/height unless px is true."
    )
    sides: tuple[str, str] = Field(("A", "B"), description="Names of the left (A) and right (B) sides.")
    px: bool = Field(False, description="Points are in pixels instead of fractions.")

    @field_validator("points")
    @classmethod
    def _two_points(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(v) < 2:
            raise ValueError("a line needs at least two points")
        return v

    @field_validator("sides")
    @classmethod
    def _distinct(cls, v: tuple[str, str]) -> tuple[str, str]:
        if not v[0] or not v[1] or v[0] == v[1]:
            raise ValueError("sides must be two distinct non-empty names")
        return v

    def to_polyline(self, width: int, height: int) -> Polyline:
        """The line in pixel coordinates of a ``width`` x ``height`` frame (validated)."""
        pts = np.array(self.points, dtype=np.float64)
        if not self.px:
            if (pts < -1e-9).any() or (pts > 1 + 1e-9).any():
                raise ConfigError(
                    f"line {self.name!r}: fractional coordinates must lie in [0, 1] "
                    "(use --px for pixel coordinates)"
                )
            pts = pts * np.array([width, height], dtype=np.float64)
        poly = Polyline(pts, self.name, self.sides)
        poly.check_inside(width, height)
        return poly


class MotionConfig(_Strict):
    """Background/motion model on the subsampled luma plane."""

    analysis_width: int = Field(
        320, ge=80, le=1920, description="Target width of the analysis image; the luma plane is subsampled by an integer factor to about this width."
    )
    learn_seconds: float = Field(8.0, gt=0, description="Time constant of the background model.")
    threshold: float = Field(18.0, gt=0, description="Minimum luma difference counted as foreground.")
    noise_k: float = Field(3.5, gt=0, description="Foreground needs a difference above noise_k x the pixel's learned deviation.")
    min_area_frac: float = Field(
        0.00015, gt=0, lt=1, description="Smallest blob, as a fraction of the frame area."
    )
    light_change_frac: float = Field(
        0.35, gt=0, le=1, description="Share of changed pixels that makes a frame a whole-image light change."
    )
    warmup_seconds: float = Field(0.25, ge=0, description="Time to learn the background before detecting.")


class TrackConfig(_Strict):
    """Tracker (roboflow trackers ByteTrack) and confirmation rules."""

    min_hits: int = Field(3, ge=1, description="Observations before a track is confirmed (at normal frame rates).")
    min_hits_sparse: int = Field(2, ge=1, description="Observations before confirmation when frames are >= 0.5 s apart (trail cameras).")
    lost_seconds: float = Field(
        2.0, gt=0, description="How long a lost track may be re-found (occlusion behind a tree can last over a second)."
    )
    max_speed_frac: float = Field(
        1.5, gt=0, description="Largest expected speed, in frame widths per second, used to gate associations (on top of one box size)."
    )


class CrossConfig(_Strict):
    """Crossing decision."""

    strip_frac: float = Field(
        0.012, ge=0, lt=0.5, description="Half-width of the hysteresis strip around each line, as a fraction of the frame diagonal."
    )


class HealthConfig(_Strict):
    """Camera health and coverage (see docs/coverage.md for each signal)."""

    enabled: bool = Field(True, description="Measure camera health and write coverage.jsonl.")
    bucket_seconds: float = Field(10.0, gt=0, le=86400, description="Length of a coverage bucket.")
    sample_seconds: float = Field(0.5, gt=0, le=60, description="Source time between health samples.")
    min_impaired_seconds: float = Field(
        1.0, ge=0, le=60, description="A fault must last this long to count (blackout, glare, defocus, moved, frozen)."
    )
    dark_level: int = Field(
        32, ge=0, le=254, description="Luma at or below this is dark (levels are on the 0-255 scale; converted for video-range sources)."
    )
    blackout_frac: float = Field(0.9, gt=0, le=1, description="Share of dark pixels that means a covered lens or blackout.")
    clip_level: int = Field(250, ge=1, le=255, description="Luma at or above this is clipped.")
    glare_frac: float = Field(0.3, gt=0, le=1, description="Share of clipped pixels that means glare.")
    flat_spread: float = Field(4.0, ge=0, le=255, description="A picture whose 1st-99th percentile spread is this small carries no image (signal loss).")
    low_light_p95: float = Field(40.0, ge=0, le=255, description="Low light: the 95th luma percentile is at or below this (and it is not a blackout).")
    night_level: float = Field(60.0, ge=0, le=255, description="Median luma below this uses the night baselines (sharpness, noise floor).")
    frozen_change: float = Field(0.1, ge=0, description="Mean change between samples at or below this is a frozen picture, whatever the noise.")
    frozen_ratio: float = Field(0.1, ge=0, le=1, description="Frozen: change below this share of the camera's usual change (its noise floor).")
    defocus_ratio: float = Field(0.6, gt=0, le=1, description="Defocus: sharpness below this share of the camera's own baseline.")
    moved_frac: float = Field(0.02, gt=0, le=1, description="Camera moved: shift from the reference view above this share of the frame width.")
    baseline_seconds: float = Field(600.0, gt=0, description="Time constant of the learned baselines once established.")


class ScanConfig(_Strict):
    """Everything a scan needs besides the source and output paths."""

    lines: list[LineConfig] = Field(description="Border lines to count crossings of.")
    motion: MotionConfig = Field(default_factory=MotionConfig)
    track: TrackConfig = Field(default_factory=TrackConfig)
    cross: CrossConfig = Field(default_factory=CrossConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    idle_stride: int = Field(
        2, ge=1, le=8, description="While nothing moves near a line, look for change (cheaply, at half resolution) in one frame in this many."
    )
    idle_refresh: int = Field(
        16, ge=1, le=64, description="While nothing moves, update the background model at least once in this many frames."
    )
    detector: str | None = Field(None, description="Optional Darknet .cfg or .onnx detector for labels.")
    detector_classes: Literal["coco", "overhead"] = Field(
        "coco",
        description="How detector classes map to person/vehicle/animal: 'coco', or 'overhead' for cameras looking straight down (COCO models call cars seen from above 'cell phone').",
    )
    snapshots: bool = Field(True, description="Write a JPEG snapshot per crossing.")
    fast_decode: bool = Field(
        False,
        description="Skip the in-loop deblocking filter when decoding (H.264, HEVC, VP8): a fifth less decode time, but the analysed pictures and snapshots are not the exact ones (blockier; on low-bitrate footage blocks can split a moving blob and change a count). Time-lapses always decode exactly.",
    )

    @field_validator("lines")
    @classmethod
    def _unique_names(cls, v: list[LineConfig]) -> list[LineConfig]:
        if not v:
            raise ValueError("at least one line is required")
        names = [ln.name for ln in v]
        if len(set(names)) != len(names):
            raise ValueError(f"line names must be unique, got {names}")
        return v


def line_from_cli(text: str, sides: str | None = None, px: bool = False, name: str = "border") -> LineConfig:
    """Build a :class:`LineConfig` from ``--line "X1,Y1 X2,Y2"`` and ``--sides A,B``."""
    pts = parse_points(text)
    side_names: tuple[str, str] = ("A", "B")
    if sides:
        parts = [s.strip() for s in sides.split(",")]
        if len(parts) != 2:
            raise ConfigError(f"--sides {sides!r}: expected two names like US,CA")
        side_names = (parts[0], parts[1])
    return _validated(LineConfig, {"name": name, "points": [tuple(p) for p in pts], "sides": side_names, "px": px}, "--line")


def _validated(model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_first_error(exc, model)}") from None


def _first_error(exc: ValidationError, model: type[BaseModel]) -> str:
    return _joined([describe(e, model) for e in exc.errors()])


def _joined(problems: list[str]) -> str:
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def config_file_problems(path: str | Path, overrides: dict[str, Any] | None = None) -> tuple[ScanConfig | None, list[str]]:
    """Load and validate a TOML or YAML scan config; return it, or every problem found.

    Each problem is one line: ``FILE:LINE: key.path: message`` (``FILE: ...`` when the
    line is unknown). ``overrides`` replace top-level keys (e.g. lines given on the
    command line); problems in them carry no line number.
    """
    p = Path(path)
    if not p.is_file():
        return None, [f"config file not found: {p}"]
    fmt = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}.get(p.suffix.lower())
    if fmt is None:
        return None, [f"{p}: config must be .toml, .yaml or .yml"]
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}"]
    try:
        if fmt == "toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
            data = {} if data is None else data
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError
        line, col, msg = parse_error(exc, text)
        at = f":{line}" + (f":{col}" if col else "") if line else ""
        return None, [f"{p}{at}: cannot parse: {msg}"]
    if not isinstance(data, dict):
        return None, [f"{p}: expected a table/mapping at the top level, got {type(data).__name__}"]
    over = overrides or {}
    try:
        return ScanConfig.model_validate({**data, **over}), []
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            line = key_line(text, fmt, loc) if loc and loc[0] not in over else None
            problems.append(f"{p}{f':{line}' if line else ''}: {describe(e, ScanConfig)}")
        return None, problems


def load_config_file(path: str | Path, overrides: dict[str, Any] | None = None) -> ScanConfig:
    """Load a TOML or YAML scan config, validated; ``overrides`` replace top-level keys.

    Raises :class:`ConfigError` with one line naming the file, the line where known, the
    key and the problem (the first three problems when there are several).
    """
    cfg, problems = config_file_problems(path, overrides)
    if cfg is None:
        raise ConfigError(_joined(problems))
    return cfg


def make_config(lines: list[LineConfig], **kwargs: Any) -> ScanConfig:
    """Build a validated :class:`ScanConfig` from Python values."""
    return _validated(ScanConfig, {"lines": lines, **kwargs}, "config")
