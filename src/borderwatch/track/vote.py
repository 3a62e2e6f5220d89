"""Decide a track's class by a score-weighted vote over its whole life.

:func:`assign_labels` turns one frame's detector output into per-track
observations; :class:`LabelVote` sums them per track.

A single frame's detection is noisy (a person half-hidden by a car, a dog at the
edge of a window); summing scores over the track lets many weak agreeing looks
outweigh one confident mistake. Confidence is the winner's share of all votes, so a
track seen as 60% person / 40% animal reports 0.6, not the best single score.

>>> v = LabelVote()
>>> v.add(7, "person", 0.5); v.add(7, "animal", 0.5); v.add(7, "person", 1.0)
>>> v.result(7)
('person', 0.75)
>>> v.drop(7); v.result(7)
('unknown', 0.0)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
import supervision as sv

UNKNOWN = "unknown"
# Tie-break order: a deterministic preference when summed scores are exactly equal.
_PRIORITY = {"person": 0, "vehicle": 1, "animal": 2}


class _Tally:
    __slots__ = ("score", "count")

    def __init__(self) -> None:
        self.score = 0.0
        self.count = 0


class LabelVote:
    """Per-track accumulation of (label, score) observations.

    Memory is O(live tracks x labels): call :meth:`drop` when a track ends. As a
    safety net for callers that forget, at most ``max_tracks`` tracks are kept and the
    least recently updated one is evicted first.
    """

    def __init__(self, max_tracks: int = 10_000) -> None:
        if max_tracks < 1:
            raise ValueError("max_tracks must be >= 1")
        self._max = max_tracks
        self._tracks: OrderedDict[int, dict[str, _Tally]] = OrderedDict()

    def add(self, track_id: int, label: str, score: float) -> None:
        """Record one observation; non-positive or NaN scores carry no vote."""
        if not score > 0.0:  # also rejects NaN
            return
        tallies = self._tracks.get(track_id)
        if tallies is None:
            tallies = self._tracks[track_id] = {}
            if len(self._tracks) > self._max:
                self._tracks.popitem(last=False)
        else:
            self._tracks.move_to_end(track_id)
        t = tallies.get(label)
        if t is None:
            t = tallies[label] = _Tally()
        t.score += float(score)
        t.count += 1

    def observe(self, track_id: int, observation: tuple[str, float] | None) -> None:
        """Add the output of :func:`assign_labels` for one track; None is no vote."""
        if observation is not None:
            self.add(track_id, observation[0], observation[1])

    def update(
        self, track_ids: Iterable[int], observations: Iterable[tuple[str, float] | None]
    ) -> None:
        """Vectorised :meth:`observe` over parallel track ids and observations."""
        for tid, obs in zip(track_ids, observations, strict=True):
            self.observe(int(tid), obs)

    def result(self, track_id: int) -> tuple[str, float]:
        """(label, share of summed score); ``("unknown", 0.0)`` with no observation.

        Ties on summed score (to 1e-9, so float summation order cannot flip a
        rerun) go to the label seen more often, then to the fixed order
        person > vehicle > animal > others alphabetically, so reruns agree.
        """
        tallies = self._tracks.get(track_id)
        if not tallies:
            return UNKNOWN, 0.0
        total = sum(t.score for t in tallies.values())
        label, best = min(
            tallies.items(),
            key=lambda kv: (-round(kv[1].score, 9), -kv[1].count, _PRIORITY.get(kv[0], 99), kv[0]),
        )
        return label, best.score / total

    def drop(self, track_id: int) -> None:
        """Forget a finished track (no error if it was never seen)."""
        self._tracks.pop(track_id, None)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._tracks

    def __len__(self) -> int:
        return len(self._tracks)


def assign_labels(
    track_boxes_xyxy: np.ndarray, det: sv.Detections, min_iou: float = 0.3,
    min_cover: float = 0.6,
) -> list[tuple[str, float] | None]:
    """Label each motion/track box with its best-matching detection, or None.

    IoU alone fails on motion blobs: a blob is often a fragment of the object (only
    the moving legs) or the object plus its shadow. A pair matches when IoU >=
    ``min_iou`` *or* when the detection covers >= ``min_cover`` of the track box (a
    fragment inside the object). The reverse (a small detection inside a big blob) is
    deliberately not enough: that is often a different, smaller object. Among matches
    the larger of the two measures wins, then the higher score.
    """
    t = np.asarray(track_boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    if len(det) == 0 or len(t) == 0:
        return [None] * len(t)
    d = np.asarray(det.xyxy, dtype=np.float64)
    lo = np.maximum(t[:, None, :2], d[None, :, :2])
    hi = np.minimum(t[:, None, 2:], d[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_t = np.prod(np.clip(t[:, 2:] - t[:, :2], 0, None), axis=1)[:, None]
    area_d = np.prod(np.clip(d[:, 2:] - d[:, :2], 0, None), axis=1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.nan_to_num(inter / (area_t + area_d - inter))
        cover = np.nan_to_num(inter / area_t)
    ok = (iou >= min_iou) | (cover >= min_cover)
    quality = np.maximum(iou, cover)
    scores = (np.asarray(det.confidence, dtype=np.float64) if det.confidence is not None
              else np.ones(len(d)))
    names = det.data.get("class_name", np.full(len(d), UNKNOWN))
    out: list[tuple[str, float] | None] = []
    for i in range(len(t)):
        cand = np.flatnonzero(ok[i])
        if len(cand) == 0:
            out.append(None)
            continue
        j = max(cand, key=lambda k: (quality[i, k], scores[k], -k))
        out.append((str(names[j]), float(scores[j])))
    return out
