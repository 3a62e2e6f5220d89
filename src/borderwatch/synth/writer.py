"""Write rendered frames as H.264 MP4 (PyAV) or as trail-camera JPEGs with EXIF time."""

from __future__ import annotations

import queue
import shutil
import threading
from datetime import timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import av
import cv2
import numpy as np
from PIL import Image

from ..errors import ConfigError, OutputError
from .faults import corrupt_packets, keyframes, missing_tail
from .render import Renderer
from .spec import SceneSpec
from .truth import Truth

Format = Literal["mp4", "images"]
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")
_MUXERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}
EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
SUBSEC_ORIGINAL = 0x9291
DATETIME = 0x0132


def truth_path_for(out_path: Path) -> Path:
    """``clip.mp4`` -> ``clip.truth.json``; image folder ``cam1`` -> ``cam1.truth.json``."""
    out_path = Path(out_path)
    if out_path.suffix.lower() in VIDEO_SUFFIXES:
        return out_path.with_suffix(".truth.json")
    return out_path.parent / (out_path.name + ".truth.json")


def guess_format(out_path: Path) -> Format:
    return "mp4" if Path(out_path).suffix.lower() in VIDEO_SUFFIXES else "images"


def time_base_for(fps: Fraction) -> Fraction:
    """1/fps: exact for any rational rate, so frame i has pts i and time i/fps."""
    return Fraction(1) / fps


def _i420(frames: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
    for i, img in frames:
        # OpenCV's I420 is BT.601 limited range, which is what an untagged yuv420p means.
        yield i, np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)


def _ahead(items: Iterator[Any], depth: int = 8) -> Iterator[Any]:
    """Run ``items`` in a worker thread, ``depth`` ahead of the consumer.

    Rendering (numpy/OpenCV) and encoding (x264) both release the GIL, so on a machine
    with spare cores they overlap. Order is kept, so output stays deterministic; the
    producer's exceptions are re-raised here.
    """
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(("item", item))
            q.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(("error", exc))

    t = threading.Thread(target=work, name="synth-render", daemon=True)
    t.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        while t.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        t.join()


def _write_mp4(r: Renderer, path: Path, muxer: str, crf: int, preset: str, tick: Callable[[int], None]) -> None:
    spec = r.spec
    if spec.width % 2 or spec.height % 2:
        raise ConfigError(f"H.264 (yuv420p) needs an even width and height, got {spec.width}x{spec.height}")
    try:
        container = av.open(str(path), mode="w", format=muxer)
    except (OSError, av.FFmpegError) as exc:
        raise OutputError(f"cannot write {path}: {exc}") from None
    try:
        # The camera clock at frame 0, as cameras and FFmpeg record it, so that a scan
        # can give wall-clock times (a naive start time is taken as UTC).
        start = spec.start_time if spec.start_time.tzinfo else spec.start_time.replace(tzinfo=timezone.utc)
        container.metadata["creation_time"] = start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stream = container.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        tb = time_base_for(spec.fps)
        stream.time_base = tb
        stream.codec_context.time_base = tb
        # Fixed thread count: x264 output depends on it, and a generator must be
        # byte-for-byte reproducible on any machine. cpu-independent: x264's AVX-512
        # paths are not bit-exact with its C code, and on the (virtual) dev machine they
        # even gave different bytes from run to run under load (a few % of encodes of
        # clips with sudden whole-frame changes); this keeps the bit-exact functions.
        stream.options = {
            "crf": str(crf),
            "preset": preset,
            "threads": "4",
            "forced-idr": "1",
            "x264-params": "cpu-independent=1",
        }
        # A corrupt fault's first frame and the frame after it start closed GOPs, so
        # the damage is exactly the packets in between (see faults.corrupt_packets).
        keys = keyframes(spec)
        tail = missing_tail(spec)
        for i, yuv in _ahead(_i420(r.timed_frames())):
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            frame.time_base = tb
            if keys and keys[0] <= i:
                frame.pict_type = av.video.frame.PictureType.I
                keys = [k for k in keys if k > i]
            container.mux(stream.encode(frame))
            tick(i + 1)
        last = stream.encode(None)
        if tail and last:
            # Frames dropped up to the end: the last shown frame lasts until the clip's
            # end, so the file still declares the full length and the loss is visible
            # (as a truncation) instead of a clip that merely ends early.
            shown = max(last, key=lambda p: p.pts or 0)
            for pkt in {id(shown): shown, id(last[-1]): last[-1]}.values():
                pkt.duration = (pkt.duration or 1) + tail
        container.mux(last)
        tick(spec.frames)
    except av.FFmpegError as exc:
        raise OutputError(f"encoding {path} failed: {exc}") from None
    finally:
        container.close()


