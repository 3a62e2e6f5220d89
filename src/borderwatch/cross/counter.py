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
* The crossing instant is refined by a straight-line fit of the signed distance to the
  line against time over the observations around the touch (up to four on each side):
  box edges are quantised by the analysis grid, and a slow walker's bottom edge moves
  by less than one quantum per frame, so one raw observation can be a few frames off.
  The reported frame is the first frame strictly after the fitted instant (interpolated
  over unseen frames when the touch spans a gap). A fitted instant among unseen frames
  makes the crossing *inferred*, like a touch across them.
* Crossings of a track that is not yet confirmed (fewer than ``min_hits``
  observations) are held back and released on confirmation, or dropped with the track.

Because whole segments are tested, objects that jump far between frames (fast movers,
trail cameras) still count; because of the strip, wobbling on the line does not.
"""

from __future__ import annotations

import math
from collections import deque
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


_FIT_EACH_SIDE = 4


@dataclass
class _TrackState:
    # (frame, time_s, signed distance, unseen frames before it) of recent observations
    hist: deque[tuple[int, float, float, bool]] = field(default_factory=lambda: deque(maxlen=3 * _FIT_EACH_SIDE))
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
        st.hist.append((frame, time_s, float(self.line.signed_distance(p)), gap))
        if side != ON_LINE:
            if st.anchor == ON_LINE:
                st.touch = None
            elif side != st.anchor and st.touch is not None:
                h = _refine(st.touch, st.hist, side)
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

    def distance(self, point: np.ndarray) -> float:
        """Unsigned distance of a point to the line, in px."""
        return float(abs(self.line.signed_distance(np.asarray(point, dtype=np.float64))))


def _refine(hit: _Hit, hist: deque[tuple[int, float, float, bool]], to_side: int) -> _Hit:
    """The hit re-timed by a linear fit of signed distance over time (see module doc).

    A fitted instant that falls between two observations with unseen frames between
    them makes the crossing *inferred*, even when the hit itself was seen.
    """
    obs = list(hist)
    k = next((i for i, o in enumerate(obs) if o[0] == hit.frame), None)
    if k is None or k == 0:
        return hit
    win = obs[max(0, k - _FIT_EACH_SIDE) : k + _FIT_EACH_SIDE]
    if len(win) < 3:
        return hit
    t = np.array([o[1] for o in win])
    d = np.array([o[2] for o in win])
    t0 = t[0]
    slope, icept = np.polyfit(t - t0, d, 1)
    if slope * to_side <= 0:
        return hit  # the fit does not move towards the far side: keep the raw hit
    t_star = t0 - icept / slope
    # Bracket the fitted instant between consecutive observations; stay near the hit.
    lo_t, hi_t = obs[k - 1][1], hit.time_s
    span = hi_t - lo_t
    t_star = min(max(t_star, lo_t - span), hi_t + span)
    for (f_i, t_i, _, _), (f_j, t_j, _, unseen) in zip(win, win[1:]):
        if t_i <= t_star < t_j:
            # The first frame strictly after the fitted instant (on the line is not past it).
            u = (t_star - t_i) / (t_j - t_i)
            frame = min(f_j, f_i + 1 + math.floor(u * (f_j - f_i) + 1e-9))
            time_s = t_i + (frame - f_i) / (f_j - f_i) * (t_j - t_i) if f_j > f_i else t_j
            return _Hit(frame, time_s, float(t_star), hit.point, hit.inferred or unseen)
    return hit
