"""Shared pieces of every source: descriptions, the iterator shell and gap bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

from ..errors import EmptySource
from ..records import DecodeGap, Frame

SourceKind = Literal["video", "segments", "images"]

# Human-readable notes are for a report, not a log: cap them so a 24-hour source with a
# recurring fault cannot grow memory without bound.
MAX_NOTES = 100


@dataclass(frozen=True)
class FileInfo:
    """What one file of a source declares about itself (read without decoding frames)."""

    path: Path
    size: int  # bytes
    width: int | None = None
    height: int | None = None
    codec: str | None = None  # FFmpeg codec name, or "jpeg"/"png" for images
    fps: Fraction | None = None  # nominal rate; None for images and unknown rates
    duration_s: float | None = None  # declared by the container; None when unknown
    frame_count: int | None = None  # declared or derived from duration * fps
    wallclock_start: datetime | None = None  # time of the first frame, when known
    error: str | None = None  # why this file could not be probed (segments only)
    # Luma spans 0-255 (JPEG, "yuvj", full-range video); else 16-235 (video range).
    full_range: bool = False


@dataclass(frozen=True)
class SourceInfo:
    """A source as a whole: its kind, its files and the totals expected from them."""

    kind: SourceKind
    path: Path
    files: list[FileInfo]
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    duration_s: float | None = None
    frame_count: int | None = None
    wallclock_start: datetime | None = None
    notes: list[str] = field(default_factory=list)
    full_range: bool = False  # luma 0-255 rather than video range 16-235

    @classmethod
    def of_video(cls, path: Path, fi: FileInfo) -> SourceInfo:
        """The info of a source that is one video file."""
        return cls(
            kind="video",
            path=path,
            files=[fi],
            width=fi.width,
            height=fi.height,
            fps=fi.fps,
            duration_s=fi.duration_s,
            frame_count=fi.frame_count,
            wallclock_start=fi.wallclock_start,
            full_range=fi.full_range,
        )


class PacketObserver(Protocol):
    """Sees every coded packet of a video source as it is demuxed (e.g. to hash GOPs).

    Called on the decoding thread, in demux order; it must be quick and must not keep
    the packets.
    """

    def begin_file(self, index: int, path: Path, stream: Any, offset_s: float) -> None: ...

    def packet(self, packet: Any) -> None: ...

    def end_file(self) -> None: ...


class GapTracker:
    """Turns decode trouble into :class:`DecodeGap` spans between good frames.

    Trouble (a packet that failed, a frame flagged corrupt, an unreadable image) opens a
    span at the last good frame; the next good frame *past the damaged timestamps* closes
    it. Frames the decoder still had buffered from before the damage (B-frame reordering)
    push the start forward instead of closing it. So a gap is the open interval between
    two frames that were delivered, and it always covers the damaged timestamps.
    """

    def __init__(self, gaps: list[DecodeGap]) -> None:
        self.gaps = gaps
        self.last_good_s: float | None = None
        self._open = False
        self._start_s: float | None = None
        self._lo_s: float | None = None  # damaged timestamps seen (timeline seconds)
        self._hi_s: float | None = None
        self._reasons: dict[str, int] = {}
        self.segment = 0
        self._seg_start_s = 0.0

    def begin_segment(self, start_s: float, segment: int | None = None) -> None:
        """Trouble before the first good frame of a file spans from ``start_s``."""
        self.last_good_s = None
        self._seg_start_s = start_s
        if segment is not None:
            self.segment = segment

    @property
    def open(self) -> bool:
        return self._open

    def trouble(self, reason: str, at_s: float | None = None) -> None:
        if not self._open:
            self._open = True
            self._start_s = self.last_good_s if self.last_good_s is not None else self._seg_start_s
            self._lo_s = self._hi_s = None
            self._reasons = {}
        self._reasons[reason] = self._reasons.get(reason, 0) + 1
        if at_s is not None:
            self._lo_s = at_s if self._lo_s is None else min(self._lo_s, at_s)
            self._hi_s = at_s if self._hi_s is None else max(self._hi_s, at_s)

    def good(self, t_s: float) -> None:
        """A frame at ``t_s`` was delivered."""
        if self._open:
            if self._lo_s is not None and t_s < self._lo_s:
                self._start_s = t_s  # still before the damage
            elif self._hi_s is None or t_s > self._hi_s:
                self._close(t_s)
        self.last_good_s = t_s

    def add(self, start_s: float, end_s: float, reason: str, segment: int | None = None) -> None:
        seg = self.segment if segment is None else segment
        self.gaps.append(DecodeGap(float(start_s), float(end_s), reason, seg))

    def finish(self, end_s: float | None, reason: str = "") -> None:
        """End of the segment: close an open span at ``end_s`` (or the last damage seen)."""
        if not self._open:
            return
        end = end_s
        if end is None:
            end = self._hi_s if self._hi_s is not None else self.last_good_s
        if end is None:
            end = self._start_s if self._start_s is not None else 0.0
        self._close(end, reason)

    def _close(self, end_s: float, extra: str = "") -> None:
        start = self._start_s if self._start_s is not None else self._seg_start_s
        parts = [f"{reason} x{n}" if n > 1 else reason for reason, n in self._reasons.items()]
        if extra:
            parts.append(extra)
        self.add(start, max(start, end_s), "; ".join(parts))
        self._open = False


class Source:
    """A context manager and iterator of :class:`~borderwatch.records.Frame`.

    Subclasses implement :meth:`_frames`. The counters below are live while iterating.
    """

    def __init__(self, info: SourceInfo) -> None:
        self.info = info
        self.frames_decoded = 0
        self.gaps: list[DecodeGap] = []
        self.notes: list[str] = list(info.notes)
        self.last_time_s: float | None = None
        self.pts_interpolated = 0  # frames whose pts was missing and was interpolated
        self.frames_dropped = 0  # frames discarded (corrupt, or late after a decoder upset)
        self._partial = False
        self._iter: Iterator[Frame] | None = None
        self._first: Frame | None = None
        self._closed = False

    @property
    def partial(self) -> bool:
        """True when some part of the source could not be decoded or is missing."""
        return self._partial or bool(self.gaps)

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def _frames(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _empty_message(self) -> str:
        return f"{self.info.path}: no frame could be decoded"

    def _prime(self) -> None:
        """Decode the first frame now, so an empty source fails at open time."""
        self._iter = self._frames()
        try:
            self._first = next(self._iter)
        except StopIteration:
            self.close()
            raise EmptySource(self._empty_message()) from None
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Source:
        return self

    def __next__(self) -> Frame:
        if self._closed:
            raise StopIteration
        if self._first is not None:
            frame, self._first = self._first, None
        else:
            if self._iter is None:
                self._iter = self._frames()
            frame = next(self._iter)
        self.frames_decoded += 1
        self.last_time_s = frame.time_s
        return frame

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._iter is not None and hasattr(self._iter, "close"):
            self._iter.close()  # runs the generator's finally: closes containers
        self._release()

    def _release(self) -> None:
        """Free resources held outside the frame generator (containers opened early)."""

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
