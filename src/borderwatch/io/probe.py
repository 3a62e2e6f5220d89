"""Open containers and describe sources without decoding a single frame."""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ..errors import EmptySource, SourceNotFound, SourceUnreadable
from .base import FileInfo, SourceInfo, SourceKind

VIDEO_EXTS = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .ts .m2ts .mts .mpg .mpeg .flv .wmv .asf .3gp .h264 "
    ".264 .h265 .265 .hevc .mjpeg .y4m .ogv".split()
)
IMAGE_EXTS = frozenset(".jpg .jpeg .png".split())

# An FFmpeg error message ends with the file name and a log excerpt; the first clause is
# the useful part of a one-line error.
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


def short_error(exc: BaseException) -> str:
    text = _ERRNO.sub("", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return text.split(": '")[0].strip() or type(exc).__name__


def open_container(path: Path) -> Any:
    """``av.open`` with FFmpeg's errors translated; the caller closes the container."""
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file or directory")
    if path.is_file() and path.stat().st_size == 0:
        raise EmptySource(f"{path}: file is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except FileNotFoundError:
        raise SourceNotFound(f"{path}: no such file or directory") from None
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise SourceUnreadable(f"{path}: not a readable video ({short_error(exc)})") from None


def video_stream(container: Any, path: Path) -> Any:
    streams = [s for s in container.streams.video if s.codec_context is not None]
    if not streams:
        raise SourceUnreadable(f"{path}: has no video stream")
    # Cover art is a one-picture "video" stream; prefer a real one when both exist.
    real = [s for s in streams if not (s.disposition & av.stream.Disposition.attached_pic)]
    return (real or streams)[0]


def _hms(text: str | None) -> float | None:
    """Matroska's per-stream DURATION tag, "HH:MM:SS.nnnnnnnnn"."""
    m = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", (text or "").strip())
    if not m:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def nominal_fps(stream: Any) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate and 0 < rate <= 1000:
            return Fraction(rate)
    return None


def declared_duration_s(container: Any, stream: Any) -> float | None:
    """The video stream's length as the file declares it (from its first pts)."""
    if stream.duration and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    tag = _hms(stream.metadata.get("DURATION") or stream.metadata.get("duration"))
    if tag:
        return tag
    if container.duration and container.duration > 0:
        return float(container.duration / av.time_base)
    return None


def video_file_info(container: Any, stream: Any, path: Path) -> FileInfo:
    from .timestamps import parse_creation_time

    cc = stream.codec_context
    fps = nominal_fps(stream)
    dur = declared_duration_s(container, stream)
    count = stream.frames if stream.frames and stream.frames > 0 else None
    if count is None and dur is not None and fps is not None:
        count = round(dur * fps)
    meta_time = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    return FileInfo(
        path=path,
        size=path.stat().st_size,
        width=cc.width or None,
        height=cc.height or None,
        codec=cc.name,
        fps=fps,
        duration_s=dur,
        frame_count=count,
        wallclock_start=parse_creation_time(meta_time),
        # AVCOL_RANGE_JPEG (2), or a "yuvj" pixel format, means full-range luma.
        full_range=getattr(cc, "color_range", 0) == 2 or str(cc.pix_fmt or "").startswith("yuvj"),
    )


def probe_video_file(path: Path) -> FileInfo:
    container = open_container(path)
    try:
        return video_file_info(container, video_stream(container, path), path)
    finally:
        container.close()


def classify(path: Path) -> tuple[SourceKind, list[Path]]:
    """Decide what a path is: one video, a folder of segments or an image sequence."""
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file or directory")
    if path.is_file():
        return "video", [path]
    if not path.is_dir():
        raise SourceUnreadable(f"{path}: neither a file nor a directory")
    files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    videos = [p for p in files if p.suffix.lower() in VIDEO_EXTS]
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTS]
    if videos and images:
        raise SourceUnreadable(
            f"{path}: holds both videos ({len(videos)}) and images ({len(images)}); "
            "point at a folder of one kind"
        )
    if videos:
        return "segments", videos
    if images:
        return "images", images
    raise SourceUnreadable(f"{path}: no video files or JPEG/PNG images in this directory")


def probe(path: str | Path, *, local_tz: tzinfo = UTC) -> SourceInfo:
    """Describe a source (kind, files, size, codec, rate, duration) without decoding.

    Raises :class:`SourceNotFound` or :class:`SourceUnreadable` like :func:`open_source`.
    """
    from .images import plan_images
    from .segments import plan_segments

    p = Path(path)
    kind, files = classify(p)
    if kind == "images":
        return plan_images(p, files, local_tz=local_tz)[0]
    if kind == "segments":
        return plan_segments(p, files, local_tz=local_tz).info
    return SourceInfo.of_video(p, probe_video_file(p))
