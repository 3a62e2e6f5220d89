"""Decide crossings of one bounded polyline from track trajectories.

Rule (see docs/architecture.md, "How a crossing is decided"):

* Each observation's ground point is classified as side A, side B, or *in the strip*
  (within ``strip`` px of the line). A track's **anchor** is the last side it was seen
  clearly on (outside the strip).
* Every segment between consecutive observations is intersected with the *bounded*
  polyline. A hit marks the track as having *touched* the line since its anchor and
  remembers the latest hit.
* When the track is next seen clearly on the *other* side and has touched the line, one
  crossing anchor -> other side is counted, timed at the observation right after the
  latest hit. Seen again on the anchor side, the touch is forgotten (loitering).
  Reaching the other side without a touch (going round the end of the line) just moves
  the anchor.
* Crossings of a track that is not yet confirmed (fewer than ``min_hits``
  observations) are held back and released on confirmation, or dropped with the track.

Because whole segments are tested, objects that jump far between frames (fast movers,
trail cameras) still count; because of the strip, wobbling on the line does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import ON_LINE, Polyline


@dataclass(frozen=True)
class CrossEvent:
    """A decided traversal, before ids, labels and output are attached."""

    line: str
    track_id: int
    from_side: str
    to_side: str
    frame: int  # first observation past the line
    time_s: float  # its source time
    time_estimate_s: float  # interpolated instant of the line hit
    point: tuple[float, float]  # where the line was hit (px)
    inferred: bool  # the hit happened across unseen frames


@dataclass
class _Hit:
    frame: int
    time_s: float
    time_estimate_s: float
    point: tuple[float, float]
    inferred: bool


@dataclass
class _TrackState:
    hits: int = 0
    anchor: int = ON_LINE
    last_point: np.ndarray | None = None
    last_time: float = 0.0
    touch: _Hit | None = None
    pending: list[CrossEvent] = field(default_factory=list)


class LineCounter:
    """Counts crossings of one line; feed it observations in time order per track."""

    def __init__(self, line: Polyline, strip_px: float, min_hits: int = 3) -> None:
        self.line = line
        self.strip_px = float(strip_px)
        self.min_hits = int(min_hits)
        self._tracks: dict[int, _TrackState] = {}

    def update(
        self,
        track_id: int,
        frame: int,
        time_s: float,
        point: tuple[float, float] | np.ndarray,
        gap: bool = False,
    ) -> list[CrossEvent]:
        """Add one observation; return crossings that are now decided and confirmed.

        ``gap`` says that frames between the previous observation and this one were not
        seen (occlusion, undecoded span): a crossing over that segment is *inferred*.
        """
        st = self._tracks.get(track_id)
        if st is None:
            st = self._tracks[track_id] = _TrackState()
        p = np.asarray(point, dtype=np.float64)
        out: list[CrossEvent] = []
        if st.last_point is not None:
            us = self.line.intersections(st.last_point, p)
            if us:
                u = us[-1]
                hit_pt = st.last_point + u * (p - st.last_point)
                st.touch = _Hit(
                    frame=frame,
                    time_s=time_s,
                    time_estimate_s=st.last_time + u * (time_s - st.last_time),
                    point=(float(hit_pt[0]), float(hit_pt[1])),
                    inferred=gap,
                )
        side = int(self.line.side(p, self.strip_px))
        if side != ON_LINE:
            if st.anchor == ON_LINE:
                st.touch = None
            elif side != st.anchor and st.touch is not None:
                h = st.touch
                out.append(
                    CrossEvent(
                        line=self.line.name,
                        track_id=track_id,
                        from_side=self.line.side_name(st.anchor),
                        to_side=self.line.side_name(side),
                        frame=h.frame,
                        time_s=h.time_s,
                        time_estimate_s=h.time_estimate_s,
                        point=h.point,
                        inferred=h.inferred,
                    )
                )
            st.anchor = side
            st.touch = None
        st.last_point = p
        st.last_time = time_s
        st.hits += 1
        if st.hits < self.min_hits:
            st.pending.extend(out)
            return []
        if st.pending:
            out = st.pending + out
            st.pending = []
        return out

    def drop(self, track_id: int) -> None:
        """Forget a finished track (its unconfirmed crossings are discarded)."""
        self._tracks.pop(track_id, None)

    def is_confirmed(self, track_id: int) -> bool:
        st = self._tracks.get(track_id)
        return st is not None and st.hits >= self.min_hits

    def distance(self, point: np.ndarray) -> float:
        """Unsigned distance of a point to the line, in px."""
        return float(abs(self.line.signed_distance(np.asarray(point, dtype=np.float64))))

    @property
    def active_tracks(self) -> int:
        return len(self._tracks)
