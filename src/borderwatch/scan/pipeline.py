"""The scan: source -> motion -> track -> cross -> records, in one streaming pass.

Memory stays flat in the source length: frames are dropped as soon as they are
analysed, crossings go straight to disk, and the state of tracks that have been gone
longer than the lost buffer is evicted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..config import ScanConfig
from ..cross import CrossEvent, LineCounter
from ..detect.motion import MotionDetector
from ..geometry import Polyline, borders_touched
from ..errors import SourceUnreadable
from ..health import HealthMonitor
from ..io import open_source
from ..io.prefetch import Prefetch
from ..io.video import scan_threads
from ..records import Crossing, Frame
from ..track import BlobTracker
from ..track.tracker import Birth
from .annotate import draw_snapshot
from .evidence import GopLogger
from .labels import TrackLabeller
from .output import ScanOutput
from .summary import build_summary

# Frames this far apart (or sparser) are "trail camera" frames: every one is analysed and
# tracks are confirmed with fewer observations.
SPARSE_INTERVAL_S = 0.5
# A track's observations are written to tracks.jsonl in pieces of at most this many.
TRACK_CHUNK = 500
# A box stays "partly hidden" (not used for crossings) while its visible height keeps
# changing (an object passing an occluder), and for at most this long once that height is
# steady; after that the new height is taken as the object's own (two merged blobs split,
# the object turned).
HIDDEN_MAX_S = 3.0
# ... or this long when the usual height rests on fewer than HEIGHT_VIEWS views.
WEAK_MAX_S = 1.0
# Shorter than this share of its usual height, a box is partly hidden: even a box only a
# little short has a wrong ground point when its bottom is an occluder's edge.
HIDDEN_FRAC = 0.9
# Taller than this share of its usual height, a box holds more than the object.
MERGED_FRAC = 1.25
# The usual height is the median of this many recent whole views (one odd first box,
# such as a motion-smeared entry, does not set it).
HEIGHT_VIEWS = 5
# Where a partial box's object stands is predicted by a straight-line fit over this many
# recent ground points (a fit, not the last step: box edges move in whole analysis
# samples, so one step's speed is coarse).
GROUND_FIT_POINTS = 8
# A partial view's ground point is used for crossings only when one of its two readings
# (box bottom, or box top plus the usual height) is within this share of the usual height
# of the prediction, and the other reading is at least twice as far off.
PLACE_TOL_FRAC = 0.15


@dataclass
class _Memo:
    """What the pipeline remembers of a live track."""

    first_seq: int
    last_seq: int
    last_time: float
    last_point: np.ndarray
    gaps_seen: int
    last_index: int = 0  # frame index of the last observation
    observed: int = 1
    # (height, height / width) of the last whole (uncut, unhidden) views; see _usual
    views: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HEIGHT_VIEWS))
    unfed: bool = False  # an observation since the last one shown to the counters was unreliable
    odd_since: float | None = None  # since when the box has been short or tall, and steady
    odd_h: float = 0.0  # its height then
    # (time, ground y) of recent whole views, short views used and clearly placed merged
    # boxes: what _place fits its prediction on
    ground: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=GROUND_FIT_POINTS))
    velocity: float = 0.0  # px/s of the ground point
    # (ground y, height) of recent whole views: how the height changes with distance
    sizes: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=GROUND_FIT_POINTS))
    # Observations not yet written to tracks.jsonl: [time_s, x0, y0, x1, y1].
    path: list[list[float]] = field(default_factory=list)


def _usual(views: deque[tuple[float, float]]) -> tuple[float, float]:
    """A track's usual box height and height/width ratio (0, 0 before any whole view):
    the lower middle of its recent whole views, so that a wrong call errs towards "whole"."""
    if not views:
        return 0.0, 0.0
    k = (len(views) - 1) // 2
    return sorted(v[0] for v in views)[k], sorted(v[1] for v in views)[k]


def _height_at(sizes: deque[tuple[float, float]], y: float, usual: float) -> float:
    """The object's height with its feet at image row ``y``: a straight-line fit of
    height on ground row over its recent whole views (in perspective, an object's
    height in the picture is linear in the row of its feet), when they span enough
    rows to tell; else its usual height. A walker coming towards the camera grows, and
    the usual height (a median of past views) lags behind: placed from a box top, his
    ground point came out too high, and a crossing behind a bush 4 frames late."""
    if len(sizes) < 4:
        return usual
    ys = np.fromiter((s[0] for s in sizes), np.float64, len(sizes))
    if float(ys.max() - ys.min()) < 0.25 * usual:
        return usual
    hs = np.fromiter((s[1] for s in sizes), np.float64, len(sizes))
    slope, icept = np.polyfit(ys, hs, 1)
    if slope <= 0:
        # Nearer is lower in the picture and larger; anything else is box noise.
        return usual
    return float(np.clip(icept + slope * y, 0.75 * usual, 1.33 * usual))


@dataclass
class ScanResult:
    out_dir: Path
    summary: dict[str, Any]
    crossings: list[Crossing] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.summary.get("partial"))


class Scanner:
    """One scan of one source. Use :func:`run_scan` unless you need the pieces."""

    def __init__(self, cfg: ScanConfig, width: int, height: int, sparse: bool, frame_interval: float) -> None:
        self.cfg = cfg
        self.width, self.height = width, height
        self.sparse = sparse
        self.lines: list[Polyline] = [ln.to_polyline(width, height) for ln in cfg.lines]
        strip = cfg.cross.strip_frac * math.hypot(width, height)
        self.strip = strip
        self._frame_dt = frame_interval  # running estimate of the source's frame spacing
        min_hits = cfg.track.min_hits_sparse if sparse else cfg.track.min_hits
        self.counters = [LineCounter(p, strip, min_hits) for p in self.lines]
        self.motion = MotionDetector(cfg.motion, width, height)
        self.tracker = BlobTracker(cfg.track, width, frame_interval, height, self.motion.edge_px, sparse=sparse)
        self.lost_seconds = cfg.track.lost_seconds
        if sparse:
            self.lost_seconds = max(self.lost_seconds, 3.5 * frame_interval)
            self.tracker.set_lost_seconds(self.lost_seconds)
        self.labeller = TrackLabeller(cfg.detector, cfg.detector_classes) if cfg.detector else None
        self.memo: dict[int, _Memo] = {}
        self.seq = 0  # analysed-frame counter
        self.busy = True  # analyse every frame while something moves near a line
        self.frames_analysed = 0
        self.track_log: list[dict[str, Any]] = []  # finished pieces of tracks, drained by run_scan

    def wants(self, frame: Frame, last_analysed: int) -> bool:
        """Whether to analyse this frame.

        Every frame while something moves near a line (or is new). Otherwise one frame
        in ``idle_stride`` gets a cheap half-resolution look for change, which calls
        for a full analysis if anything moved, and the model is updated at least once
        every ``idle_refresh`` frames to follow the light.
        """
        if self.sparse or self.busy:
            return True
        since = frame.index - last_analysed
        if since >= self.cfg.idle_refresh:
            return True
        if since % self.cfg.idle_stride:
            return False
        return self.motion.changed(frame.luma)

    def analyse(
        self, frame: Frame, gaps_so_far: int, small: np.ndarray | None = None
    ) -> tuple[list[tuple[CrossEvent, np.ndarray]], bool]:
        """Run motion, tracking and crossing on one frame.

        ``small`` is the frame's analysis image when already made. Returns the decided
        crossings (each with its track box) and whether this frame is part of a
        whole-image light change.
        """
        self.frames_analysed += 1
        self.seq += 1
        if small is None:
            small = self.motion.subsample(frame.luma)
        mres = self.motion.apply(small, frame.time_s)
        if mres.light_change or mres.learning:
            # No detections; keep the tracker's clock running so lost tracks age.
            self.tracker.update(np.zeros((0, 4), np.float32), frame.time_s)
            self._evict(frame.time_s)
            self.busy = True
            return [], mres.light_change
        tracked = self.tracker.update(mres.xyxy, frame.time_s, frame.index)
        if self.labeller is not None and len(tracked.track_id):
            self.labeller.observe(frame, tracked.xyxy, tracked.track_id)
        events: list[tuple[CrossEvent, np.ndarray]] = []
        # Something new appeared: look at every frame until it is tracked.
        busy = tracked.unassigned > 0
        step_dt = self._idle_dt()
        for box, tid in zip(tracked.xyxy, tracked.track_id):
            tid = int(tid)
            pt = self._ground_point(box)
            m, gap = self._remember(tid, pt, frame, gaps_so_far, tracked.births.get(tid))
            m.path.append([round(frame.time_s, 6), *(round(float(v), 1) for v in box)])
            if len(m.path) >= TRACK_CHUNK:
                self._log_track(tid, m, final=False)
            # A box cut by the left, right or bottom border, or partly hidden, has no
            # reliable ground point: it moves the track but is not shown to the counters.
            left, top, right, bottom = self._borders(box)
            cut = left or right or bottom
            hosting = tid in tracked.hosting
            view = "hosting" if hosting else self._view(m, box, pt, cut, top, frame.time_s)
            # A box that also holds another, lost object (a merge): either edge may be the
            # other's, so it moves the track but is not shown to the counters.
            reliable = not (cut or hosting)
            if view != "whole" and reliable:
                placed_pt, clear = self._place(m, box, pt, frame.time_s)
                if clear or view == "merged":
                    pt = placed_pt
                # A merged box always shows the object's own top or bottom. A short one
                # of the usual shape shows its bottom unless clearly placed otherwise,
                # but only while the track's motion is known: one coming out from behind
                # a bush may still have its feet hidden. A hidden one may show neither
                # end (only its middle), so it counts only when clearly placed.
                if view == "short":
                    reliable = clear is not None
                elif view == "hidden":
                    reliable = bool(clear)
                # Placed hidden boxes do not join the recent ground points: a walker
                # seen only between two bushes has both edges pinned, and the fit would
                # follow the pinned edge and hold him still.
                if reliable and (view == "short" or (clear and view == "merged")):
                    m.ground.append((frame.time_s, float(pt[1])))
            if reliable:
                gap, m.unfed = gap or m.unfed, False
            else:
                m.unfed = True
            # Analyse every frame while the track could reach a line within an idle
            # stride (with a 2x margin), or while its speed is not yet known.
            reach = 2.0 * m.velocity * step_dt + 0.25 * float(box[3] - box[1]) + self.strip
            for counter in self.counters:
                if reliable:
                    for ev in counter.update(tid, frame.index, frame.time_s, pt, gap):
                        events.append((ev, box))
                if not busy and (m.observed < 3 or counter.distance(pt) <= reach):
                    busy = True
        self.busy = busy
        self._evict(frame.time_s)
        return events, False

    def _remember(self, tid: int, pt: np.ndarray, frame: Frame, gaps_so_far: int, birth: Birth | None) -> tuple[_Memo, bool]:
        """Update what is known of track ``tid``; return it and whether it went unseen.

        A new track's spawning detection (``birth``) is shown to the counters first, as
        its first observation, unless it is cut by a border or a fragment of another
        track's blob (its ground point is not the object's).
        """
        m = self.memo.get(tid)
        if m is None and birth is not None:
            bpt = self._ground_point(birth.xyxy)
            if not (self._is_cut(birth.xyxy) or birth.fragment):
                for counter in self.counters:
                    counter.update(tid, birth.tag, birth.time_s, bpt, False)
            m = self.memo[tid] = _Memo(self.seq - 1, self.seq - 1, birth.time_s, bpt, gaps_so_far, birth.tag)
        if m is None:
            m = self.memo[tid] = _Memo(self.seq, self.seq, frame.time_s, pt, gaps_so_far, frame.index)
            return m, False
        dt = frame.time_s - m.last_time
        # Unseen since the last observation: missed on analysed frames, or more source
        # time passed than the decoded frames account for (a span that could not be
        # decoded; it is recorded as a gap only once it ends).
        decoded_dt = (frame.index - m.last_index) * self._frame_dt
        gap = self.seq - m.last_seq > 1 or gaps_so_far > m.gaps_seen or dt > 1.5 * decoded_dt + 1e-6
        if dt > 0:
            m.velocity = float(np.hypot(*(pt - m.last_point))) / dt
        m.last_seq, m.last_time, m.last_point, m.gaps_seen = self.seq, frame.time_s, pt, gaps_so_far
        m.last_index = frame.index
        m.observed += 1
        return m, gap

    def _view(self, m: _Memo, box: np.ndarray, pt: np.ndarray, cut: bool, top_cut: bool, now: float) -> str:
        """How much of the object the box shows, against the track's usual height and shape.

        ``"hidden"``: shorter and of another shape (a bush in front of the legs; the
        bottom may be the bush's edge). ``"short"``: shorter but of the usual shape: the
        object moving away (perspective), or a walker's torso whose legs are hidden (the
        legs' stride makes a walker's width vary as much as that). ``"merged"``: much
        taller (the object and a neighbour in one blob). ``"whole"``: none of these; only
        whole views teach the usual height and shape, and add their ground point to the
        track's recent ones (the caller adds those of other views it uses). A box cut
        by the top border (``top_cut``) has its true bottom, but not its height or shape:
        it is whole, and teaches neither.
        """
        h, w = float(box[3] - box[1]), max(1.0, float(box[2] - box[0]))
        height, aspect = _usual(m.views)
        known = m.observed > 3 and height > 0 and not top_cut
        short = known and h < HIDDEN_FRAC * height
        tall = known and h > MERGED_FRAC * height
        if not (short or tall):
            m.odd_since = None
        elif m.odd_since is None or abs(h - m.odd_h) > 0.1 * max(h, height):
            # The visible part still grows or shrinks: passing an occluder or a neighbour.
            m.odd_since, m.odd_h = now, h
        elif now - m.odd_since > (HIDDEN_MAX_S if len(m.views) >= HEIGHT_VIEWS else WEAK_MAX_S):
            # A new steady height (two merged blobs split, the object turned): re-learn.
            short = tall = False
            m.odd_since = None
            m.views.clear()
            m.sizes.clear()
        if short:
            return "hidden" if h / w < HIDDEN_FRAC * aspect else "short"
        if tall:
            return "merged"
        if not (cut or top_cut):
            m.views.append((h, h / w))
            m.sizes.append((float(pt[1]), h))
        if not cut:
            m.ground.append((now, float(pt[1])))
        return "whole"

    def _place(self, m: _Memo, box: np.ndarray, pt: np.ndarray, now: float) -> tuple[np.ndarray, bool | None]:
        """The ground point of an object its box shows only part of, or more than.

        One of the box's top and bottom edges is usually the object's own: the bottom
        when a bush hides its head or a neighbour joins it from above, the top when its
        legs are hidden or a neighbour joins it from below. Its ground point is then the
        box bottom or the box top plus its usual height: the one nearer to where the
        track's recent ground points say it is now.

        Returns that point and whether the choice is clear (the nearer reading close to
        the prediction, the other far off), or None when there is no prediction to go
        by (too few recent points, or the object unseen for longer than they span, as
        when it comes out from behind a bush).
        """
        if len(m.ground) < 3:
            return pt, None
        ts = np.fromiter((g[0] for g in m.ground), np.float64, len(m.ground))
        ys = np.fromiter((g[1] for g in m.ground), np.float64, len(m.ground))
        # A prediction reaching further ahead than the points it is fitted on is a guess.
        if not 0 < now - ts[-1] <= ts[-1] - ts[0]:
            return pt, None
        slope, icept = np.polyfit(ts - ts[-1], ys, 1)
        expected = icept + slope * (now - ts[-1])
        height = _usual(m.views)[0]
        from_top = float(box[1]) + _height_at(m.sizes, expected, height) - self.motion.ground_bias
        err_top, err_bottom = abs(from_top - expected), abs(float(pt[1]) - expected)
        near, far = min(err_top, err_bottom), max(err_top, err_bottom)
        if err_top < err_bottom:
            pt = np.array([pt[0], from_top], dtype=np.float64)
        return pt, bool(near <= PLACE_TOL_FRAC * height and far >= 2.0 * near)

    def _ground_point(self, box: np.ndarray) -> np.ndarray:
        """Ground-contact point of a motion box: its bottom centre, unbiased."""
        return np.array([(box[0] + box[2]) / 2.0, box[3] - self.motion.ground_bias], dtype=np.float64)

    def _borders(self, box: np.ndarray) -> tuple[bool, bool, bool, bool]:
        """Which frame borders the box reaches: (left, top, right, bottom)."""
        return borders_touched(box, self.width, self.height, self.motion.edge_px)

    def _is_cut(self, box: np.ndarray) -> bool:
        """Cut by the left, right or bottom border: its ground point is not its own."""
        left, _, right, bottom = self._borders(box)
        return left or right or bottom

    def _idle_dt(self) -> float:
        """Source time covered by one idle stride (plus one frame)."""
        return (self.cfg.idle_stride + 1) * max(1e-3, self._frame_dt)

    @property
    def frame_dt(self) -> float:
        """The source's frame spacing as measured so far."""
        return self._frame_dt

    def note_frame_dt(self, dt: float) -> None:
        """Follow the source's frame spacing, ignoring jumps (gaps are not spacing)."""
        if 0 < dt <= 1.5 * self._frame_dt:
            self._frame_dt = 0.95 * self._frame_dt + 0.05 * dt

    def _evict(self, now: float) -> None:
        horizon = self.lost_seconds + 0.5
        dead = [tid for tid, m in self.memo.items() if now - m.last_time > horizon]
        for tid in dead:
            self._log_track(tid, self.memo[tid], final=True)
            del self.memo[tid]
            for c in self.counters:
                c.drop(tid)
            if self.labeller is not None:
                self.labeller.drop(tid)

    def _log_track(self, tid: int, m: _Memo, final: bool) -> None:
        """Hand the track's unwritten observations to tracks.jsonl (boxes in px)."""
        if not m.path:
            return
        label = self.labeller.label(tid)[0] if self.labeller is not None else "unknown"
        self.track_log.append({"track_id": tid, "label": label, "final": final, "boxes": m.path})
        m.path = []

    def flush_tracks(self) -> None:
        """At the end of the source: every live track's remaining observations."""
        for tid, m in self.memo.items():
            self._log_track(tid, m, final=True)

    def describe(self, ev: CrossEvent) -> tuple[str, float]:
        """Label and score of a crossing's track."""
        m = self.memo.get(ev.track_id)
        continuity = 1.0
        if m is not None:
            continuity = m.observed / max(1, m.last_seq - m.first_seq + 1)
        if self.labeller is None:
            return "unknown", round(continuity, 3)
        label, conf = self.labeller.label(ev.track_id)
        return label, round(continuity * (conf if label != "unknown" else 1.0), 3)


