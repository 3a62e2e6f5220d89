"""A folder of JPEG/PNG pictures (a trail or time-lapse camera) as a timed source.

Each picture is timed by EXIF ``DateTimeOriginal`` (+ ``SubSecTimeOriginal``, and
``OffsetTimeOriginal`` when the camera wrote one), else by a date-time in its file name.
Naive times are camera-local clock readings of unknown zone: they are read in
``local_tz`` (UTC by default), i.e. kept exactly as written and labelled UTC, so the
wall-clock in the output is the camera's clock, not necessarily true UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import SourceUnreadable
from ..records import Frame
from .base import FileInfo, GapTracker, Source, SourceInfo
from .segments import natural_key
from .timestamps import parse_exif_time, time_from_name

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_SUBSEC_ORIGINAL = 0x9291
_OFFSET_ORIGINAL = 0x9011
_ORIENTATION = 0x0112

_REDUCED = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def _read_header(path: Path, local_tz: tzinfo) -> tuple[FileInfo, str | None]:
    """Size, format and EXIF time of one picture; the error text when Pillow cannot."""
    width = height = None
    codec = None
    when: datetime | None = None
    error = None
    try:
        with Image.open(path) as im:
            width, height = im.size
            codec = (im.format or "").lower() or None
            exif = im.getexif()
            ifd = exif.get_ifd(_EXIF_IFD)
            when = parse_exif_time(
                ifd.get(_DATETIME_ORIGINAL),
                ifd.get(_SUBSEC_ORIGINAL),
                ifd.get(_OFFSET_ORIGINAL),
                local_tz,
            )
            if exif.get(_ORIENTATION) in (5, 6, 7, 8):
                width, height = height, width  # OpenCV applies the rotation on read
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        error = f"{path.name}: not a readable image ({exc})"
    if when is None:
        when = time_from_name(path.name, local_tz)
    info = FileInfo(
        path=path,
        size=path.stat().st_size,
        width=width,
        height=height,
        codec=codec,
        frame_count=1,
        wallclock_start=when,
        error=error,
    )
    return info, error


def plan_images(
    directory: Path, files: list[Path], *, local_tz: tzinfo = UTC
) -> tuple[SourceInfo, list[str]]:
    """Time and order every picture; raise when a readable picture cannot be timed."""
    infos: list[FileInfo] = []
    skipped: list[str] = []
    for p in sorted(files, key=natural_key):
        info, error = _read_header(p, local_tz)
        if info.wallclock_start is None:
            if error is None:
                raise SourceUnreadable(
                    f"cannot time image {p}: no EXIF DateTimeOriginal and no timestamp in the name"
                )
            skipped.append(f"{error}; and no time in its name, so it is skipped")
            continue
        infos.append(info)
    infos.sort(key=lambda i: (i.wallclock_start, natural_key(i.path)))
    first = next((i for i in infos if i.error is None), None)
    t0 = infos[0].wallclock_start if infos else None
    t1 = infos[-1].wallclock_start if infos else None
    source_info = SourceInfo(
        kind="images",
        path=directory,
        files=infos,
        width=first.width if first else None,
        height=first.height if first else None,
        fps=None,
        duration_s=(t1 - t0).total_seconds() if t0 and t1 else None,
        frame_count=len(infos),
        wallclock_start=t0,
        notes=list(skipped),
        full_range=True,  # JPEG and PNG luma spans 0-255
    )
    return source_info, skipped


def _bgr_reader(path: Path) -> Callable[[], np.ndarray]:
    def to_bgr() -> np.ndarray:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise SourceUnreadable(f"{path}: cannot read image")
        return img

    return to_bgr


class ImageSequence(Source):
    """Pictures in time order; ``time_s`` is seconds since the first picture.

    ``Frame.segment`` is the picture's position in ``info.files``; ``pts`` and
    ``time_base`` are None. Pictures taken within the same second by a camera that
    writes no sub-seconds share a ``time_s``.
    """

    def __init__(self, info: SourceInfo, *, reduce: int = 1) -> None:
        super().__init__(info)
        if reduce not in _REDUCED:
            raise ValueError(f"image reduce factor must be one of {sorted(_REDUCED)}")
        self._flag = _REDUCED[reduce]
        if len(info.notes) > 0:
            self._partial = True  # pictures that could be neither read nor timed

    def _frames(self) -> Iterator[Frame]:
        tracker = GapTracker(self.gaps)
        tracker.begin_segment(0.0)
        files = self.info.files
        t0 = files[0].wallclock_start if files else None
        index = 0
        for k, fi in enumerate(files):
            when = fi.wallclock_start
            if when is None or t0 is None:
                continue
            t = (when - t0).total_seconds()
            tracker.segment = k
            luma = cv2.imread(str(fi.path), self._flag)
            if luma is None:
                tracker.trouble(f"unreadable image {fi.path.name}", t)
                continue
            tracker.good(t)
            yield Frame(
                index=index,
                pts=None,
                time_base=None,
                time_s=t,
                luma=luma,
                wallclock=when,
                segment=k,
                to_bgr=_bgr_reader(fi.path),
            )
            index += 1
        tracker.finish(None)
