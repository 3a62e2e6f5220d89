"""Decode one video file into exactly-timed pictures, surviving damage.

The hot path does no colour conversion: the luma of a planar YUV frame *is* its first
plane, so :func:`luma_view` hands out a numpy view of decoder memory. Everything else
(BGR for snapshots) is deferred to ``Frame.to_bgr``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import cv2
import numpy as np

from ..errors import SourceUnreadable
from .base import GapTracker, PacketObserver, Source
from .probe import open_container, short_error, video_file_info, video_stream

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

# Pixel formats whose plane 0 is 8-bit luma at full resolution.
_Y_FIRST = frozenset(
    "yuv420p yuvj420p yuv422p yuvj422p yuv444p yuvj444p yuv440p yuvj440p yuv411p "
    "yuvj411p yuv410p yuva420p yuva422p yuva444p nv12 nv21 nv16 nv24 nv42 gray".split()
)
# A decoder with B-frames may still emit frames from before a damaged stretch after it
# has jumped past it; a step back smaller than this is such a late frame (dropped), a
# larger one is a real timestamp discontinuity (the timeline is re-based).
_LATE_FRAME_S = 5.0
# Demux errors in a row before the rest of the file is declared unreadable.
_MAX_DEMUX_ERRORS = 50
DEFAULT_MIN_JUMP_S = 0.2
_ALERT_S = 2.0

_AV_ERRORS = (av.FFmpegError, ValueError, MemoryError, OSError)


def scan_threads() -> int:
    """FFmpeg frame threads for a scan: the usable CPUs plus two, at least 4, at most 16.

    With frame threading each thread holds one picture in flight, and the caller hands
    packets in and takes pictures out between its own work. A scan's Python work on
    each frame (timestamps, the evidence hashes, and the analysis thread competing for
    the cores) delays that hand-over; pictures beyond the number of cores keep the cores
    busy meanwhile. Measured on 2 cores, 2-minute clips, in-process: 4 threads took
    4-10 % less time than 2 at 720p (0.5 and 1.3 Mbit/s) and about 3 % less at 1080p;
    6 or 8 took no less than 4. (``ffmpeg -threads 4`` is no faster than
    ``-threads 2`` on the 0.5 Mbit/s 720p clip: the gain is the hand-over's.)
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 2
    return min(16, max(4, cpus + 2))


def error_lag(cc: Any) -> int:
    """How many packets later than its own a packet's decode error is reported.

    With frame threading each thread decodes one packet, and FFmpeg returns a thread's
    error when that thread's turn comes again: ``thread_count - 1`` sends later, in
    decode order. Without frame threading errors come with their own packet.
    """
    frame = av.codec.context.ThreadType.FRAME
    capable = cc.codec.capabilities & av.codec.codec.Capabilities.frame_threads
    return max(0, cc.thread_count - 1) if capable and cc.thread_type & frame else 0


def luma_view(frame: VideoFrame, copy: bool) -> np.ndarray:
    """(H, W) uint8 luma: a read-only view of plane 0, or a converted grey image."""
    h, w = frame.height, frame.width
    if frame.format.name in _Y_FIRST:
        plane = frame.planes[0]
        stride = plane.line_size
        if stride >= w:
            buf = np.frombuffer(plane, dtype=np.uint8)  # type: ignore[call-overload]  # buffer protocol
            y: np.ndarray = buf[: stride * h].reshape(h, stride)[:, :w]
            if copy:
                return y.copy()
            # Decoder frames are reference-counted and may still be used as references
            # for later frames: writing into this view would corrupt the decode.
            y.flags.writeable = False
            return y
    grey: np.ndarray = frame.reformat(format="gray").to_ndarray()
    return np.ascontiguousarray(grey[:h, :w])


def bgr_getter(frame: VideoFrame, path: Path) -> Callable[[], np.ndarray]:
    """Lazy full-resolution BGR conversion; the closure keeps the frame alive."""

    def to_bgr() -> np.ndarray:
        try:
            if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
                # OpenCV's I420 -> BGR (BT.601, limited range, as swscale assumes for
                # untagged video) is several times faster than swscale's bgr24 path.
                return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
            out: np.ndarray = frame.to_ndarray(format="bgr24")
        except _AV_ERRORS as exc:
            raise SourceUnreadable(f"{path}: cannot convert a frame to BGR ({short_error(exc)})") from None
        return out

    return to_bgr


class VideoFile:
    """One opened video file: container, video stream and what it declares."""

    def __init__(self, path: Path, threads: int, deblock: bool = True) -> None:
        self.path = path
        self.container = open_container(path)
        try:
            self.stream = video_stream(self.container, path)
            self.info = video_file_info(self.container, self.stream, path)
            cc = self.stream.codec_context
            # Frame + slice threading, as `ffmpeg -threads N` does.
            cc.thread_type = "AUTO"
            cc.thread_count = max(0, int(threads))
            if not deblock:
                # Skip the in-loop deblocking filter (H.264, HEVC, VP8): a fifth less decode
                # time. Later pictures predict from unfiltered ones, so the difference
                # drifts until the next keyframe, but stays small (about 1 grey level on
                # average on the suite's clips): nothing that matters to motion analysis
                # on subsampled luma. Read when the decoder opens, at the first packet.
                cc.options = {**cc.options, "skip_loop_filter": "all"}
        except BaseException:
            self.container.close()
            raise
        self.time_base = Fraction(self.stream.time_base)
        # AVI has no presentation timestamps: its demuxer numbers the packets, and with
        # "packed" MPEG-4 B-frames (DivX/Xvid) the numbers reach the decoded frames out
        # of order (1, 4, 6, 5, 7, 9, 8...) although the frames themselves come out in
        # display order. The frames' dts (the packet count) is in order, one per frame.
        self.use_dts = "avi" in (self.container.format.name or "").split(",")
        fps = self.info.fps
        self.nominal_dur_s: float | None = float(1 / fps) if fps else None
        self.end_s: float | None = None  # timeline end after decoding: last frame + duration
        self.last_frame_s: float | None = None

    def close(self) -> None:
        try:
            self.container.close()
        except _AV_ERRORS:
            pass

    def _cut_mid_packet(self) -> bool:
        """An MPEG-TS file whose size is not a whole number of 188- or 192-byte packets."""
        if "mpegts" not in (self.container.format.name or ""):
            return False
        try:
            size = self.path.stat().st_size
        except OSError:
            return False
        return size % 188 != 0 and size % 192 != 0

    def _declared_end_rel(self, origin: int) -> float | None:
        """Declared end of the video stream, in seconds from ``origin`` (a pts)."""
        s, tb = self.stream, self.time_base
        if s.duration and s.duration > 0:
            start = s.start_time if s.start_time is not None else origin
            return float((start + s.duration - origin) * tb)
        dur = self.info.duration_s
        if dur is None:
            return None
        c = self.container
        start_s = (c.start_time / av.time_base) if c.start_time is not None else float(origin * tb)
        return start_s + dur - float(origin * tb)

    def frames(
        self,
        src: Source,
        tracker: GapTracker,
        offset_s: float,
        jump_s: float | None,
        observer: PacketObserver | None = None,
        file_index: int = 0,
    ) -> Iterator[tuple[VideoFrame, int, float]]:
        """Yield ``(av_frame, pts, timeline_seconds)`` for every good frame, in order.

        Damage becomes gaps in ``tracker``; counters go to ``src``. Never raises av errors.
        """
        tb_num, tb_den = self.time_base.numerator, self.time_base.denominator
        cc = self.stream.codec_context
        origin: int | None = self.stream.start_time
        nominal = self.nominal_dur_s
        jump = jump_s if jump_s is not None else max(3 * (nominal or 0.0), DEFAULT_MIN_JUMP_S)
        last_pts: int | None = None  # of the last delivered frame, rebased
        last_step: int | None = None  # last pts increment, for interpolation
        rebase = 0  # pts added after a backwards discontinuity
        last_t: float | None = None
        # After any sign of damage, a step of even 2 frames means lost pictures (demuxers
        # resyncing after garbage drop packets silently); elsewhere VFR steps are normal.
        alert = [float("-inf")]  # strict until this timeline time
        tracker.begin_segment(offset_s)

        def alarm(at_s: float | None) -> None:
            base = at_s if at_s is not None else (last_t if last_t is not None else offset_s)
            alert[0] = max(alert[0], base + _ALERT_S)

        def seconds(pts: int) -> float:
            # Integer numerator then one true division: correctly rounded, no drift.
            return offset_s + ((pts + rebase - (origin or 0)) * tb_num) / tb_den

        def packet_time(packet: Any) -> float | None:
            p = packet.pts if packet.pts is not None else packet.dts
            return None if p is None or origin is None else seconds(p)

        # A decode error is dated by the packet it belongs to, not by the one being sent
        # when FFmpeg reports it (error_lag packets later with frame threading): dated by
        # the later one, a damaged span ended that many frames late and took in good
        # frames decoded after it (5 frames at 4 threads).
        sent: deque[Any] = deque(maxlen=error_lag(cc) + 1)

        def decoded(packet: Any) -> list[Any]:
            if packet is not None:
                sent.append(packet)
                if packet.is_corrupt:
                    at = packet_time(packet)
                    tracker.trouble("corrupt packet", at)
                    alarm(at)
            try:
                out: list[Any] = cc.decode(packet)
                return out
            except EOFError:
                return []
            except _AV_ERRORS as exc:
                at = packet_time(sent[0]) if packet is not None else None
                what = "undecodable packet" if packet is not None else "decoder flush failed"
                tracker.trouble(f"{what} ({short_error(exc)})", at)
                alarm(at)
                return []

        def packets() -> Iterator[Any]:
            errors = 0
            demux = self.container.demux(self.stream)
            while True:
                try:
                    packet = next(demux)
                except StopIteration:
                    return
                except EOFError:
                    return
                except _AV_ERRORS as exc:
                    errors += 1
                    tracker.trouble(f"unreadable container data ({short_error(exc)})")
                    if errors >= _MAX_DEMUX_ERRORS:
                        src.note(f"{self.path}: gave up reading after {errors} container errors")
                        return
                    demux = self.container.demux(self.stream)  # resumes at the read position
                    continue
                errors = 0
                if packet.size:  # empty packets are PyAV's flush sentinels; we flush below
                    if observer is not None:
                        observer.packet(packet)
                    yield packet
            # unreachable

        def batches() -> Iterator[list[Any]]:
            if observer is not None:
                observer.begin_file(file_index, self.path, self.stream, offset_s)
            for packet in packets():
                yield decoded(packet)
            yield decoded(None)
            if observer is not None:
                observer.end_file()

        for batch in batches():
            for f in batch:
                pts = f.dts if self.use_dts and f.dts is not None else f.pts
                if pts is None:
                    step = f.duration or last_step or (
                        round(nominal * tb_den / tb_num) if nominal else 1
                    )
                    pts = (last_pts + step - rebase) if last_pts is not None else (origin or 0)
                    src.pts_interpolated += 1
                if origin is None or (last_pts is None and pts < origin):
                    origin = pts
                eff = pts + rebase  # on this file's timeline (differs after a discontinuity)
                if last_pts is not None and eff <= last_pts:
                    back_s = ((last_pts - eff) * tb_num) / tb_den
                    if back_s <= _LATE_FRAME_S:
                        src.frames_dropped += 1
                        alarm(None)
                        continue
                    step = last_step or 1
                    rebase += last_pts + step - eff
                    eff = last_pts + step
                    at = last_t if last_t is not None else offset_s
                    tracker.add(
                        at,
                        at,
                        f"timestamp discontinuity: pts went back {back_s:.3f}s; "
                        "timeline continues from the previous frame",
                    )
                t = seconds(pts)
                if f.is_corrupt:
                    # Concealed garbage must not reach the detector: drop it, cover it.
                    tracker.trouble("corrupt frame", t)
                    alarm(t)
                    src.frames_dropped += 1
                    continue
                if last_t is None and t - offset_s > jump and not tracker.open:
                    tracker.add(offset_s, t, "no decodable frames at the start")
                elif last_t is not None and not tracker.open:
                    step_s = t - last_t
                    if step_s > jump:
                        tracker.add(last_t, t, f"timestamp jump of {step_s:.3f}s without frames")
                    elif t <= alert[0] and nominal and step_s > 1.5 * nominal:
                        tracker.add(last_t, t, f"{step_s:.3f}s without frames after damaged data")
                tracker.good(t)
                if last_pts is not None:
                    last_step = eff - last_pts
                last_pts, last_t = eff, t
                self.last_frame_s = t
                yield f, pts, t

        declared = self._declared_end_rel(origin) if origin is not None else None
        declared_t = offset_s + declared if declared is not None else None
        short = declared_t is not None and (last_t is None or declared_t - last_t > jump)
        truncated = ""
        if short and declared is not None:
            seen = "none" if last_t is None else f"the last is at {last_t - offset_s:.3f}s"
            truncated = f"truncated: the file declares {declared:.3f}s of video, decodable frames: {seen}"
        if tracker.open:
            tracker.finish(declared_t if short else None, truncated)
        elif short and declared_t is not None and last_t is not None:
            tracker.add(last_t, declared_t, truncated)
        elif last_t is not None and self._cut_mid_packet():
            # MPEG-TS declares no length; a size that is not a whole number of packets
            # means the end was cut, losing at least the picture being received.
            lost = nominal or 0.0
            tracker.add(last_t, last_t + lost, "truncated: the MPEG-TS file ends mid-packet")
        if last_t is not None:
            step_s = (last_step * tb_num) / tb_den if last_step else (nominal or 0.0)
            self.end_s = last_t + step_s