def image_name(when: object, fps: Fraction) -> str:
    """``IMG_20260101_120000.jpg``; milliseconds are added when frames are < 1 s apart."""
    stamp = when.strftime("%Y%m%d_%H%M%S")  # type: ignore[attr-defined]
    if fps > 1 or Fraction(1) / fps != int(Fraction(1) / fps):
        stamp += f"_{when.microsecond // 1000:03d}"  # type: ignore[attr-defined]
    return f"IMG_{stamp}.jpg"


def _write_images(r: Renderer, folder: Path, quality: int, tick: Callable[[int], None]) -> None:
    spec = r.spec
    try:
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder} exists and is not a folder")
        if folder.is_dir():
            # Stale images from an earlier run would be read as part of this sequence.
            for old in folder.glob("IMG_*.jpg"):
                old.unlink()
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {exc}") from None
    period = Fraction(1) / spec.fps
    # Copies: the renderer reuses its buffer while JPEG encoding runs behind it.
    for i, img in _ahead((i, f.copy()) for i, f in r.timed_frames()):
        offset = i * period
        when = spec.start_time + timedelta(seconds=int(offset), microseconds=round((offset % 1) * 1_000_000))
        exif = Image.Exif()
        exif[DATETIME] = when.strftime("%Y:%m:%d %H:%M:%S")
        ifd = exif.get_ifd(EXIF_IFD)
        ifd[DATETIME_ORIGINAL] = when.strftime("%Y:%m:%d %H:%M:%S")
        ifd[SUBSEC_ORIGINAL] = f"{when.microsecond // 1000:03d}"
        rgb = Image.fromarray(np.ascontiguousarray(img[..., ::-1]))
        try:
            rgb.save(folder / image_name(when, spec.fps), quality=quality, exif=exif)
        except OSError as exc:
            raise OutputError(f"cannot write to {folder}: {exc}") from None
        tick(i + 1)


def generate(
    spec: SceneSpec,
    out_path: str | Path,
    *,
    fmt: Format | None = None,
    crf: int = 20,
    x264_preset: str = "veryfast",
    jpeg_quality: int = 90,
    progress: Callable[[int, int], None] | None = None,
) -> Truth:
    """Render ``spec`` to ``out_path`` and write ``<out>.truth.json`` beside it.

    ``fmt`` defaults from the name: ``.mp4/.mkv/.mov`` is a video, anything else a folder
    of JPEGs. ``progress(done, total)`` is called after every frame. Returns the truth.
    """
    out = Path(out_path)
    if fmt is None and out.suffix and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError(f"cannot tell the format of {out.name!r}: name it .mp4/.mkv/.mov, or pass --format images")
    fmt = fmt or guess_format(out)
    if fmt not in ("mp4", "images"):
        raise ConfigError(f"unknown output format {fmt!r}: use mp4 or images")
    if x264_preset not in X264_PRESETS:
        raise ConfigError(f"unknown x264 preset {x264_preset!r}: use one of {', '.join(X264_PRESETS)}")
    if not 0 <= crf <= 51:
        raise ConfigError(f"--crf must be 0..51, got {crf}")
    if fmt == "mp4" and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError(f"video output needs a .mp4, .mkv or .mov name, got {out.name!r}")
    if fmt == "images" and out.suffix.lower() in VIDEO_SUFFIXES:
        raise ConfigError(f"images are written to a folder; {out.name!r} looks like a video file name")
    if not out.parent.exists():
        raise OutputError(f"output folder {out.parent} does not exist")
    if fmt == "images":
        for fault in spec.faults:
            if fault.kind in ("drop", "corrupt"):
                raise ConfigError(f"a {fault.kind} fault needs video output (.mp4/.mov/.mkv), not images")
    renderer = Renderer(spec)
    total = spec.frames
    tick = (lambda done: progress(done, total)) if progress else (lambda done: None)
    truth = renderer.truth(out.name, fmt)
    tmp = out.with_name(out.name + ".part") if fmt == "mp4" else out
    if fmt == "mp4":
        _write_mp4(renderer, tmp, _MUXERS[out.suffix.lower()], crf, x264_preset, tick)
        if any(f.kind == "corrupt" for f in spec.faults):
            corrupt_packets(tmp, spec)
        shutil.move(str(tmp), str(out))
    else:
        _write_images(renderer, out, jpeg_quality, tick)
    try:
        truth.save(truth_path_for(out))
    except OSError as exc:
        raise OutputError(f"cannot write {truth_path_for(out)}: {exc}") from None
    return truth
