"""The time map (``OUT.timemap.json``): every output frame traced back to source time.

Contract in docs/timelapse.md. One :class:`FrameEntry` per output frame, in order
(``frames[k].i == k``), normally tiling the source timeline like the plan's windows
(a hole is allowed -- a window the renderer had no picture for -- an overlap is not,
and a source time in a hole is shown by no frame); times are
source timeline seconds as in the scan; ``first_pts``/``last_pts``/``shown_pts`` are in
the stream time base of the frame's source (``sources[j].time_base``). Floats are
written as Python writes them (shortest exact form), so a map loads back identical.

Queries (:meth:`TimeMap.frames_showing`, :meth:`~TimeMap.speed_at`,
:meth:`~TimeMap.is_real_time`, :meth:`~TimeMap.output_time`) bisect the frames' start
times. :func:`chapters_for` makes one chapter per crossing from a plan's windows.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from ..errors import BorderwatchError, OutputError
from ..scan.output import write_json_atomic
from .schedule import Window

__all__ = [
    "VERSION",
    "Chapter",
    "FrameEntry",
    "SourceEntry",
    "TimeMap",
    "TimeMapError",
    "chapter_title",
    "chapters_for",
    "output_time",
]

VERSION = 1
# A frame may not start before the previous one ends by more than this.
_CONTIGUOUS_TOL = 1e-6


class TimeMapError(BorderwatchError, ValueError):
    """A time map file is missing or malformed (the message names the file and field)."""


class _Span(Protocol):
    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...


# --- records --------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceEntry:
    """One source file of the scanned timeline."""

    index: int
    path: str
    sha256: str | None = None
    time_base: str | None = None  # e.g. "1/12800": the unit of the pts of its frames

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "sha256": self.sha256, "time_base": self.time_base}


@dataclass(frozen=True, slots=True)
class FrameEntry:
    """One output frame: the source window it stands for and the source frames in it."""

    i: int  # output frame number
    source: int  # index into TimeMap.sources of the file the shown frame comes from
    start_s: float  # source window, inclusive
    end_s: float  # source window, exclusive
    first_pts: int | None  # first / last source frame inside the window (None: none)
    last_pts: int | None
    shown_pts: int | None  # the source frame the output frame shows (may lie before
    shown_s: float | None  # the window when the window holds no frame)
    frames_in: int  # source frames inside the window
    speed: float
    real_time: bool

    @classmethod
    def from_window(
        cls,
        w: Window,
        *,
        source: int = 0,
        first_pts: int | None = None,
        last_pts: int | None = None,
        shown_pts: int | None = None,
        shown_s: float | None = None,
        frames_in: int = 0,
    ) -> FrameEntry:
        return cls(
            w.index,
            source,
            w.start_s,
            w.end_s,
            first_pts,
            last_pts,
            shown_pts,
            shown_s,
            frames_in,
            w.speed,
            w.real_time,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "i": self.i,
            "source": self.source,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "first_pts": self.first_pts,
            "last_pts": self.last_pts,
            "shown_pts": self.shown_pts,
            "shown_s": self.shown_s,
            "frames_in": self.frames_in,
            "speed": self.speed,
            "real_time": self.real_time,
        }


@dataclass(frozen=True)
class Chapter:
    """A crossing's real-time span in the output video."""

    title: str
    crossing: int  # the crossing's id
    start_out_s: float
    end_out_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "crossing": self.crossing,
            "start_out_s": self.start_out_s,
            "end_out_s": self.end_out_s,
        }


