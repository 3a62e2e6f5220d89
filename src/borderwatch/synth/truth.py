"""Exact ground truth for a generated scene, and the crossing rule that defines it.

The truth is computed from the float ground-contact trajectories with
:class:`borderwatch.geometry.Polyline`, the same geometry the scanner uses, never from
rendered pixels.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..errors import TruthError
from ..geometry import Polyline
from .faults import hiding_cause, truth_intervals
from .paths import ActorPlan
from .spec import SceneSpec, rate_str

CROSSING_RULE = (
    "An actor's position is the bottom centre of its drawn shape (ground-contact point). "
    "A crossing happens when that point goes from more than margin_px on one side of the "
    "line to more than margin_px on the other side, and its frame-to-frame path between "
    "those two moments intersects the bounded polyline (not around its ends). 'frame' is "
    "the first frame of the final run of frames strictly on the far side before the "
    "point got past the margin (for a clean walk: the first frame strictly past the line); "
    "'time_s' is that frame's presentation time pts * time_base = frame / fps. A crossing "
    "hidden by an occluder at that frame still counts, with occluded = true. Side A is on "
    "the left walking the line from its first point to its last, as seen on screen."
)
# An actor counts as occluded at a frame when at least this share of its box is hidden.
OCCLUDED_SHARE = 0.5


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TruthLine(_M):
    name: str
    points: list[list[float]]
    points_px: list[list[float]]
    sides: list[str]


class TruthCrossing(_M):
    id: int
    time_s: float
    frame: int
    line: str
    from_side: str
    to_side: str
    label: str
    actor_id: int
    occluded: bool
    point_px: list[float]  # where the ground path met the line
    # Cause of a fault that hides the crossing's frame entirely (lost, blackout, frozen),
    # else None: the crossing still happened, but no camera could have seen it.
    during_fault: str | None = None


class TruthFault(_M):
    kind: str  # the synth fault: cover, freeze, defocus, knock, glare, drop, corrupt
    cause: str  # docs/coverage.md vocabulary: blackout, frozen, defocus, moved, glare, lost
    start_s: float  # source seconds, first faulted frame's pts
    end_s: float  # source seconds, end of the last faulted frame (clip end when open)


class TruthDistractor(_M):
    actor_id: int
    kind: str  # the behaviour that makes it a distractor: loiter, along_line, wander, ...
    label: str
    t_start: float | None
    t_end: float | None


class TruthActor(_M):
    actor_id: int
    label: str
    kind: str
    behavior: str
    group: int | None
    speed_px_per_frame: float
    first_frame: int | None  # first frame with any part of it in view
    last_frame: int | None


class Truth(_M):
    """The ``.truth.json`` written beside every generated video."""

    version: Literal[1] = 1
    generator: str = "borderwatch synth"
    seed: int
    spec: dict[str, Any]
    video: str
    format: Literal["mp4", "images"]
    width: int
    height: int
    fps: str
    time_base: str
    frames: int
    duration_s: float
    start_time: str
    margin_px: float
    crossing_rule: str = CROSSING_RULE
    lines: list[TruthLine]
    crossings: list[TruthCrossing]
    distractors: list[TruthDistractor]
    actors: list[TruthActor]
    faults: list[TruthFault] = []

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=1) + "\n"

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TruthError(f"{path}: not a borderwatch synth truth file: {str(exc).splitlines()[0]}") from None


def find_crossings(line: Polyline, pos: np.ndarray, margin: float) -> list[tuple[int, int, np.ndarray]]:
    """Apply the crossing rule to one trajectory: ``[(index, to_sign, point), ...]``.

    ``index`` is into ``pos``; ``to_sign`` is +1 for a crossing into side B, -1 into A.
    """
    d = line.signed_distance(pos)
    out: list[tuple[int, int, np.ndarray]] = []
    confirmed, last = 0, -1
    for i in np.flatnonzero(np.abs(d) > margin):
        s = 1 if d[i] > 0 else -1
        if confirmed == 0 or s == confirmed:
            confirmed, last = s, int(i)
            continue
        hit = None
        for k in range(last, int(i)):
            us = line.intersections(pos[k], pos[k + 1])
            if us:
                hit = pos[k] + us[-1] * (pos[k + 1] - pos[k])
        if hit is not None:
            k = int(i)
            while k - 1 > last and d[k - 1] * s > 0:
                k -= 1
            # Where the path met the line just before the far-side run began.
            us = line.intersections(pos[k - 1], pos[k])
            point = pos[k - 1] + us[-1] * (pos[k] - pos[k - 1]) if us else hit
            out.append((k, s, point))
        confirmed, last = s, int(i)
    return out


def _occluded_share(mask: np.ndarray | None, box: tuple[float, float, float, float]) -> float:
    if mask is None:
        return 0.0
    H, W = mask.shape
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(W, int(round(box[2]))), min(H, int(round(box[3])))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(mask[y0:y1, x0:x1].mean())


def build_truth(
    spec: SceneSpec,
    line: Polyline,
    plans: list[ActorPlan],
    occlusion: np.ndarray | None,
    video_name: str,
    fmt: Literal["mp4", "images"] = "mp4",
) -> Truth:
    """Truth for ``spec`` from its planned trajectories (``occlusion``: H x W bool of bushes)."""
    n = spec.frames
    fps = spec.fps
    margin = spec.margin_px
    crossings: list[dict[str, Any]] = []
    distractors: list[TruthDistractor] = []
    actors: list[TruthActor] = []
    sides = spec.line.sides

    def t_of(frame: int | None) -> float | None:
        return None if frame is None else float(Fraction(frame) / fps)

    for p in plans:
        # Only frames inside the video exist; later ones are never shown.
        visible = p.pos[: max(0, n - p.start_frame)]
        found = find_crossings(line, visible, margin) if p.start_frame < n else []
        for k, s, point in found:
            frame = p.start_frame + k
            crossings.append(
                {
                    "time_s": float(Fraction(frame) / fps),
                    "frame": frame,
                    "line": line.name,
                    "from_side": sides[0] if s > 0 else sides[1],
                    "to_side": sides[1] if s > 0 else sides[0],
                    "label": p.spec.label,
                    "actor_id": p.actor_id,
                    "occluded": _occluded_share(occlusion, p.bbox(k)) >= OCCLUDED_SHARE,
                    "point_px": [round(float(point[0]), 3), round(float(point[1]), 3)],
                    "during_fault": hiding_cause(spec, frame) if spec.faults else None,
                }
            )
        if not found and p.first_visible is not None:
            distractors.append(
                TruthDistractor(
                    actor_id=p.actor_id,
                    kind=p.spec.behavior,
                    label=p.spec.label,
                    t_start=t_of(p.first_visible),
                    t_end=t_of(p.last_visible),
                )
            )
        actors.append(
            TruthActor(
                actor_id=p.actor_id,
                label=p.spec.label,
                kind=p.spec.kind,
                behavior=p.spec.behavior,
                group=p.group,
                speed_px_per_frame=round(p.speed, 6),
                first_frame=p.first_visible,
                last_frame=p.last_visible,
            )
        )
    crossings.sort(key=lambda c: (c["frame"], c["actor_id"]))
    time_base = Fraction(1) / fps
    return Truth(
        seed=spec.seed,
        spec=spec.model_dump(mode="json"),
        video=video_name,
        format=fmt,
        width=spec.width,
        height=spec.height,
        fps=rate_str(fps),
        time_base=rate_str(time_base),
        frames=n,
        duration_s=float(Fraction(n) / fps),
        start_time=spec.start_time.isoformat(),
        margin_px=margin,
        lines=[
            TruthLine(
                name=line.name,
                points=[[float(x), float(y)] for x, y in spec.line.points],
                points_px=[[float(x), float(y)] for x, y in line.points],
                sides=list(sides),
            )
        ],
        crossings=[TruthCrossing(id=i + 1, **c) for i, c in enumerate(crossings)],
        distractors=distractors,
        actors=actors,
        faults=[TruthFault(**f) for f in truth_intervals(spec)],
    )
