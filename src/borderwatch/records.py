"""Small immutable records passed between stages.

Detections between stages are ``supervision.Detections`` (parallel numpy arrays);
these records cover what supervision has no type for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded picture with its exact timing.

    ``time_s`` is seconds since the start of the source timeline, computed from the
    presentation timestamp (``pts * time_base``, plus the segment's offset for a
    folder of segments), never from an assumed frame rate.
    """

    index: int  # 0-based position in the source timeline (all segments)
    pts: int | None  # raw pts in the segment's stream time base (None for images)
    time_base: Fraction | None
    time_s: float
    luma: np.ndarray  # (H, W) uint8 luma plane; may be a view into decoder memory
    wallclock: datetime | None = None  # timezone-aware when known
    segment: int = 0  # which file of the source this frame came from
    # Lazily produce a full-resolution BGR image (for snapshots and the detector).
    to_bgr: Callable[[], np.ndarray] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DecodeGap:
    """A span of the source timeline that could not be decoded or is missing."""

    start_s: float
    end_s: float
    reason: str
    segment: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Crossing:
    """A track's traversal of a border line: the primary output of a scan."""

    id: int
    time_s: float  # source time of the first frame seen past the line
    frame: int  # that frame's index
    line: str
    from_side: str
    to_side: str
    track_id: int
    label: str  # person / vehicle / animal by the detector's vote; "unknown" without one
    # Confidence in [0, 1]: the share of analysed frames of the track's life in which it
    # was seen, times the winning label's share of the vote when a detector is used.
    score: float
    inferred: bool  # the traversal happened across a gap of unseen frames
    wallclock: str | None = None  # ISO 8601 when the source gives real time
    time_estimate_s: float | None = None  # interpolated instant the line was crossed
    snapshot: str | None = None
    point: tuple[float, float] | None = None  # where the line was crossed (px)

    @property
    def direction(self) -> str:
        return f"{self.from_side}->{self.to_side}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["direction"] = self.direction
        return d
