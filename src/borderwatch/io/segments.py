"""One timeline from one video file or a folder of video segments.

Ordering and placement of segments:

* When *every* file name carries a date-time (``cam_20260101_120000.mp4``), segments are
  sorted by it and segment *k* starts at its name's time: ``time_s`` counts from the first
  segment's name, so an hour with no file becomes a gap on the timeline.
* Otherwise segments are sorted by name (digit runs compared as numbers) and each starts
  where the previous one ended (its last pts plus one frame duration).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from ..errors import BorderwatchError
from ..records import Frame
from .base import FileInfo, GapTracker, PacketObserver, Source, SourceInfo, SourceKind
from .probe import probe_video_file
from .timestamps import time_from_name
from .video import VideoFile, bgr_getter, luma_view


def natural_key(path: Path) -> list[object]:
    """``seg2`` before ``seg10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


@dataclass(frozen=True)
class SegmentPlan:
    info: SourceInfo
    files: list[Path]
    name_times: list[datetime] | None  # start of each file from its name, when all have one


def plan_segments(directory: Path, files: list[Path], *, local_tz: tzinfo = UTC) -> SegmentPlan:
    """Order a folder's videos and probe each (failures are recorded, not raised)."""
    times = [time_from_name(p.name, local_tz) for p in files]
    named: list[datetime] | None = None
    if all(t is not None for t in times):
        pairs = sorted(zip(times, files), key=lambda tp: (tp[0], natural_key(tp[1])))
        files = [p for _, p in pairs]
        named = [t for t, _ in pairs if t is not None]
    else:
        files = sorted(files, key=natural_key)
    infos: list[FileInfo] = []
    notes: list[str] = []
    for p in files:
        try:
            infos.append(probe_video_file(p))
        except BorderwatchError as exc:
            size = p.stat().st_size if p.exists() else 0
            infos.append(FileInfo(path=p, size=size, error=str(exc)))
    good = [i for i in infos if i.error is None]
    first = good[0] if good else None
    sizes = {(i.width, i.height) for i in good}
    if len(sizes) > 1:
        notes.append(f"{directory}: segments differ in size: {sorted(sizes, key=str)}")
    durs = [i.duration_s for i in infos]
    duration: float | None = None
    if named is not None and durs[-1] is not None:
        duration = (named[-1] - named[0]).total_seconds() + durs[-1]
    elif named is None and all(d is not None for d in durs):
        duration = sum(d for d in durs if d is not None)
    counts = [i.frame_count for i in infos]
    count = sum(c for c in counts if c is not None) if all(c is not None for c in counts) else None
    info = SourceInfo(
        kind="segments",
        path=directory,
        files=infos,
        width=first.width if first else None,
        height=first.height if first else None,
        fps=first.fps if first else None,
        duration_s=duration,
        frame_count=count,
        wallclock_start=named[0] if named else (infos[0].wallclock_start if infos else None),
        notes=notes,
        full_range=first.full_range if first else False,
    )
    return SegmentPlan(info, files, named)


class VideoTimeline(Source):
    """Frames of one video file, or of a folder of segments, on one timeline."""

    def __init__(
        self,
        kind: SourceKind,
        info: SourceInfo,
        files: list[Path],
        name_times: list[datetime] | None,
        *,
        threads: int,
        deblock: bool = True,
        copy_luma: bool,
        max_frame_interval_s: float | None,
        opened: VideoFile | None = None,
        observer: PacketObserver | None = None,
    ) -> None:
        super().__init__(info)
        self._observer = observer
        self.kind = kind
        self._files = files
        self._name_times = name_times
        self._threads = threads
        self._deblock = deblock
        self._copy = copy_luma
        self._jump = max_frame_interval_s
        self._opened = opened  # a single video is opened by open_source to read .info
        self._failed: list[str] = []

    def _release(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def _empty_message(self) -> str:
        why = sorted({g.reason for g in self.gaps}) if self.kind == "video" else self._failed
        detail = f" ({'; '.join(why)[:300]})" if why else ""
        return f"{self.info.path}: no frame could be decoded{detail}"

    def _missing_reason(self, k: int) -> str:
        """Why the timeline has no frames before segment ``k`` (consumes the failures)."""
        why = "; ".join(self._failed) or "no recording"
        self._failed = []
        where = f"after {self._files[k - 1].name}, " if k else ""
        return f"missing segment time ({where}before {self._files[k].name}): {why}"

    def _open(self, k: int) -> VideoFile:
        if k == 0 and self._opened is not None:
            vf, self._opened = self._opened, None
            return vf
        return VideoFile(self._files[k], self._threads, self._deblock)

    def _frames(self) -> Iterator[Frame]:
        tracker = GapTracker(self.gaps)
        names = self._name_times
        wall0 = names[0] if names else self.info.wallclock_start
        jump_default = self._jump
        index = 0
        last_t: float | None = None  # last delivered frame on the timeline
        prev_end = 0.0  # where the next unnamed segment starts
        pending_end = 0.0  # end of failed segments not yet covered by a gap
        for k, path in enumerate(self._files):
            tracker.segment = k
            if names is not None:
                start = (names[k] - names[0]).total_seconds()
                if last_t is not None and start <= last_t:
                    self.note(f"{path.name}: starts before the previous segment ends; shifted to follow it")
                    start = prev_end
            else:
                start = max(prev_end, pending_end)
            declared = self.info.files[k].duration_s if k < len(self.info.files) else None
            try:
                vf = self._open(k)
            except BorderwatchError as exc:
                if self.kind == "video":
                    raise
                self._failed.append(f"{path.name}: {exc}")
                self._partial = True
                pending_end = max(pending_end, start + (declared or 0.0))
                continue
            jump = jump_default
            if jump is None:
                jump = max(3 * (vf.nominal_dur_s or 0.0), 0.2)
            first = True
            try:
                for f, pts, t in vf.frames(self, tracker, start, self._jump, self._observer, k):
                    if first:
                        first = False
                        gap_from = last_t if last_t is not None else 0.0
                        if self._failed or (k > 0 and t - prev_end > jump):
                            tracker.add(gap_from, t, self._missing_reason(k))
                    yield Frame(
                        index=index,
                        pts=pts,
                        time_base=vf.time_base,
                        time_s=t,
                        luma=luma_view(f, self._copy),
                        wallclock=None if wall0 is None else wall0 + timedelta(seconds=t),
                        segment=k,
                        to_bgr=bgr_getter(f, path),
                    )
                    index += 1
            finally:
                vf.close()
            if first:  # opened but not one frame decoded
                self._failed.append(f"{path.name}: no frame could be decoded")
                self._partial = True
                pending_end = max(pending_end, start + (declared or 0.0))
                continue
            if vf.last_frame_s is not None:
                last_t = vf.last_frame_s
            if vf.end_s is not None:
                prev_end = vf.end_s
        if self._failed and last_t is not None:
            end = max(pending_end, prev_end)
            tracker.add(last_t, end, "missing segment time at the end: " + "; ".join(self._failed))
