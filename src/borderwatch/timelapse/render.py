"""Render a scan's time-lapse: every source frame decoded, one output frame per window.

The plan (:mod:`.schedule`) cuts the source timeline into windows, one per output
frame: long ones over quiet time, one source frame each around crossings. The source is
decoded again, every frame, and each window is summarised by one picture:

* ``best``: the window's most active frame (most pixels away from a slow background
  model of the luma, at ~160 px), so a brief event is not skipped the way sampling one
  frame every N (or only keyframes) would skip it;
* ``blend`` (default): that frame, with the moving foreground of the window's other
  active frames pasted on, so every mover of the window is on screen at once. Measured
  over 12 busy scenes (benchmarks/timelapse.py --compare), blend shows every track
  seen in a window, best 99.9 % (it picks the frame with most of the tracked movers).

Overlays (:mod:`.overlay`) are drawn on the picture, which is then encoded (H.264,
yuv420p, faststart). Only output frames are converted to colour and encoded, so the cost
is mostly the decoding the scan did too. The time map records, per output frame, its
source window (first and last pts, the pts of the picture shown).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from ..coverage.report import read_jsonl
from ..errors import ConfigError, OutputError, SourceNotFound
from ..geometry import Polyline
from ..records import Frame
from .schedule import Window, plan

Summary = Literal["best", "blend"]
# Width of the luma image the window's activity is measured on.
ACTIVITY_WIDTH = 160
# A pixel this far from the background model is moving (grey levels).
ACTIVITY_THRESHOLD = 25
# Background model: per-frame learning rate (where nothing moves).
BG_ALPHA = 0.02
# A track's last box stays on screen this long while the track lives (it is not
# observed on every frame).
BOX_HOLD_S = 0.5
# Height of the coverage bar band added below the picture (share of the picture height).
BAR_FRAC = 0.05


@dataclass
class ScanFolder:
    """What a time-lapse needs from a scan output folder."""

    path: Path
    summary: dict[str, Any]
    crossings: list[dict[str, Any]]
    lines: list[Polyline]
    source: Path
    wallclock_start: datetime | None
    duration_s: float
    impaired: list[tuple[float, float, str]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)  # ledger "source" records


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a scan's JSONL file (none when it is missing; a torn last line dropped)."""
    if not path.exists():
        return []
    return [obj for _, obj in read_jsonl(path, tolerate_torn_tail=True)[0]]