@dataclass
class TimeMap:
    """The whole map. ``frames`` must not be changed after the first query (the start
    times are cached for bisection)."""

    out_fps: float
    frames: list[FrameEntry]
    chapters: list[Chapter] = field(default_factory=list)
    sources: list[SourceEntry] = field(default_factory=list)
    scan_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    version: int = VERSION
    _starts: list[float] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def frames_out(self) -> int:
        return len(self.frames)

    @property
    def duration_out_s(self) -> float:
        return len(self.frames) / self.out_fps

    # --- JSON -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The JSON object of docs/timelapse.md (plus ``notes``)."""
        return {
            "version": self.version,
            "scan_dir": self.scan_dir,
            "sources": [s.to_json() for s in self.sources],
            "out_fps": self.out_fps,
            "frames_out": self.frames_out,
            "duration_out_s": self.duration_out_s,
            "frames": [f.to_json() for f in self.frames],
            "chapters": [c.to_json() for c in self.chapters],
            "notes": list(self.notes),
        }

    def save(self, path: str | Path) -> None:
        """Write atomically (a temporary file renamed: never half-written)."""
        p = Path(path)
        try:
            write_json_atomic(p, self.to_json())
        except OSError as exc:
            raise OutputError(f"cannot write time map {p}: {exc.strerror or exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> TimeMap:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TimeMapError(f"{p}: no such time map") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TimeMapError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TimeMapError(f"{p}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        return cls.from_json(obj, where=str(p))

    @classmethod
    def from_json(cls, obj: Any, *, where: str = "time map") -> TimeMap:
        """Validate and build; errors name ``where`` and the field (``frames[12].end_s``)."""
        if not isinstance(obj, dict):
            raise TimeMapError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        version = _int(obj, "version", where)
        if version != VERSION:
            raise TimeMapError(f"{where}: version {version} is not supported (this borderwatch reads {VERSION})")
        out_fps = _num(obj, "out_fps", where)
        if out_fps <= 0:
            raise TimeMapError(f"{where}: 'out_fps' must be > 0, got {out_fps:g}")
        scan_dir = _opt_str(obj, "scan_dir", where)
        sources = [_source(s, f"{where}: sources[{k}]") for k, s in enumerate(_list(obj, "sources", where))]
        for k, s in enumerate(sources):
            if s.index != k:
                raise TimeMapError(f"{where}: sources[{k}].index: expected {k}, got {s.index}")
        raw_frames = _list(obj, "frames", where)
        frames: list[FrameEntry] = []
        prev: FrameEntry | None = None
        for k, fr in enumerate(raw_frames):
            f = _frame(fr, f"{where}: frames[{k}]")
            w = f"{where}: frames[{k}]"
            if f.i != k:
                raise TimeMapError(f"{w}.i: expected {k} (frames in order from 0), got {f.i}")
            if sources and not 0 <= f.source < len(sources):
                raise TimeMapError(f"{w}.source: {f.source} is not a source index (0..{len(sources) - 1})")
            if prev is not None and f.start_s < prev.end_s - _CONTIGUOUS_TOL:
                raise TimeMapError(
                    f"{w}.start_s: {f.start_s!r} is before the previous frame's end_s {prev.end_s!r} "
                    "(frames are consecutive source windows, in order, not overlapping)"
                )
            frames.append(f)
            prev = f
        n = _int(obj, "frames_out", where)
        if n != len(frames):
            raise TimeMapError(f"{where}: 'frames_out' is {n} but 'frames' lists {len(frames)}")
        dur = _num(obj, "duration_out_s", where)
        if abs(dur - n / out_fps) > 1.0 / out_fps:
            raise TimeMapError(f"{where}: 'duration_out_s' {dur:g} does not match {n} frames at {out_fps:g} fps")
        chapters = [_chapter(c, f"{where}: chapters[{k}]", dur) for k, c in enumerate(_list(obj, "chapters", where))]
        notes_raw = obj.get("notes", [])
        if not isinstance(notes_raw, list) or not all(isinstance(x, str) for x in notes_raw):
            raise TimeMapError(f"{where}: 'notes' must be a list of strings")
        return cls(
            out_fps=out_fps,
            frames=frames,
            chapters=chapters,
            sources=sources,
            scan_dir=scan_dir,
            notes=list(notes_raw),
            version=version,
        )

    # --- queries ----------------------------------------------------------------------

    def _start_times(self) -> list[float]:
        if self._starts is None or len(self._starts) != len(self.frames):
            self._starts = [f.start_s for f in self.frames]
        return self._starts

    def _frame_at(self, t: float) -> int | None:
        starts = self._start_times()
        k = bisect_right(starts, t) - 1
        if k < 0 or not t < self.frames[k].end_s:
            return None
        return k

    def frames_showing(self, t: float) -> list[int]:
        """Output frames whose source window contains source time ``t`` (windows are
        half-open, so the timeline's end is in none). Today at most one; a list so a
        map that shows an instant twice (a replay) needs no new API."""
        k = self._frame_at(t)
        return [] if k is None else [self.frames[k].i]

    def speed_at(self, t: float) -> float | None:
        """Speed of the frame showing source time ``t``; ``None`` outside the timeline."""
        k = self._frame_at(t)
        return None if k is None else self.frames[k].speed

    def is_real_time(self, t: float) -> bool:
        k = self._frame_at(t)
        return k is not None and self.frames[k].real_time

    def output_time(self, t: float) -> float | None:
        """Output seconds at which source time ``t`` passes (interpolated within its frame)."""
        k = self._frame_at(t)
        if k is None:
            return None
        f = self.frames[k]
        return (k + (t - f.start_s) / (f.end_s - f.start_s)) / self.out_fps


# --- chapters -------------------------------------------------------------------------


def output_time(
    windows: Sequence[_Span], t: float, out_fps: float, *, starts: Sequence[float] | None = None
) -> float | None:
    """Output seconds at which source time ``t`` passes, given a plan's windows
    (``windows[k]`` is output frame ``k``); ``None`` outside them."""
    st = starts if starts is not None else [w.start_s for w in windows]
    k = bisect_right(st, t) - 1
    if k < 0 or not t < windows[k].end_s:
        return None
    w = windows[k]
    return (k + (t - w.start_s) / (w.end_s - w.start_s)) / out_fps


def _get(c: Any, name: str, default: Any = None) -> Any:
    if isinstance(c, Mapping):
        return c.get(name, default)
    return getattr(c, name, default)


def _clock(seconds: float) -> str:
    ds = round(max(0.0, seconds) * 10)  # tenths, so 59.96 s is 0:01:00.0, not 0:00:60.0
    h, rem = divmod(ds, 36000)
    m, d = divmod(rem, 600)
    return f"{h}:{m:02d}:{d // 10:02d}.{d % 10}"


def chapter_title(crossing: Any) -> str:
    """``"#3 border A->B 12:00:03"``: id, line, direction and the wall-clock time of day
    when the scan knew it, else ``t=H:MM:SS.s`` of source time. ``crossing`` is a
    crossings.jsonl record (a dict) or a :class:`~borderwatch.records.Crossing`."""
    cid = _get(crossing, "id")
    line = _get(crossing, "line") or "line"
    a, b = _get(crossing, "from_side"), _get(crossing, "to_side")
    direction = f"{a}->{b}" if a is not None and b is not None else (_get(crossing, "direction") or "")
    when = None
    wall = _get(crossing, "wallclock")
    if isinstance(wall, str):
        try:
            when = datetime.fromisoformat(wall).strftime("%H:%M:%S")
        except ValueError:
            when = None
    if when is None:
        t = _get(crossing, "time_s")
        when = f"t={_clock(float(t))}" if isinstance(t, (int, float)) else "t=?"
    parts = [f"#{cid}" if cid is not None else "#?", str(line), direction, when]
    return " ".join(p for p in parts if p)


def chapters_for(
    crossings: Iterable[Any],
    windows: Sequence[_Span],
    label_fn: Callable[[Any], str] | None = None,
    *,
    out_fps: float,
    pre_s: float = 3.0,
    post_s: float = 3.0,
) -> list[Chapter]:
    """One chapter per crossing inside the windows: from the first output frame showing
    ``time_s - pre_s`` to the end of the last one showing ``time_s + post_s`` (both
    clipped to the timeline) -- the crossing's real-time span when the windows come
    from :func:`~borderwatch.timelapse.schedule.plan` with the same ``pre_s``/``post_s``.

    ``crossings`` are crossings.jsonl records (dicts) or ``Crossing`` objects (``id``
    and ``time_s`` are used; an id missing counts from 1 in order). ``label_fn`` makes
    the title (default :func:`chapter_title`). Sorted by start; chapters of crossings
    close together overlap (MP4 chapters only have starts: end one where the next
    begins when writing them).
    """
    if not windows:
        return []
    fn = label_fn or chapter_title
    starts = [w.start_s for w in windows]
    t0, t1 = windows[0].start_s, windows[-1].end_s
    out: list[Chapter] = []
    for n, c in enumerate(crossings, start=1):
        t = _get(c, "time_s")
        if not isinstance(t, (int, float)) or not t0 <= t < t1:
            continue
        a = max(t0, float(t) - pre_s)
        b = float(t) + post_s
        k0 = bisect_right(starts, a) - 1
        k1 = len(windows) - 1 if b >= t1 else bisect_right(starts, b) - 1
        cid = _get(c, "id")
        out.append(Chapter(fn(c), int(cid) if cid is not None else n, k0 / out_fps, (k1 + 1) / out_fps))
    out.sort(key=lambda ch: (ch.start_out_s, ch.crossing))
    return out


# --- validation helpers ---------------------------------------------------------------


def _at(where: str, key: str) -> str:
    """``"f.json: frames[3]"`` + ``"end_s"`` -> ``"f.json: frames[3].end_s"``;
    at the top level (``"f.json"``) -> ``"f.json: end_s"``."""
    return f"{where}.{key}" if ": " in where else f"{where}: {key}"


def _missing(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise TimeMapError(f"{_at(where, key)}: missing")
    return obj[key]


def _num(obj: dict[str, Any], key: str, where: str) -> float:
    v = _missing(obj, key, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise TimeMapError(f"{_at(where, key)}: must be a finite number, got {v!r}")
    return float(v)


def _opt_num(obj: dict[str, Any], key: str, where: str) -> float | None:
    return None if obj.get(key) is None else _num(obj, key, where)


def _int(obj: dict[str, Any], key: str, where: str) -> int:
    v = _missing(obj, key, where)
    if isinstance(v, bool) or not isinstance(v, int):
        raise TimeMapError(f"{_at(where, key)}: must be an integer, got {v!r}")
    return v


def _opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    return None if obj.get(key) is None else _int(obj, key, where)


def _opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    v = obj.get(key)
    if v is not None and not isinstance(v, str):
        raise TimeMapError(f"{_at(where, key)}: must be a string, got {v!r}")
    return v


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    v = _missing(obj, key, where)
    if not isinstance(v, list):
        raise TimeMapError(f"{_at(where, key)}: must be a list, got {type(v).__name__}")
    return v


def _obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise TimeMapError(f"{where}: expected an object, got {v!r}")
    return v


def _source(v: Any, where: str) -> SourceEntry:
    o = _obj(v, where)
    path = _opt_str(o, "path", where)
    if path is None:
        raise TimeMapError(f"{where}: missing 'path'")
    tb = _opt_str(o, "time_base", where)
    if tb is not None:
        try:
            if Fraction(tb) <= 0:
                raise ValueError
        except (ValueError, ZeroDivisionError):
            raise TimeMapError(
                f"{_at(where, 'time_base')}: expected a positive fraction like '1/12800', got {tb!r}"
            ) from None
    return SourceEntry(_int(o, "index", where), path, _opt_str(o, "sha256", where), tb)


def _frame(v: Any, where: str) -> FrameEntry:
    o = _obj(v, where)
    start, end = _num(o, "start_s", where), _num(o, "end_s", where)
    if not end > start:
        raise TimeMapError(f"{where}.end_s: {end!r} is not after start_s {start!r}")
    first, last = _opt_int(o, "first_pts", where), _opt_int(o, "last_pts", where)
    if first is not None and last is not None and last < first:
        raise TimeMapError(f"{where}.last_pts: {last} is before first_pts {first}")
    frames_in = _int(o, "frames_in", where)
    if frames_in < 0:
        raise TimeMapError(f"{where}.frames_in: must be >= 0, got {frames_in}")
    speed = _num(o, "speed", where)
    if speed <= 0:
        raise TimeMapError(f"{where}.speed: must be > 0, got {speed:g}")
    rt = _missing(o, "real_time", where)
    if not isinstance(rt, bool):
        raise TimeMapError(f"{where}.real_time: must be true or false, got {rt!r}")
    return FrameEntry(
        _int(o, "i", where),
        _int(o, "source", where),
        start,
        end,
        first,
        last,
        _opt_int(o, "shown_pts", where),
        _opt_num(o, "shown_s", where),
        frames_in,
        speed,
        rt,
    )


def _chapter(v: Any, where: str, duration_out_s: float) -> Chapter:
    o = _obj(v, where)
    title = _opt_str(o, "title", where)
    if title is None:
        raise TimeMapError(f"{where}: missing 'title'")
    a, b = _num(o, "start_out_s", where), _num(o, "end_out_s", where)
    if a < 0 or b < a:
        raise TimeMapError(f"{where}: start_out_s {a:g} / end_out_s {b:g} is not a span of the video")
    if b > duration_out_s + 1e-6:
        raise TimeMapError(f"{where}.end_out_s: {b:g} is past the video's end ({duration_out_s:g} s)")
    return Chapter(title, _int(o, "crossing", where), a, b)
