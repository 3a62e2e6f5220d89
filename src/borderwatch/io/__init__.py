"""Sources that yield exactly-timed frames: a video file, a folder of segments, or a
folder of pictures.

>>> from borderwatch.io import open_source
>>> with open_source("clip.mp4") as src:                      # doctest: +SKIP
...     print(src.info.kind, src.info.fps, src.info.frame_count)
...     for frame in src:
...         small = frame.luma[::4, ::4]                      # no colour conversion
...     print(src.frames_decoded, src.partial, src.gaps)

``Frame.time_s`` comes from the presentation timestamp (``(pts - first pts) * time_base``),
never from an assumed frame rate. Damage never raises: it becomes ``DecodeGap`` spans
and ``partial = True``. Only a missing path (:class:`SourceNotFound`), something that is
not a video or picture folder (:class:`SourceUnreadable`) and a source with no decodable
frame at all (:class:`EmptySource`) raise, and they do so from :func:`open_source`.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path

from .base import FileInfo, PacketObserver, Source, SourceInfo, SourceKind
from .images import ImageSequence, plan_images
from .probe import IMAGE_EXTS, VIDEO_EXTS, classify, probe
from .segments import VideoTimeline, plan_segments
from .video import VideoFile

__all__ = [
    "IMAGE_EXTS",
    "VIDEO_EXTS",
    "FileInfo",
    "PacketObserver",
    "Source",
    "SourceInfo",
    "SourceKind",
    "open_source",
    "probe",
]


def open_source(
    path: str | Path,
    *,
    threads: int = 2,
    deblock: bool = True,
    analysis_only: bool = True,
    max_frame_interval_s: float | None = None,
    local_tz: tzinfo = UTC,
    image_reduce: int = 1,
    observer: PacketObserver | None = None,
) -> Source:
    """Open a video file, a folder of video segments or a folder of JPEG/PNG pictures.

    ``threads``: decoder threads per video (frame + slice threading; 0 lets FFmpeg pick).
    ``deblock``: False skips the in-loop deblocking filter of H.264/HEVC/VP8 (about a
    fifth faster; the pictures differ slightly from the exact ones, see
    ``ScanConfig.fast_decode``).
    ``analysis_only``: when True (the fast path) ``Frame.luma`` is a read-only view into
    decoder memory; when False it is an owned, writable copy. ``Frame.to_bgr()`` is lazy
    either way.
    ``max_frame_interval_s``: a step between consecutive video frames longer than this,
    with no decode error, is reported as a gap (default: 3 nominal frame durations, at
    least 0.2 s).
    ``local_tz``: zone for naive times (EXIF, file names); default UTC, i.e. the camera's
    clock reading is kept as written.
    ``image_reduce``: 2, 4 or 8 reads pictures' luma at that fraction of full size.
    ``observer``: sees every coded video packet as it is demuxed (see
    :class:`~.base.PacketObserver`); the scan hashes GOPs with it.

    The first frame is decoded here, so :class:`EmptySource` is raised at open time.
    """
    p = Path(path)
    kind, files = classify(p)
    src: Source
    if kind == "images":
        info, _ = plan_images(p, files, local_tz=local_tz)
        src = ImageSequence(info, reduce=image_reduce)
    elif kind == "segments":
        plan = plan_segments(p, files, local_tz=local_tz)
        src = VideoTimeline(
            "segments",
            plan.info,
            plan.files,
            plan.name_times,
            threads=threads,
            deblock=deblock,
            copy_luma=not analysis_only,
            max_frame_interval_s=max_frame_interval_s,
            observer=observer,
        )
    else:
        vf = VideoFile(p, threads, deblock)
        fi = vf.info
        info = SourceInfo.of_video(p, fi)
        src = VideoTimeline(
            "video",
            info,
            [p],
            None,
            threads=threads,
            deblock=deblock,
            copy_luma=not analysis_only,
            max_frame_interval_s=max_frame_interval_s,
            opened=vf,
            observer=observer,
        )
    src._prime()
    return src
