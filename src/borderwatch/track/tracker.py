"""Multi-object tracking of motion blobs with roboflow ``trackers`` ByteTrack.

Two adaptations for border footage, both through the tracker's public extension
points rather than a fork:

* **Gated similarity** (:class:`GatedIoU`): plain IoU is zero between the boxes of an
  object that moves more than its own size between analysed frames (a runner at 60 px
  per frame, a trail camera's one frame every few seconds), so ByteTrack would start a
  new track every frame and nothing would ever be confirmed. The similarity used for
  association is ``max(IoU, 0.5 * max(0, 1 - d / gate))`` where ``d`` is the centre
  distance and ``gate`` grows with the detection's size and with the time since the
  last update; beyond the gate the similarity is 0 even if boxes overlap. Real overlap
  still dominates; distance only matters when there is none.
* **Confirmation is ours**: the tracker is run with ``minimum_consecutive_frames=1``, and
  the detection that *spawned* a track (which ByteTrack returns with id -1) is handed
  back as the track's first observation once the track gets its id, so a trajectory
  starts where the object appeared. This matters for fast movers that are seen only a
  few times before they reach the line. The crossing stage holds crossings back until
  the track has enough observations, so unconfirmed tracks are still never counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker
from trackers.utils.iou import BaseIoU, IoU
from trackers.utils.state_representations import XCYCSRStateEstimator

from ..config import TrackConfig
from ..geometry import borders_touched


def _near(iou: np.ndarray, d: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """``max(IoU, 0.5 * (1 - d / scale))`` within ``scale`` of centre distance ``d``, else 0."""
    return np.where(d <= scale, np.maximum(iou, 0.5 * np.clip(1.0 - d / scale, 0.0, 1.0)), 0.0)


@dataclass
class _Motion:
    """What is known of one track's box centre; kept by BlobTracker._note_motion."""

    origin: np.ndarray  # the first centre
    box: np.ndarray  # the last seen box
    seen_at: float  # the source time then
    still_since: float  # since when the centre has stayed within SETTLED_FRAC of still_at
    still_at: np.ndarray
    moved: bool = False  # ever beyond its size from the origin ("parked" while not)
    exited: bool = False  # last seen leaving through a frame edge
    settled: bool = False  # sparse frames: still for SETTLED_S when last seen
    velocity: np.ndarray | None = None  # its last step, px/s
    smooth: float | None = None  # its speed, smoothed (px/s)
    # The highest smoothed speed: a box going behind a bush slows down while the
    # object does not.
    speed: float | None = None
    # (time, centre x, centre y) of its recent views, for its trend (see MERGED_TREND_VIEWS)
    recent: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=MERGED_TREND_VIEWS))
    host: int | None = None  # lost inside this track's box (two objects in one blob)

    @property
    def centre(self) -> np.ndarray:
        """The last seen box centre."""
        return _centre(self.box)

    @property
    def size(self) -> float:
        """The last seen box size (its longer side)."""
        return _size(self.box)

    def trend(self) -> np.ndarray | None:
        """Velocity (px/s) of a straight-line fit of its recent centres over time."""
        if len(self.recent) < MERGED_TREND_VIEWS // 2:
            return None
        a = np.asarray(self.recent, np.float64)
        t = a[:, 0] - a[:, 0].mean()
        tt = float(t @ t)
        if tt <= 0:
            return None
        return np.asarray((t @ (a[:, 1] - a[:, 1].mean()) / tt, t @ (a[:, 2] - a[:, 2].mean()) / tt))

    def expected(self, now: float) -> np.ndarray | None:
        """Where its centre's trend takes it by ``now``; None without a trend."""
        v = self.trend()
        return None if v is None else self.centre + v * (now - self.seen_at)


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2


def _size(box: np.ndarray) -> float:
    return float((box[2:] - box[:2]).max())


# Two objects in one blob (a merge): the track lost inside another's box is looked for,
# when the blob splits, where the straight-line fit of its last this-many centres takes
# it, not where its Kalman filter does (on `animal-s7` a crossing animal merged with a
# wandering one for 1.4 s: its filter, its scale shrunk and its velocity off, lay
# between the two parts, the split gave each the other's track, and the crossing was
# timed at the split, 5 frames late). And while it is inside, its host's box is not the
# host's own: neither edge is known to be the host's (on `animal-s4` the host's box
# bottom followed the other animal's feet across the line). See BlobTracker.hosting.
MERGED_TREND_VIEWS = 8
# ...counting only tracks at least this share of the host box's size (see _hosting).
HOSTED_MIN_FRAC = 0.4