def load_scan(scan_dir: str | Path, source: str | Path | None = None) -> ScanFolder:
    """Read a scan folder; the source is the one the scan read unless ``source`` is given."""
    d = Path(scan_dir)
    sp = d / "summary.json"
    if not sp.is_file():
        raise SourceNotFound(f"{d}: not a scan output folder (no summary.json)")
    try:
        summary = json.loads(sp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{sp}: cannot read: {exc}") from None
    if summary.get("status") in ("running", None):
        raise ConfigError(f"{d}: the scan has not finished (status {summary.get('status')!r})")
    src = Path(source) if source is not None else Path(str(summary.get("source", {}).get("path", "")))
    if not src.exists():
        hint = "" if source is not None else " (give it with --source)"
        raise SourceNotFound(f"source {src} not found{hint}")
    lines = [
        Polyline(np.array(ln["points_px"], dtype=np.float64), ln["name"], tuple(ln["sides"]))  # type: ignore[arg-type]
        for ln in summary.get("lines", [])
    ]
    wall = summary.get("source", {}).get("wallclock_start")
    cov = summary.get("coverage") or {}
    impaired = [(float(iv["start_s"]), float(iv["end_s"]), str(iv["cause"])) for iv in cov.get("impaired_intervals", [])]
    duration = float(cov.get("duration_s") or summary.get("duration_s") or 0.0)
    ledger = _read_jsonl(d / "ledger.jsonl")
    return ScanFolder(
        path=d,
        summary=summary,
        crossings=_read_jsonl(d / "crossings.jsonl"),
        lines=lines,
        source=src,
        wallclock_start=datetime.fromisoformat(wall) if wall else None,
        duration_s=duration,
        impaired=impaired,
        sources=[r["data"] for r in ledger if r.get("kind") == "source"],
    )


class _Activity:
    """How much of a frame moves, against a slow background of its small luma."""

    def __init__(self, width: int) -> None:
        self.step = max(1, width // ACTIVITY_WIDTH)
        self.bg: np.ndarray | None = None

    def small(self, luma: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(luma[:: self.step, :: self.step])

    def measure(self, luma: np.ndarray) -> tuple[int, np.ndarray]:
        """(moving pixel count, moving mask at the small size); updates the background."""
        small = self.small(luma).astype(np.float32)
        if self.bg is None or self.bg.shape != small.shape:
            self.bg = small.copy()
            return 0, np.zeros(small.shape, np.uint8)
        diff = cv2.absdiff(small, self.bg)
        mask = (diff > ACTIVITY_THRESHOLD).astype(np.uint8)
        cv2.accumulateWeighted(small, self.bg, BG_ALPHA, mask=1 - mask)
        return int(cv2.countNonZero(mask)), mask


class _Window:
    """The frames of one window, summarised as they arrive (memory does not grow with
    the window's length: at 288x a window is 288 frames, which kept whole would hold
    hundreds of MB of decoded pictures).

    ``best`` keeps the frame with the most moving pixels inside the scan's track boxes
    (then the most moving pixels at all; ties: the one nearest the window's middle);
    ``blend`` also keeps a composite of the other frames' moving pixels inside track
    boxes, in arrival order, pasted onto the best frame at the end. Only frames with a
    tracked mover are converted to colour: swaying vegetation and sensor noise move
    pixels in almost every frame, and converting all of them tripled the render time.
    """

    def __init__(self, mode: Summary, mid: float = 0.0) -> None:
        self.mode = mode
        self.mid = mid  # the window's middle (source s), for ties
        self.n = 0
        self.first: Frame | None = None
        self.last: Frame | None = None
        self.best: Frame | None = None
        self.best_key: tuple[int, int, float] = (-1, -1, 0.0)
        self.best_mask: np.ndarray | None = None
        self.best_bgr: np.ndarray | None = None  # blend: kept as converted
        self.comp: np.ndarray | None = None  # blend: moving pixels of the active frames
        self.taken: np.ndarray | None = None  # blend: which (small) pixels comp holds
        self.comp_times: list[tuple[float, np.ndarray]] = []

    def add(self, frame: Frame, activity: int, mask: np.ndarray, movers: np.ndarray | None) -> None:
        """``movers``: the frame's track boxes as a mask at the small size (None: none)."""
        self.n += 1
        self.first = self.first or frame
        self.last = frame
        moving = cv2.bitwise_and(mask, movers) if movers is not None else None
        tracked = int(cv2.countNonZero(moving)) if moving is not None else 0
        key = (tracked, activity, -abs(frame.time_s - self.mid))
        is_best = key > self.best_key
        bgr = None
        if self.mode == "blend" and moving is not None and tracked > 0:
            mask = moving
            bgr = _bgr(frame)
            if self.taken is None:
                self.taken = np.zeros_like(mask)
                self.comp = np.zeros_like(bgr)
            new = cv2.bitwise_and(mask, 1 - self.taken)
            if cv2.countNonZero(new):
                assert self.comp is not None
                _paste(self.comp, bgr, cv2.dilate(new, np.ones((3, 3), np.uint8)))
                self.taken = cv2.bitwise_or(self.taken, new)
                self.comp_times.append((frame.time_s, new))
        if is_best:
            self.best, self.best_key, self.best_mask = frame, key, mask
            self.best_bgr = bgr

    def picture(self) -> tuple[np.ndarray, Frame, list[float], np.ndarray]:
        """The BGR picture, the frame shown, the times of the frames on it, its moving pixels."""
        assert self.best is not None and self.best_mask is not None
        img = self.best_bgr if self.best_bgr is not None else _bgr(self.best)
        shown = [self.best.time_s]
        if self.mode != "blend" or self.taken is None or self.comp is None:
            return img, self.best, shown, self.best_mask
        # The others' movers, where the best frame itself has none.
        extra = cv2.bitwise_and(self.taken, 1 - self.best_mask)
        if cv2.countNonZero(extra):
            img = img.copy()
            _paste(img, self.comp, extra)
            shown += [t for t, m in self.comp_times if t != self.best.time_s and cv2.countNonZero(cv2.bitwise_and(m, extra))]
        return img, self.best, shown, cv2.bitwise_or(self.taken, self.best_mask)


@dataclass
class RenderResult:
    out: Path
    timemap: Path
    frames_out: int
    duration_out_s: float
    frames_in: int
    real_time_frames: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    tracks_visible: int = 0  # tracks present in a window and on its output picture
    tracks_present: int = 0
    # Real-time spans: (first output frame, last output frame, source start s, source end s);
    # each starts a closed GOP, so it can be cut without re-encoding (cut_span).
    runs: list[tuple[int, int, float, float]] = field(default_factory=list)


class _Encoder:
    """H.264, yuv420p, faststart MP4 with chapters, encoded on a thread of its own.

    The renderer waits on the decoder much of the time (decoding every frame is most of
    the work); encoding on a second thread fills that time: about 150 % CPU otherwise
    on two cores. Frames are handed over through a small queue, in order.
    """

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, crf: int, preset: str) -> None:
        import queue
        import threading

        import av

        self.tmp = path.with_name(path.name + ".part")
        try:
            self.container = av.open(str(self.tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        except (OSError, av.FFmpegError) as exc:
            raise OutputError(f"cannot write {path}: {exc}") from None
        self.path = path
        s = self.container.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        # forced-idr: a frame marked I starts a closed GOP, so each real-time span can be
        # cut out of the time-lapse later without re-encoding.
        s.options = {"crf": str(crf), "preset": preset, "forced-idr": "1"}
        self.stream = s
        self.tb = Fraction(1) / fps
        self.n = 0
        self._q: queue.Queue[tuple[np.ndarray, bool] | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="timelapse-encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import av

        n = 0
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain after a failure
            bgr, key = item
            try:
                # OpenCV's I420 is BT.601 limited range, what an untagged yuv420p means,
                # and several times faster than swscale's bgr24 path.
                yuv = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
                f = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                f.pts, f.time_base = n, self.tb
                if key:
                    f.pict_type = av.video.frame.PictureType.I
                self.container.mux(self.stream.encode(f))
                n += 1
            except BaseException as exc:  # handed to the renderer's thread
                self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            import av

            exc = self._error
            if isinstance(exc, (av.FFmpegError, OSError)):
                raise OutputError(f"encoding {self.path} failed: {exc}") from None
            raise exc

    def write(self, bgr: np.ndarray, key: bool = False) -> None:
        self._check()
        self._q.put((bgr, key))
        self.n += 1

    def _join(self) -> None:
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()

    def close(self, chapters: list[dict[str, Any]]) -> None:
        self._join()
        self._check()
        self.container.mux(self.stream.encode(None))
        if chapters:
            self.container.set_chapters(chapters)  # type: ignore[arg-type]
        self.container.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        try:
            self._error = self._error or RuntimeError("aborted")
            self._join()
            self.container.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def output_size(width: int, height: int, out_width: int | None) -> tuple[int, int]:
    """Even output size keeping the aspect (H.264 yuv420p needs even sides)."""
    w = out_width or width
    if w < 64:
        raise ConfigError(f"--width must be at least 64 pixels, got {w}")
    h = round(height * w / width)
    return w - w % 2, max(2, h - h % 2)


def windows_for(scan: ScanFolder, *, out_fps: float, quiet_speed: float, target_s: float | None, pre_s: float, post_s: float) -> list[Window]:
    times = [float(c["time_s"]) for c in scan.crossings]
    return plan(scan.duration_s, times, out_fps=out_fps, quiet_speed=quiet_speed, target_s=target_s, pre_s=pre_s, post_s=post_s)


def _bgr(frame: Frame) -> np.ndarray:
    if frame.to_bgr is None:
        return cv2.cvtColor(np.ascontiguousarray(frame.luma), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(frame.to_bgr())


def render(
    scan_dir: str | Path,
    out: str | Path,
    *,
    source: str | Path | None = None,
    out_fps: float = 25.0,
    quiet_speed: float = 60.0,
    target_s: float | None = None,
    pre_s: float = 3.0,
    post_s: float = 3.0,
    out_width: int | None = None,
    crf: int = 23,
    preset: str = "veryfast",
    mode: Summary = "blend",
    progress: Callable[[int, float, float | None], None] | None = None,
) -> RenderResult:
    """Render the time-lapse of a scan folder to ``out`` (MP4) and ``out``.timemap.json."""
    import time as _time

    from ..io import open_source
    from ..io.prefetch import Prefetch
    from .overlay import Overlay
    from .timemap import FrameEntry, TimeMap, chapters_for
    from .tracks import TrackIndex

    t0 = _time.perf_counter()
    if mode not in ("best", "blend"):
        raise ConfigError(f"--summary must be best or blend, got {mode!r}")
    out_path = Path(out)
    if out_path.suffix.lower() != ".mp4":
        raise ConfigError(f"the time-lapse is an MP4: name it .mp4, got {out_path.name!r}")
    if not out_path.parent.exists():
        raise OutputError(f"output folder {out_path.parent} does not exist")
    scan = load_scan(scan_dir, source)
    windows = windows_for(scan, out_fps=out_fps, quiet_speed=quiet_speed, target_s=target_s, pre_s=pre_s, post_s=post_s)
    tracks = TrackIndex.load(scan.path / "tracks.jsonl", missing_ok=True)
    track_end = {int(tid): float(tracks.times[tracks.offsets[k + 1] - 1]) for k, tid in enumerate(tracks.track_ids)}
    entries: list[FrameEntry] = []
    fps = Fraction(out_fps).limit_denominator(1001)
    with open_source(scan.source, analysis_only=True) as src:
        info = src.info
        assert info.width is not None and info.height is not None
        ow, oh = output_size(info.width, info.height, out_width)
        scale = ow / info.width
        frame_dt = 1.0 / float(info.fps) if info.fps else 1.0
        # The coverage bar gets its own band below the picture: no source pixel is hidden.
        bar = max(12, round(BAR_FRAC * oh))
        bar += bar % 2
        overlay = Overlay(
            ow, oh + bar,
            [_scaled(ln, scale) for ln in scan.lines],
            _coverage_spans(scan),
            scan.duration_s,
            [_scaled_crossing(c, scale) for c in scan.crossings],
            scan.wallclock_start,
            bar_height_frac=bar / (oh + bar),
        )  # fmt: skip
        activity = _Activity(info.width)
        enc = _Encoder(out_path, ow, oh + bar, fps, crf, preset)
        crossing_times = sorted((float(c["time_s"]), i, c) for i, c in enumerate(scan.crossings))
        runs = real_time_runs(windows)
        keys = {a for a, _ in runs} | {b + 1 for _, b in runs}
        state = _RenderState()
        acc = _Window(mode, (windows[0].start_s + windows[0].end_s) / 2 if windows else 0.0)
        crossing_at = [t for t, _, _ in crossing_times]
        wi = 0
        frames_in = 0
        decoded: Any = None
        try:

            def emit(w: Window) -> None:
                nonlocal acc
                if acc.n:
                    img, shown, shown_times, mask = acc.picture()
                    if scale != 1.0:
                        img = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_AREA)
                    state.held, state.held_frame = img.copy(), shown
                    state.visible, state.present = _visibility(tracks, w, shown_times, frame_dt / 2, state.visible, state.present)
                    pic = _canvas(img, bar)
                    shown_pts, shown_s, src_i = shown.pts, shown.time_s, shown.segment
                elif state.held is not None and state.held_frame is not None and w.start_s - state.held_frame.time_s <= 2.5 * frame_dt:
                    # Real time faster than the source's frame rate: the last picture stays up.
                    pic = _canvas(state.held, bar)
                    shown_pts, shown_s, src_i = state.held_frame.pts, state.held_frame.time_s, state.held_frame.segment
                else:
                    pic = _canvas(_no_picture(ow, oh), bar)
                    shown_pts, shown_s, src_i = None, None, state.held_frame.segment if state.held_frame else 0
                # A track is analysed on some frames only (every other frame while it is
                # far from a line): its last box is held until its next one, while the
                # track lives, so boxes do not flicker in real time.
                boxes, trails = tracks.at(w.start_s - BOX_HOLD_S, w.end_s, scale=scale)
                boxes = [bx for bx in boxes if track_end.get(bx[0], 0.0) >= w.start_s]
                trails = {k: v for k, v in trails.items() if track_end.get(k, 0.0) >= w.start_s}
                # Crossings marked on this frame: from their time to post_s after it.
                lo, hi = bisect_left(crossing_at, w.start_s - post_s), bisect_left(crossing_at, w.end_s)
                now = [_scaled_crossing(c, scale) for _, _, c in crossing_times[lo:hi]]
                overlay.draw(pic, t_s=shown_s if shown_s is not None else w.start_s, window=(w.start_s, w.end_s),
                             speed=w.speed, real_time=w.real_time, boxes=boxes, trails=trails, crossings_now=now)  # fmt: skip
                enc.write(pic, key=w.index in keys)
                state.real += int(w.real_time)
                entries.append(
                    FrameEntry.from_window(
                        w, source=src_i, first_pts=acc.first.pts if acc.first else None,
                        last_pts=acc.last.pts if acc.last else None, shown_pts=shown_pts, shown_s=shown_s,
                        frames_in=acc.n,
                    )
                )  # fmt: skip
                nxt = windows[w.index + 1] if w.index + 1 < len(windows) else w
                acc = _Window(mode, (nxt.start_s + nxt.end_s) / 2)

            decoded = Prefetch(src)  # decoding overlaps picking, drawing and encoding
            for frame, _ in decoded:
                frames_in += 1
                while wi < len(windows) and frame.time_s >= windows[wi].end_s:
                    emit(windows[wi])
                    wi += 1
                if wi >= len(windows):
                    break  # past the scanned timeline (the scan was interrupted)
                if progress is not None and frames_in % 64 == 0:
                    progress(frames_in, frame.time_s, scan.duration_s)
                a, mask = activity.measure(frame.luma)
                acc.add(frame, a, mask, _movers(tracks, frame.time_s, frame_dt / 2, mask.shape, activity.step))
            decoded.close()
            while wi < len(windows):
                emit(windows[wi])
                wi += 1
            chapters = chapters_for(scan.crossings, windows, out_fps=float(fps), pre_s=pre_s, post_s=post_s)
            enc.close(_av_chapters(chapters, len(entries) / float(fps)))
        except BaseException:
            if decoded is not None:
                decoded.close()
            enc.abort()
            raise
        if progress is not None:
            progress(frames_in, scan.duration_s, scan.duration_s)
        sources = _source_entries(scan, info)
        notes = list(getattr(windows, "notes", []))
        tm = TimeMap(out_fps=float(fps), frames=entries, chapters=chapters, sources=sources, scan_dir=str(scan.path), notes=notes)
        tm_path = timemap_path(out_path)
        tm.save(tm_path)
    return RenderResult(
        out=out_path,
        timemap=tm_path,
        frames_out=len(entries),
        duration_out_s=len(entries) / float(fps),
        frames_in=frames_in,
        real_time_frames=state.real,
        seconds=_time.perf_counter() - t0,
        warnings=notes,
        tracks_visible=state.visible,
        tracks_present=state.present,
        runs=[(a, b, windows[a].start_s, windows[b].end_s) for a, b in runs],
    )


@dataclass
class _RenderState:
    held: np.ndarray | None = None  # the last picture, without overlays
    held_frame: Frame | None = None
    real: int = 0
    visible: int = 0
    present: int = 0


def _paste(dst: np.ndarray, src: np.ndarray, small_mask: np.ndarray) -> None:
    """Copy ``src`` into ``dst`` where ``small_mask`` (the activity image's size) is set,
    working only on the mask's bounding box (movers are small; full-frame masking cost
    several ms a frame at 720p)."""
    x, y, w, h = cv2.boundingRect(small_mask)
    if w == 0 or h == 0:
        return
    H, W = dst.shape[:2]
    sy, sx = H / small_mask.shape[0], W / small_mask.shape[1]
    X0, Y0 = int(x * sx), int(y * sy)
    X1, Y1 = min(W, int(np.ceil((x + w) * sx))), min(H, int(np.ceil((y + h) * sy)))
    roi = cv2.resize(small_mask[y : y + h, x : x + w], (X1 - X0, Y1 - Y0), interpolation=cv2.INTER_NEAREST)
    cv2.copyTo(src[Y0:Y1, X0:X1], roi, dst[Y0:Y1, X0:X1])


def _movers(tracks: Any, t: float, tol: float, shape: tuple[int, ...], step: int) -> np.ndarray | None:
    """The scan's track boxes at source time ``t`` as a mask at the activity image's size
    (a little larger than the boxes), or None when no track was observed then."""
    st = tracks.sorted_times
    j0, j1 = int(np.searchsorted(st, t - tol, side="left")), int(np.searchsorted(st, t + tol, side="right"))
    if j1 <= j0:
        return None
    out = np.zeros(shape[:2], np.uint8)
    for x0, y0, x1, y1 in tracks.boxes[tracks.by_time[j0:j1]]:
        out[max(0, int(y0 / step) - 1) : int(y1 / step) + 2, max(0, int(x0 / step) - 1) : int(x1 / step) + 2] = 1
    return out


def _visibility(tracks: Any, w: Window, shown_times: list[float], tol: float, visible: int, present: int) -> tuple[int, int]:
    """Count the tracks seen in the window, and those the picture shows: tracks observed
    in one of the frames whose pixels are on it (the "does the summary show everything
    that moved" measure of best vs blend)."""
    st = tracks.sorted_times
    j0, j1 = int(np.searchsorted(st, w.start_s, side="left")), int(np.searchsorted(st, w.end_s, side="left"))
    if j1 <= j0:
        return visible, present
    idx = tracks.by_time[j0:j1]
    trk, times = tracks.track_of[idx], tracks.times[idx]
    seen = set()
    for t in shown_times:
        seen.update(trk[np.abs(times - t) <= tol].tolist())
    return visible + len(seen), present + len(set(trk.tolist()))


def _canvas(picture: np.ndarray, bar: int) -> np.ndarray:
    """The output frame: the picture, with a band below it for the coverage bar."""
    h, w = picture.shape[:2]
    out = np.empty((h + bar, w, 3), np.uint8)
    out[:h] = picture
    out[h:] = 0
    return out


def _no_picture(w: int, h: int) -> np.ndarray:
    """What a window without any decoded frame shows (lost time): dark grey."""
    img = np.full((h, w, 3), 40, np.uint8)
    size = max(0.5, h / 400)
    text = "NO FRAMES"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 2)
    cv2.putText(img, text, ((w - tw) // 2, (h + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, size, (200, 200, 200), 2, cv2.LINE_AA)
    return img


def _av_chapters(chapters: list[Any], total_s: float) -> list[dict[str, Any]]:
    """MP4 chapters have starts only: each ends where the next begins."""
    tb = Fraction(1, 1000)
    out = []
    for k, c in enumerate(chapters):
        start = int(round(c.start_out_s * 1000))
        end = int(round((chapters[k + 1].start_out_s if k + 1 < len(chapters) else total_s) * 1000))
        out.append({"id": k + 1, "start": start, "end": max(end, start + 1), "time_base": tb, "metadata": {"title": c.title}})
    return out


def _source_entries(scan: ScanFolder, info: Any) -> list[Any]:
    from .timemap import SourceEntry

    by_index = {int(s.get("index", i)): s for i, s in enumerate(scan.sources)}
    out = []
    files = [f.path for f in info.files] if getattr(info, "files", None) else [scan.source]
    for i, path in enumerate(files):
        rec = by_index.get(i, {})
        out.append(SourceEntry(index=i, path=str(path), sha256=rec.get("sha256"), time_base=_time_base(path)))
    return out


def _time_base(path: Path) -> str | None:
    try:
        import av

        with av.open(str(path)) as c:
            tb = c.streams.video[0].time_base
            return f"{tb.numerator}/{tb.denominator}" if tb else None
    except Exception:  # an image, or unreadable now: the time map says so by None
        return None


def real_time_runs(windows: list[Window]) -> list[tuple[int, int]]:
    """(first, last) output frame of each run of real-time windows."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for w in windows:
        if w.real_time and start is None:
            start = w.index
        elif not w.real_time and start is not None:
            runs.append((start, w.index - 1))
            start = None
    if start is not None:
        runs.append((start, windows[-1].index))
    return runs


def cut_span(lapse: Path, first: int, last: int, out: Path) -> dict[str, Any]:
    """Copy output frames ``first..last`` of a time-lapse (a real-time span, which starts
    a closed GOP) into ``out`` without re-encoding; timestamps start at 0."""
    import av

    tmp = out.with_name(out.name + ".part")
    n = 0
    with av.open(str(lapse)) as inp:
        s_in = inp.streams.video[0]
        tb = s_in.time_base
        rate = s_in.average_rate or s_in.guessed_rate
        assert tb is not None and rate is not None
        per_frame = 1 / (tb * rate)  # pts units per output frame
        shift: int | None = None
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            s_out = dst.add_stream_from_template(s_in)
            for pk in inp.demux(s_in):
                if pk.pts is None or not pk.size:
                    continue
                i = int(round(pk.pts / per_frame))
                if not first <= i <= last:
                    continue
                if shift is None:
                    shift = int(round(first * per_frame))
                pk.pts -= shift
                if pk.dts is not None:
                    pk.dts -= shift
                pk.stream = s_out
                dst.mux(pk)
                n += 1
    tmp.replace(out)
    return {"path": str(out), "frames": n, "from_timelapse": str(lapse), "first_frame": first, "last_frame": last, "re_encoded": False}


def timemap_path(out: Path) -> Path:
    return out.with_suffix(".timemap.json")


def _scaled(ln: Polyline, scale: float) -> Polyline:
    return Polyline(ln.points * scale, ln.name, ln.side_names) if scale != 1.0 else ln


def _scaled_crossing(c: dict[str, Any], scale: float) -> dict[str, Any]:
    if scale == 1.0 or not c.get("point"):
        return c
    return {**c, "point": [c["point"][0] * scale, c["point"][1] * scale]}


def _coverage_spans(scan: ScanFolder) -> list[tuple[float, float, str | None]]:
    spans: list[tuple[float, float, str | None]] = [(0.0, scan.duration_s, None)]
    spans.extend((s, e, c) for s, e, c in scan.impaired)
    return spans


