"""What a synthetic scene contains: strict pydantic models, unknown keys rejected.

A :class:`SceneSpec` plus its ``seed`` fully determines every frame and the truth.
Distances that must survive a change of resolution are fractions (of the frame
height for body sizes, of the image diagonal for offsets from the line); speeds are
pixels per frame because that is what a tracker sees.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from ..errors import ConfigError

Kind = Literal["walk", "run", "crawl", "vehicle", "animal", "group"]
Behavior = Literal["cross", "loiter", "back_and_forth", "along_line", "wander"]

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

    @model_validator(mode="after")
    def _check(self) -> SceneSpec:
        for i, a in enumerate(self.actors):
            if a.from_side is not None and a.from_side not in self.line.sides:
                raise ValueError(f"actors[{i}].from_side {a.from_side!r} is not one of the sides {list(self.line.sides)}")
            if a.behavior == "along_line" and a.wobble >= self.margin:
                raise ValueError(f"actors[{i}].wobble must stay below the margin {self.margin}")
        if self.frames > 10_000_000:
            raise ValueError(f"{self.frames} frames is too many (limit 10,000,000)")
        return self

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
