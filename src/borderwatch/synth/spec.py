"""What a synthetic scene contains: strict pydantic models, unknown keys rejected.

A :class:`SceneSpec` plus its ``seed`` fully determines every frame and the truth.
Distances that must survive a change of resolution are fractions (of the frame
height for body sizes, of the image diagonal for offsets from the line); speeds are
pixels per frame because that is what a tracker sees.
"""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from ..errors import ConfigError

Kind = Literal["walk", "run", "crawl", "vehicle", "animal", "group"]
Behavior = Literal["cross", "loiter", "back_and_forth", "along_line", "wander"]
FaultKind = Literal["cover", "freeze", "defocus", "knock", "glare", "drop", "corrupt"]

#: Truth cause of each synthetic fault (the vocabulary of docs/coverage.md).
FAULT_CAUSES: dict[str, str] = {
    "cover": "blackout",
    "freeze": "frozen",
    "defocus": "defocus",
    "knock": "moved",
    "glare": "glare",
    "drop": "lost",
    "corrupt": "lost",
}
# Strength knobs and the one fault kind each applies to.
_FAULT_KNOBS = {
    "transition_s": "cover",
    "sigma_frac": "defocus",
    "shift_frac": "knock",
    "rotate_deg": "knock",
    "direction_deg": "knock",
    "area": "glare",
}

#: Truth label of each actor kind.
LABELS: dict[str, str] = {
    "walk": "person",
    "run": "person",
    "crawl": "person",
    "group": "person",
    "vehicle": "vehicle",
    "animal": "animal",
}

# The along-line walker wobbles by at most this (fraction of the diagonal); it must stay
# well inside the 1 % truth margin or it would be a crossing.
MAX_WOBBLE = 0.006


def parse_rate(value: Any) -> Fraction:
    """Parse a frame rate: ``25``, ``"30000/1001"``, ``"0.2"`` (one frame every 5 s)."""
    if isinstance(value, Fraction):
        f = value
    elif isinstance(value, bool):
        raise ValueError("frame rate must be a number")
    elif isinstance(value, float):
        # Decimal text of the float, so 29.97 means 2997/100 and not a 53-bit ratio.
        f = Fraction(repr(value))
    else:
        try:
            f = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"frame rate {value!r} is not a number or ratio like 30000/1001") from None
    if not (Fraction(1, 3600) <= f <= 240):
        raise ValueError(f"frame rate {value} is outside 1/3600 .. 240 frames per second")
    return f


def rate_str(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


Rate = Annotated[Fraction, BeforeValidator(parse_rate), PlainSerializer(rate_str, return_type=str)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineSpec(_Strict):
    """The border, exactly as ``borderwatch scan --line`` takes it (fractions of W, H)."""

    name: str = Field(default="border", min_length=1, description="Line name used in crossings.")
    points: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 0.54), (0.5, 0.48), (1.0, 0.52)],
        min_length=2,
        description="Polyline vertices as (x, y) fractions of width and height.",
    )
    sides: tuple[str, str] = Field(default=("A", "B"), description="Names of side A (left walking P0->Pn) and side B.")

    @model_validator(mode="after")
    def _check(self) -> LineSpec:
        for x, y in self.points:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"line point {x:g},{y:g} is outside the frame (fractions must be 0..1)")
        if len(set(self.sides)) != 2 or not all(s.strip() for s in self.sides):
            raise ValueError(f"line sides must be two distinct non-empty names, got {list(self.sides)}")
        return self