class GatedIoU(BaseIoU):
    """IoU, or a centre-distance similarity when boxes do not overlap; 0 beyond the gate."""

    def __init__(self, size_factor: float = 1.0, speed_px_s: float = 1000.0) -> None:
        self.size_factor = size_factor
        self.speed_px_s = speed_px_s
        self.dt = 0.04  # seconds since the previous update; set before each update
        # Returns the tracker's live tracklets, in the order of the prediction rows.
        self.tracks: Callable[[], list[Any]] | None = None
        self.motion: dict[int, _Motion] = {}  # track id -> its motion (see BlobTracker)
        self.sparse = False  # frames far apart (trail cameras); see _track_rules
        self.now = 0.0  # source time of the update being associated
        # A track unmatched for longer than this is lost, however few updates that was
        # (frames are analysed sparsely while nothing moves).
        self.lost_after_s = 0.1
        self._iou = IoU()

    def _compute(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
        # boxes_1 are the tracks' predicted boxes, boxes_2 this frame's detections.
        iou = self._iou.compute(boxes_1, boxes_2)
        c1 = (boxes_1[:, :2] + boxes_1[:, 2:]) / 2
        c2 = (boxes_2[:, :2] + boxes_2[:, 2:]) / 2
        d = np.sqrt(((c1[:, None, :] - c2[None, :, :]) ** 2).sum(-1))
        # The gate is sized by the detection, not the prediction: a lost track's
        # predicted box can swell, and must not swallow an object across the frame.
        size = (boxes_2[:, 2:] - boxes_2[:, :2]).max(axis=1)[None, :]
        sim = _near(iou, d, self.size_factor * size + self.speed_px_s * self.dt)
        self._track_rules(sim, iou, c2)
        return sim

    def _track_rules(self, sim: np.ndarray, iou: np.ndarray, c2: np.ndarray) -> None:
        """What each track's own motion says, on the first-stage matrix (a row per
        tracklet; other stages are left alone), in this order:

        * On sparse frames, a track with two views is matched by where its own last
          step takes it, within its size plus one such step. There the gate (a second
          or more of the fastest speed) spans the picture, so every pair looks alike,
          and the Kalman filter's velocity after two or three views far apart is wild:
          on ``trailcam-s5`` a walker's track jumped to a patch 200 px off, and his
          pieces counted two crossings that never happened.
        * A track lost inside another's box (merged) is looked for where the trend of
          its last centres takes it (MERGED_TREND_VIEWS).
        * A lost track that was going somewhere is not re-found behind where it was
          going (_not_behind).
        * A lost track is re-found only within the distance from where it was last seen
          that its own speed could have taken it (REACH_K). The gate grows with the time
          between analysed frames, up to a second or more while the scene is quiet, and
          let a walker lost behind a bush take a flickering patch 300 px away
          (``occlusion-s4``: the walker's crossing was then missed).
        * Only overlap re-finds: a lost track that never really moved (a flickering
          patch, a parked car: its velocity is jitter, and extrapolated for a second it
          drifts onto objects arriving nearby); a lost track that left the picture
          (whatever enters near where it left is another object); on sparse frames a
          settled one, lost or not (a flickering patch took over a walker entering far
          off); and a tracklet seen once and then missed (on ``fast-s5`` one that a
          vehicle spawned as it left at the top took a patch below the line 17 frames
          later, and its spawning box made that a crossing).
        """
        tracks = self.tracks() if self.tracks is not None else None
        if tracks is None or len(tracks) != len(sim):
            return
        for i, t in enumerate(tracks):
            m = self.motion.get(int(t.tracker_id))
            if m is None:
                if t.tracker_id < 0 and t.time_since_update > 1:
                    sim[i] = iou[i]
                continue
            away = self.now - m.seen_at
            if self.sparse and m.velocity is not None:
                ahead = max(0.0, away)
                d = np.hypot(*(c2 - (m.centre + m.velocity * ahead)).T)
                sim[i] = _near(iou[i], d, m.size + float(np.hypot(*m.velocity)) * ahead)
            lost = away > self.lost_after_s
            p = m.expected(self.now) if lost and m.host is not None and not self.sparse else None
            if p is not None:
                sim[i] = _near(iou[i], np.hypot(*(c2 - p).T), m.size + self.speed_px_s * self.dt)
            if lost and m.speed is not None:
                sim[i, np.hypot(*(c2 - m.centre).T) > REACH_K * m.speed * away + m.size] = 0.0
            if lost and m.moved and not self.sparse:
                self._not_behind(sim[i], m, c2)
            if m.settled or ((not m.moved or m.exited) and (lost or t.time_since_update > 1)):
                sim[i] = iou[i]

    @staticmethod
    def _not_behind(row: np.ndarray, m: _Motion, c2: np.ndarray) -> None:
        """A lost track that was going somewhere is not re-found behind where it was
        going: more than its size back from where it was last seen, against its heading
        (from where it began to where it was lost; its last steps are no guide, since a
        box going behind a bush stalls). On ``occlusion-s10`` a walker lost going down
        behind a bush took a patch flickering 110 px up and to the right of him, and
        his crossing behind the bush was missed."""
        heading = m.centre - m.origin
        if float(np.hypot(*heading)) < HEADING_MIN_SIZES * m.size:
            return  # no clear direction yet
        d = c2 - m.centre
        row[(d @ heading < 0) & (np.hypot(*d.T) > m.size)] = 0.0


# A track has a heading (see GatedIoU._not_behind) once it is this many of its own
# sizes away from where it began.
HEADING_MIN_SIZES = 2.0

# A lost track may be re-found at most this many times the distance its own speed (the
# highest seen) would have taken it since it was last seen, plus its size: a walker
# may come out from behind a bush faster than he went in.
REACH_K = 2.0

# On sparse frames (trail cameras), a track whose box centre has stayed within
# SETTLED_FRAC of its box size of one place for SETTLED_S seconds of source time is
# matched only where it overlaps (see GatedIoU): a patch that flickers in place. Only
# there does the distance gate (grown by the time between frames) span half the
# picture; at video rates the rule cost more than it saved (a walker passing between
# two bushes shows a box pinned by both, which looks settled). Measured in time, not
# views: a slow walker seen every frame stays within that distance for several views;
# measured from where the track began (as "parked" is), a vehicle that took over a
# patch's track would count as settled (its box is larger than its step).
SETTLED_S = 2.0
SETTLED_FRAC = 0.25
# A detection that spawns a tracklet with at least this share of its area inside the box
# of a track matched on this frame or the previous one is a fragment. On low-bitrate real
# footage, a person leaving the picture broke into pieces; one piece, inside his box of
# the frame before, spawned a tracklet that the next frame matched to another piece
# across the line: its spawning box made an extra crossing. On trail cameras, frames are
# a second or more apart and people walk in single file, one where the other stood: there
# only a spawn inside the last box of a parked track (a flickering patch, never moved by
# its own size) is a fragment. On `trailcam-s5` one piece of a flickering patch below the
# line spawned a tracklet, and a walker entering at the top, 200 px off, was matched to
# it: an extra crossing.
FRAGMENT_IOA = 0.8


@dataclass(frozen=True)
class Birth:
    """The detection that spawned a track, reported when the track gets its id."""

    xyxy: np.ndarray
    time_s: float
    tag: int  # caller's tag of that frame (the frame index)
    # Spawned inside the box of a track matched then or just before: most likely a piece
    # of that track's object broken off its blob, not an object of its own (see
    # FRAGMENT_IOA).
    fragment: bool = False


@dataclass(frozen=True)
class TrackedBoxes:
    """The tracker's answer for one analysed frame."""

    xyxy: np.ndarray  # (n, 4) full-resolution pixels
    track_id: np.ndarray  # (n,) int
    births: dict[int, Birth] = field(default_factory=dict)  # track id -> first observation
    unassigned: int = 0  # detections not (yet) part of a track
    # Tracks whose box holds another, lost object as well (see MERGED_TREND_VIEWS): their
    # box edges may be the other object's.
    hosting: frozenset[int] = frozenset()


_EMPTY = TrackedBoxes(xyxy=np.zeros((0, 4), np.float32), track_id=np.zeros((0,), np.int64))


def _inside_any(box: np.ndarray, others: np.ndarray, share: float) -> bool:
    """Whether at least ``share`` of ``box``'s area lies inside one of ``others``."""
    if not len(others):
        return False
    iw = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    ih = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area = max(1e-6, float((box[2] - box[0]) * (box[3] - box[1])))
    return bool((inter / area).max() >= share)


class BlobTracker:
    """ByteTrack over motion blobs, driven by exact source timestamps."""

    def __init__(
        self,
        cfg: TrackConfig,
        frame_width: int,
        frame_interval_s: float = 0.04,
        frame_height: int | None = None,
        edge_px: float = 0.0,
        sparse: bool = False,
    ) -> None:
        """``sparse``: frames far apart (trail cameras): the "settled" rule (see
        SETTLED_S) applies, and tracks are matched by their own last step."""
        self.similarity = GatedIoU(speed_px_s=cfg.max_speed_frac * frame_width)
        self.similarity.sparse = sparse
        # trackers expresses the lost buffer in 30 fps frames and converts it to
        # seconds when timestamps are given.
        self._tracker = ByteTrackTracker(
            lost_track_buffer=max(1, int(round(cfg.lost_seconds * 30))),
            frame_rate=30.0,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=0.05,
            track_activation_threshold=0.5,
            high_conf_det_threshold=0.5,
            iou=self.similarity,
            # Centre/scale/ratio state: a lost track's predicted box keeps its shape,
            # where independent corner velocities (XYXY) can make it swell across the
            # frame and capture an unrelated object.
            state_estimator_class=XCYCSRStateEstimator,
        )
        self.similarity.tracks = lambda: self._tracker.tracks
        self.similarity.lost_after_s = 2.5 * frame_interval_s
        self._last_t: float | None = None
        self.lost_seconds = cfg.lost_seconds
        # Tracklets spawned but not yet given an id, keyed by object identity.
        self._unborn: dict[int, Birth] = {}
        # Frame edges, for tracks leaving the picture (none known without a height).
        self._size = (float(frame_width), float(frame_height)) if frame_height else None
        self._edge = float(edge_px)
        self._matched_before = np.zeros((0, 4), np.float32)  # boxes of tracks on the last frame
        self._last_update_t: float | None = None

    def update(self, xyxy: np.ndarray, time_s: float, tag: int = -1) -> TrackedBoxes:
        """Associate this frame's blobs (full-resolution xyxy) with tracks."""
        if len(xyxy) == 0 and not self._tracker.tracks:
            # Nothing to associate or age: skip the tracker (and its Detections
            # validation), which otherwise dominates the cost of an empty frame.
            self._matched_before = _EMPTY.xyxy
            return _EMPTY
        if self._last_t is not None:
            self.similarity.dt = max(1e-3, time_s - self._last_t)
        self._last_t = time_s
        self.similarity.now = time_s
        det = sv.Detections(xyxy=np.asarray(xyxy, dtype=np.float32).reshape(-1, 4))
        res = self._tracker.update(det, timestamp=time_s)
        ids = np.asarray(res.tracker_id, dtype=np.int64)
        keep = ids >= 0
        births: dict[int, Birth] = {}
        unborn: dict[int, Birth] = {}
        matched = np.asarray(res.xyxy[keep], np.float32).reshape(-1, 4)
        parents: np.ndarray | None = None  # made when a tracklet spawns
        for t in self._tracker.tracks:
            key = id(t)
            if t.tracker_id < 0:
                # Just spawned (its box is the detection) or still waiting for an id.
                if key not in self._unborn:
                    if parents is None:
                        parents = self._fragment_parents(matched, ids[keep])
                    box = t.get_state_bbox().copy()
                    frag = _inside_any(box, parents, FRAGMENT_IOA)
                    self._unborn[key] = Birth(box, time_s, tag, fragment=frag)
                unborn[key] = self._unborn[key]
            elif key in self._unborn:
                births[int(t.tracker_id)] = self._unborn[key]
        self._unborn = unborn
        self._matched_before = matched
        self._note_motion(res.xyxy[keep], ids[keep])
        self._last_update_t = time_s
        hosting = self._hosting(matched, ids[keep])
        return TrackedBoxes(res.xyxy[keep], ids[keep], births, int((~keep).sum()), hosting)

    def _hosting(self, matched: np.ndarray, ids: np.ndarray) -> frozenset[int]:
        """Tracks matched now whose box holds where a track lost inside it should be."""
        if self.similarity.sparse:
            return frozenset()
        boxes = {int(i): b for b, i in zip(matched, ids)}
        now = self.similarity.now
        out = set()
        for m in self.similarity.motion.values():
            if m.host is None or m.seen_at >= now:
                continue
            b = boxes.get(m.host)
            # Only an object of its own: one that has moved, and not a small piece of the
            # host (on the person clip, bits of a walker's feet were tracked apart and got
            # lost inside his box as he crossed: his crossing must still count).
            if b is None or not m.moved or m.size < HOSTED_MIN_FRAC * _size(b):
                continue
            p = m.expected(now)
            x, y = m.centre if p is None else p
            if b[0] <= x <= b[2] and b[1] <= y <= b[3]:
                out.add(m.host)
        return frozenset(out)

    def _fragment_parents(self, matched: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Boxes a spawning detection is a fragment of (see FRAGMENT_IOA); ``matched``
        are this frame's boxes of tracks ``ids``, whose motion still holds the last ones."""
        motion = self.similarity.motion
        parked = [m.box for m in motion.values() if not m.moved]
        parked += [b for b, i in zip(matched, ids) if int(i) in motion and not motion[int(i)].moved]
        boxes = [np.asarray(parked, np.float32).reshape(-1, 4)]
        if not self.similarity.sparse:
            boxes += [matched, self._matched_before]
        return np.concatenate(boxes)

    def _note_motion(self, xyxy: np.ndarray, ids: np.ndarray) -> None:
        """Update the motion of each track matched now (see _Motion); forget dead ones."""
        live = {int(t.tracker_id) for t in self._tracker.tracks}
        motion = self.similarity.motion
        for k in [k for k in motion if k not in live]:
            del motion[k]
        now = self.similarity.now
        seen = {int(t) for t in ids}
        for k, lost in motion.items():
            # Just lost (seen on the previous update, not on this one) inside the box of
            # another track: merged with it.
            if k not in seen and lost.seen_at == self._last_update_t:
                hosts = (int(j) for b, j in zip(xyxy, ids) if int(j) != k and _inside_any(lost.box, b[None, :], 0.5))
                lost.host = next(hosts, None)
        for box, tid in zip(xyxy, ids):
            c, size = _centre(box), _size(box)
            m = motion.get(int(tid))
            if m is None:
                m = motion[int(tid)] = _Motion(origin=c, box=box.copy(), seen_at=now, still_since=now, still_at=c)
                m.recent.append((now, float(c[0]), float(c[1])))
                continue
            m.host = None
            m.recent.append((now, float(c[0]), float(c[1])))
            step = c - m.centre
            if now > m.seen_at:
                m.velocity = step / (now - m.seen_at)
                v = float(np.hypot(*m.velocity))
                m.smooth = v if m.smooth is None else 0.5 * (m.smooth + v)
                m.speed = max(m.speed or 0.0, m.smooth)
            m.exited = self._leaving(box, step)
            m.moved = m.moved or float(np.hypot(*(c - m.origin))) > size
            if float(np.hypot(*(c - m.still_at))) > SETTLED_FRAC * size:
                m.still_since, m.still_at = now, c
            m.settled = self.similarity.sparse and now - m.still_since >= SETTLED_S
            m.box, m.seen_at = box.copy(), now

    def _leaving(self, box: np.ndarray, step: np.ndarray) -> bool:
        """Whether a box touches a frame edge and its centre moved out through it."""
        if self._size is None:
            return False
        left, top, right, bottom = borders_touched(box, *self._size, self._edge)
        return bool(
            (left and step[0] < 0) or (right and step[0] > 0) or (top and step[1] < 0) or (bottom and step[1] > 0)
        )

    def set_lost_seconds(self, seconds: float) -> None:
        """Stretch the lost buffer (e.g. for sparse trail-camera frames)."""
        self._tracker.maximum_time_without_update = seconds
        self._tracker.maximum_frames_without_update = max(1, int(round(seconds * 30)))