def run_scan(
    source: str | Path,
    cfg: ScanConfig,
    out_dir: str | Path,
    *,
    threads: int | None = None,
    progress: Callable[[int, float, float | None], None] | None = None,
    threaded: bool = True,
) -> ScanResult:
    """Scan ``source`` and write its records into ``out_dir``; return the summary.

    ``progress(frames_decoded, source_time_s, expected_duration_s)`` is called now and
    then for a progress bar. With ``threaded`` the source is decoded ahead on a second
    thread (see :mod:`borderwatch.io.prefetch`). ``threads``: FFmpeg decoder threads
    (default :func:`borderwatch.io.video.scan_threads`).
    """
    started = datetime.now().astimezone()
    t_start = time.perf_counter()
    gops = GopLogger()
    if threads is None:
        threads = scan_threads()
    with open_source(source, threads=threads, deblock=not cfg.fast_decode, observer=gops) as src:
        info = src.info
        if info.width is None or info.height is None:
            raise SourceUnreadable(f"{source}: the frame size is unknown")
        interval = 1.0 / float(info.fps) if info.fps else SPARSE_INTERVAL_S
        sparse = info.kind == "images" or interval >= SPARSE_INTERVAL_S
        scanner = Scanner(cfg, info.width, info.height, sparse, interval)
        out = ScanOutput(out_dir, snapshots=cfg.snapshots)
        out.ledger.append(
            "scan",
            {
                "software": {"name": "borderwatch", "version": __version__},
                "source": str(source),
                "started": started.isoformat(),
                "settings": cfg.model_dump(mode="json"),
            },
        )
        if info.kind == "images":
            # Each picture is a source of its own, placed on the timeline by its time.
            t0 = info.wallclock_start
            for i, fi in enumerate(info.files):
                off = (fi.wallclock_start - t0).total_seconds() if fi.wallclock_start and t0 else 0.0
                gops.source(fi.path, i, off)
        gops.attach(out.ledger)
        health = None
        if cfg.health.enabled:
            health = HealthMonitor(
                cfg.health,
                info.width,
                info.height,
                None if sparse else interval,
                sparse,
                out.bucket,
                info.wallclock_start,
                relearn_s=cfg.motion.warmup_seconds / 2,
                full_range=info.full_range,
            )
        coverage: dict[str, Any] | None = None
        crossings: list[Crossing] = []
        light: dict[str, Any] | None = None
        status = "failed"
        last_analysed = -(10**9)
        prev_t: float | None = None
        n_gaps_written = 0
        decoded = Prefetch(src) if threaded else None
        try:
            for frame, n_gaps in decoded if decoded is not None else ((f, len(src.gaps)) for f in src):
                if prev_t is not None:
                    scanner.note_frame_dt(frame.time_s - prev_t)
                prev_t = frame.time_s
                while n_gaps_written < n_gaps:
                    gap = src.gaps[n_gaps_written]
                    out.event("decode_gap", **gap.to_dict())
                    if health is not None:
                        health.lost(gap.start_s, gap.end_s)
                    n_gaps_written += 1
                if progress is not None and frame.index % 64 == 0:
                    progress(src.frames_decoded, frame.time_s, info.duration_s)
                small = None
                if health is not None:
                    health.frame(frame.time_s)
                    if health.wants_sample(frame.time_s):
                        small = scanner.motion.subsample(frame.luma)
                        health.sample(frame.time_s, small, frame.luma)
                if not scanner.wants(frame, last_analysed):
                    continue
                last_analysed = frame.index
                events, is_light = scanner.analyse(frame, n_gaps, small)
                if health is not None:
                    health.light(frame.time_s, is_light)
                if scanner.track_log:
                    for rec in scanner.track_log:
                        out.track(rec)
                    scanner.track_log = []
                light = _track_light(out, light, is_light, frame)
                for ev, box in events:
                    c = _make_crossing(len(crossings) + 1, ev, scanner, info.wallclock_start)
                    if cfg.snapshots:
                        snap = out.snapshot(c.id, draw_snapshot(frame, scanner.lines, box, c))
                        c = Crossing(**{**c.__dict__, "snapshot": snap})
                    out.crossing(c)
                    crossings.append(c)
            status = "partial" if src.partial else "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            if decoded is not None:
                decoded.close()
            gops.end_file()
            scanner.flush_tracks()
            for rec in scanner.track_log:
                out.track(rec)
            _track_light(out, light, False, None)
            late_gaps = src.gaps[n_gaps_written:]
            for g in late_gaps:
                out.event("decode_gap", **g.to_dict())
            if health is not None and status != "failed":
                coverage = health.finish(_timeline_end(src, scanner), [(g.start_s, g.end_s) for g in late_gaps])
            summary = build_summary(
                status=status,
                source=source,
                info=info,
                src=src,
                cfg=cfg,
                lines=scanner.lines,
                frames_analysed=scanner.frames_analysed,
                crossings=crossings,
                started=started,
                elapsed=time.perf_counter() - t_start,
                threads=threads,
                version=__version__,
                coverage=coverage,
            )
            out.finish(summary)
    if progress is not None:
        progress(src.frames_decoded, src.last_time_s or 0.0, info.duration_s)
    return ScanResult(Path(out_dir), summary, crossings)