class ActorSpec(_Strict):
    """One mover (or a group of them) and what it does relative to the line."""

    kind: Kind = Field(default="walk", description="Appearance and default speed.")
    behavior: Behavior = Field(default="cross", description="Path relative to the line.")
    start_s: float = Field(default=0.0, ge=0, description="Time its path starts (it enters from outside the frame).")
    speed: float | None = Field(default=None, gt=0, le=1000, description="Pixels per frame; default from the kind.")
    at: float = Field(default=0.5, ge=0.02, le=0.98, description="Where along the line (fraction of its length).")
    from_side: str | None = Field(default=None, description="Side it starts on; default the first side.")
    angle_deg: float = Field(default=0.0, ge=-60, le=60, description="Heading relative to the line's normal (wander: its sign picks the direction).")
    traversals: int = Field(default=3, ge=1, le=50, description="back_and_forth: number of traversals.")
    turn: float = Field(default=0.08, ge=0.03, le=0.5, description="back_and_forth: turn distance past the line (x diagonal).")
    loiter_s: float = Field(default=4.0, ge=0, description="loiter: seconds standing on the line.")
    loiter_offset: float = Field(default=0.004, ge=0, le=0.008, description="loiter: how far past the line it stands (x diagonal).")
    wobble: float = Field(default=MAX_WOBBLE, ge=0, le=MAX_WOBBLE, description="along_line: lateral wobble (x diagonal).")
    offset: float = Field(default=0.15, ge=0.03, le=0.6, description="wander: distance from the line (x diagonal).")
    members: int = Field(default=3, ge=2, le=12, description="group: number of people.")
    occluded: bool = Field(default=False, description="Put a foreground bush over the point where it meets the line.")
    scale: float = Field(default=1.0, ge=0.5, le=2.0, description="Size relative to the kind's standard size.")
    color: tuple[int, int, int] | None = Field(default=None, description="Main colour (B, G, R); default from the seed.")

    @model_validator(mode="after")
    def _check(self) -> ActorSpec:
        if self.kind == "group" and self.behavior not in ("cross", "back_and_forth"):
            raise ValueError("a group can only 'cross' or go 'back_and_forth' (members would overlap)")
        return self

    @property
    def label(self) -> str:
        return LABELS[self.kind]


class Effects(_Strict):
    """Scene nuisances a background subtractor must live with."""

    noise: float = Field(default=2.0, ge=0, le=30, description="Sensor noise sigma (grey levels).")
    light_drift: float = Field(default=0.03, ge=0, le=0.3, description="Amplitude of slow global brightness drift.")
    light_period_s: float = Field(default=300.0, gt=0, description="Period of the brightness drift.")
    sway: float = Field(default=1.0, ge=0, le=5, description="Vegetation sway amplitude (1 = a few pixels).")
    vegetation: int | None = Field(default=None, ge=0, le=60, description="Number of trees/bushes; default from the size.")
    light_switch_s: list[float] = Field(default_factory=list, description="Times of sudden light changes (toggle).")
    shake_px: float = Field(default=0.0, ge=0, le=20, description="Camera shake amplitude in pixels.")
    weather: Literal["none", "rain", "snow"] = Field(default="none", description="Precipitation overlay.")
    night: bool = Field(default=False, description="Dark grey infrared look; people and animals glow.")


class FaultSpec(_Strict):
    """A camera fault over ``[start_s, end_s)`` of source time (``end_s`` None: to the end).

    A frame at time ``t = i / fps`` is faulted when ``start_s <= t < end_s``.
    """

    kind: FaultKind = Field(description="cover, freeze, defocus, knock, glare, drop or corrupt.")
    start_s: float = Field(ge=0, description="Source time the fault starts.")
    end_s: float | None = Field(default=None, gt=0, description="Source time it ends (exclusive); None: the end of the clip.")
    transition_s: float = Field(default=0.2, ge=0, le=2, description="cover: seconds to slide the cover on before start_s and off after end_s.")
    sigma_frac: float = Field(default=0.006, gt=0, le=0.05, description="defocus: Gaussian blur sigma (x width).")
    shift_frac: float = Field(default=0.06, ge=0, le=0.3, description="knock: shift of the view (x width).")
    rotate_deg: float = Field(default=1.0, ge=-20, le=20, description="knock: rotation of the view about its centre.")
    direction_deg: float | None = Field(default=None, ge=-360, le=360, description="knock: direction of the shift (0 = right, 90 = down); default from the seed.")
    area: float = Field(default=0.4, ge=0.05, le=0.95, description="glare: share of the image clipped to white.")

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"{self.kind} fault ends at {self.end_s:g} s, not after its start {self.start_s:g} s")
        for knob, owner in _FAULT_KNOBS.items():
            # Set to something else than its default (a dumped spec carries them all).
            if owner != self.kind and getattr(self, knob) != type(self).model_fields[knob].default:
                raise ValueError(f"{knob} applies to {owner} faults, not {self.kind}")
        return self

    @property
    def cause(self) -> str:
        return FAULT_CAUSES[self.kind]


class SceneSpec(_Strict):
    """Everything a scene is made of. ``generate(spec, path)`` renders it."""

    seed: int = Field(default=0, ge=0, description="Seed for textures, vegetation, colours and noise.")
    width: int = Field(default=640, ge=64, le=7680)
    height: int = Field(default=360, ge=64, le=4320)
    fps: Rate = Field(default=Fraction(25), description="Frames per second, exact (e.g. 30000/1001, 1/5).")
    duration_s: float = Field(default=20.0, gt=0, le=7 * 24 * 3600)
    line: LineSpec = Field(default_factory=lambda: LineSpec())
    actors: list[ActorSpec] = Field(default_factory=list)
    person_height: float = Field(default=1 / 7, ge=0.04, le=0.4, description="Standing person height / frame height.")
    margin: float = Field(default=0.01, gt=0, le=0.1, description="Truth hysteresis margin (x diagonal).")
    effects: Effects = Field(default_factory=lambda: Effects())
    start_time: datetime = Field(default=datetime(2026, 1, 1, 12, 0, 0), description="Camera clock at frame 0.")
    faults: list[FaultSpec] = Field(default_factory=list, description="Camera faults (see synth/faults.py).")

    @model_validator(mode="after")
    def _check(self) -> SceneSpec:
        for i, a in enumerate(self.actors):
            if a.from_side is not None and a.from_side not in self.line.sides:
                raise ValueError(f"actors[{i}].from_side {a.from_side!r} is not one of the sides {list(self.line.sides)}")
            if a.behavior == "along_line" and a.wobble >= self.margin:
                raise ValueError(f"actors[{i}].wobble must stay below the margin {self.margin}")
        if self.frames > 10_000_000:
            raise ValueError(f"{self.frames} frames is too many (limit 10,000,000)")
        self._check_faults()
        return self

    def _check_faults(self) -> None:
        n = self.frames
        end = Fraction(n) / self.fps
        spans: dict[str, list[tuple[int, int, int]]] = {}
        for i, fault in enumerate(self.faults):
            where = f"faults[{i}] ({fault.kind})"
            if Fraction(repr(fault.start_s)) >= end:
                raise ValueError(f"{where} starts at {fault.start_s:g} s, at or after the end of the clip ({float(end):g} s)")
            if fault.end_s is not None and Fraction(repr(fault.end_s)) > end:
                raise ValueError(f"{where} ends at {fault.end_s:g} s, after the end of the clip ({float(end):g} s)")
            a, b = self.fault_frames(fault)
            if b <= a:
                raise ValueError(f"{where} covers no frame at {rate_str(self.fps)} fps")
            for j, a2, b2 in spans.get(fault.kind, []):
                if a < b2 and a2 < b:
                    raise ValueError(f"{where} overlaps faults[{j}] of the same kind")
            spans.setdefault(fault.kind, []).append((i, a, b))
            if fault.kind == "drop" and a == 0:
                # The file would just start later: nothing could tell frames were lost.
                raise ValueError(f"{where} cannot start at the first frame (a clip that starts late shows no gap); start it later")

    def fault_frames(self, fault: FaultSpec) -> tuple[int, int]:
        """Frames ``[a, b)`` the fault covers: those with ``start_s <= i / fps < end_s``."""
        n = self.frames
        eps = Fraction(1, 10**6)  # of a frame: a float frame time like 1001/30000 * i counts as that frame
        a = min(n, math.ceil(Fraction(repr(fault.start_s)) * self.fps - eps))
        b = n if fault.end_s is None else min(n, math.ceil(Fraction(repr(fault.end_s)) * self.fps - eps))
        return a, b

    @property
    def frames(self) -> int:
        """Number of frames: the duration rounded to whole frames (at least one)."""
        return max(1, round(Fraction(repr(self.duration_s)) * self.fps))

    @property
    def diagonal(self) -> float:
        return float((self.width**2 + self.height**2) ** 0.5)

    @property
    def margin_px(self) -> float:
        return self.margin * self.diagonal


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "invalid scene: " + "; ".join(parts) + more


def make_spec(data: dict[str, Any] | SceneSpec | None = None, **updates: Any) -> SceneSpec:
    """Validate ``data`` (plus ``updates``) into a :class:`SceneSpec`, or raise ConfigError.

    ``make_spec(spec, width=1280, height=720)`` re-validates a changed copy; pydantic's
    ``model_copy(update=...)`` would skip validation.
    """
    base = data.model_dump() if isinstance(data, SceneSpec) else dict(data or {})
    base.update(updates)
    try:
        return SceneSpec.model_validate(base)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