def _timeline_end(src: Any, scanner: Scanner) -> float:
    """End of the source timeline: the last frame plus one frame, or a later gap's end.

    A trail camera's last picture counts for its usual spacing, at most a second: the
    timeline must contain the last frame (a time-lapse window ends before its end).
    """
    last = src.last_time_s or 0.0
    end = last + (min(scanner.frame_dt, 1.0) if scanner.sparse else scanner.frame_dt)
    for g in src.gaps:
        end = max(end, g.end_s)
    return end


def _track_light(out: ScanOutput, cur: dict[str, Any] | None, is_light: bool, frame: Frame | None) -> dict[str, Any] | None:
    """Merge consecutive light-change frames into one event record."""
    if is_light and frame is not None:
        if cur is None:
            return {"start_s": frame.time_s, "end_s": frame.time_s, "start_frame": frame.index}
        cur["end_s"] = frame.time_s
        return cur
    if cur is not None:
        out.event("light_change", **cur)
    return None


def _make_crossing(cid: int, ev: CrossEvent, scanner: Scanner, wall0: datetime | None) -> Crossing:
    label, score = scanner.describe(ev)
    wall = (wall0 + timedelta(seconds=ev.time_s)).isoformat() if wall0 is not None else None
    return Crossing(
        id=cid,
        time_s=round(ev.time_s, 6),
        frame=ev.frame,
        line=ev.line,
        from_side=ev.from_side,
        to_side=ev.to_side,
        track_id=ev.track_id,
        label=label,
        score=score,
        inferred=ev.inferred,
        wallclock=wall,
        time_estimate_s=round(ev.time_estimate_s, 6),
        point=(round(ev.point[0], 1), round(ev.point[1], 1)),
    )
