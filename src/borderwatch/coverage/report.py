"""Read a scan output folder's coverage and say what it does and does not show.

Pure functions (no printing):

* :func:`load_account` — scan folder (``summary.json`` with its ``coverage`` block,
  ``coverage.jsonl``, ``crossings.jsonl``) → :class:`CoverageAccount`;
* :func:`statements` — account → one :class:`Statement` per line: an absence statement
  scoped to the observable time, or the crossings with their impaired flags;
* :func:`render_text` / :func:`text_lines` — account → readable plain text;
* :func:`to_dict` — account → the machine-readable form (``--json``);
* :func:`render_png` — account → timeline PNG (matplotlib, imported only here).

The rules that keep the statements honest:

* absence is only ever claimed over *observable* time: impaired time (any cause) and
  time with no record at all (gaps between buckets, undecodable spans not already
  counted as impaired) are subtracted and named;
* observable time is rounded down and impaired time up when written out;
* a scan whose status is not ``complete`` says so in every statement;
* a scan without coverage data (made before coverage was measured) gets no absence
  statement at all, only "coverage is unknown".

Wall-clock: ``summary.source.wallclock_start`` is the wall-clock of source time 0; when
buckets of ``coverage.jsonl`` carry ``wallclock_start``, the bucket containing an
instant is used instead (a folder of segments may jump in wall-clock between files).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import BorderwatchError, ConfigError, OutputError
from . import intervals as iv

# The cause vocabulary of docs/coverage.md, in the order used for display.
CAUSES = ("lost", "signal_loss", "blackout", "glare", "frozen", "defocus", "moved", "light_change", "low_light")
NO_SIGNAL = frozenset({"lost", "signal_loss"})  # drawn as "no signal"
CAUSE_COLOURS = {
    "lost": "#4a4a4a",
    "signal_loss": "#6e6e6e",
    "blackout": "#6a1b9a",
    "glare": "#fdd835",
    "frozen": "#29b6f6",
    "defocus": "#a1887f",
    "moved": "#e53935",
    "light_change": "#fb8c00",
    "low_light": "#283593",
}
OBSERVABLE_COLOUR = "#43a047"
UNKNOWN_CAUSE_COLOUR = "#f06292"
UNOBSERVED_COLOUR = "#e0e0e0"

# Intervals and crossings listed in the text account (all of them are in --json).
LIST_AT_MOST = 50
# Below this many crossings the timeline writes each one's direction beside it.
LABEL_CROSSINGS_AT_MOST = 20
# Up to this many, each crossing also gets a tick down to the band (more would be a wall).
TICK_CROSSINGS_AT_MOST = 200
_EPS = 1e-6


class ScanDirError(BorderwatchError, ValueError):
    """The scan output folder is missing, incomplete or has a malformed file."""


# --- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CauseInterval:
    """A span of source time and why it was not observable."""

    cause: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class LineView:
    name: str
    sides: tuple[str, str] | None  # None when summary.json does not list the line


@dataclass(frozen=True)
class CrossingView:
    """A crossing record as the report needs it."""

    id: int | str
    line: str
    time_s: float
    from_side: str
    to_side: str
    label: str
    inferred: bool
    wallclock: datetime | None
    impaired_causes: tuple[str, ...] = ()  # causes of impaired intervals containing time_s
    unobserved: str | None = None  # "undecodable" / "no_record" when time_s lies in unrecorded time

    @property
    def direction(self) -> str:
        return f"{self.from_side}->{self.to_side}"

    @property
    def impaired(self) -> bool:
        return bool(self.impaired_causes) or self.unobserved is not None


@dataclass
class CoverageAccount:
    """Everything the report says about one scan, read from its output folder."""

    scan_dir: Path
    status: str  # summary.json "status": complete / partial / interrupted / failed / running
    source_path: str | None
    software_version: str | None  # borderwatch version that made the scan
    wallclock_start: datetime | None  # wall-clock of source time 0
    coverage_from: str | None  # "summary.json", "coverage.jsonl" (rebuilt) or None (unknown)
    start_s: float | None  # the span the scan covered, source seconds
    end_s: float | None
    expected_duration_s: float | None  # the source's own duration, when known
    bucket_s: float | None
    buckets: int
    observable_s: float | None
    impaired_s: float | None  # union of impaired intervals (overlapping causes count once)
    impaired_by_cause_s: dict[str, float]
    impaired_intervals: list[CauseInterval]  # merged per cause, sorted by start
    unobserved_intervals: list[CauseInterval]  # inside the span, no record and not impaired
    undecodable_s: float
    lines: list[LineView]
    crossings: list[CrossingView]
    notes: list[str] = field(default_factory=list)
    # (source seconds, wall-clock) at bucket starts, sorted: wall-clock by bucket.
    anchors: list[tuple[float, datetime]] = field(default_factory=list, repr=False)

    @property
    def coverage_known(self) -> bool:
        return self.coverage_from is not None

    @property
    def source_name(self) -> str:
        return Path(self.source_path).name if self.source_path else self.scan_dir.name

    @property
    def span_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return max(0.0, self.end_s - self.start_s)

    @property
    def unobserved_s(self) -> float:
        return math.fsum(u.duration_s for u in self.unobserved_intervals)

    @property
    def observable_share(self) -> float | None:
        span = self.span_s
        if self.observable_s is None or not span:
            return None
        return self.observable_s / span

    @property
    def unscanned(self) -> CauseInterval | None:
        """The end of the source the scan never reached (interrupted, crashed)."""
        if self.end_s is None or self.expected_duration_s is None:
            return None
        if self.expected_duration_s - self.end_s <= max(1.0, self.bucket_s or 0.0):
            return None
        return CauseInterval("unscanned", self.end_s, self.expected_duration_s)

    @property
    def has_wallclock(self) -> bool:
        return bool(self.anchors) or self.wallclock_start is not None

    def wallclock_at(self, t: float) -> datetime | None:
        """Wall-clock of source time ``t``, or None when the source gives none."""
        if self.anchors:
            i = max(0, bisect_right(self.anchors, t, key=lambda a: a[0]) - 1)
            s0, w0 = self.anchors[i]
            return w0 + timedelta(seconds=t - s0)
        if self.wallclock_start is not None:
            return self.wallclock_start + timedelta(seconds=t)
        return None

    def line_names(self) -> list[str]:
        return [ln.name for ln in self.lines]

    def for_line(self, name: str) -> CoverageAccount:
        """The same account restricted to one line's crossings and statement."""
        if name not in self.line_names():
            known = ", ".join(self.line_names()) or "none known"
            raise ConfigError(f"no line {name!r} in scan {self.scan_dir} (lines: {known})")
        return replace(
            self,
            lines=[ln for ln in self.lines if ln.name == name],
            crossings=[c for c in self.crossings if c.line == name],
        )


@dataclass(frozen=True)
class Statement:
    """What can be said about one line (``line`` None: no line is known)."""

    line: str | None
    kind: str  # "absence" | "crossings" | "no_observable_time" | "coverage_unknown"
    text: str  # the full statement, caveats included
    crossings: int
    in_impaired: int  # crossings that fell in impaired or unrecorded time
    caveats: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "kind": self.kind,
            "text": self.text,
            "crossings": self.crossings,
            "in_impaired": self.in_impaired,
            "caveats": list(self.caveats),
        }


# --- reading the folder ----------------------------------------------------------------


@dataclass(frozen=True)
class _Bucket:
    start_s: float
    end_s: float
    observable_s: float | None
    impaired: dict[str, float]
    wallclock: datetime | None


def _num(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> float | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise ScanDirError(f"{where}: missing {key!r}")
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ScanDirError(f"{where}: {key!r} must be a finite number, got {v!r}")
    return float(v)


def _req(obj: dict[str, Any], key: str, where: str) -> float:
    v = _num(obj, key, where)
    assert v is not None
    return v


def _str(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    v = obj.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str):
        raise ScanDirError(f"{where}: {key!r} must be a string, got {v!r}")
    return v


def _when(obj: dict[str, Any], key: str, where: str) -> datetime | None:
    v = _str(obj, key, where, required=False)
    if v is None:
        return None
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        raise ScanDirError(f"{where}: {key!r} is not an ISO 8601 time: {v!r}") from None


def _cause_seconds(v: Any, where: str) -> dict[str, float]:
    if not isinstance(v, dict):
        raise ScanDirError(f"{where}: expected an object of seconds by cause, got {v!r}")
    out: dict[str, float] = {}
    for cause, sec in v.items():
        out[str(cause)] = float(_req({"s": sec}, "s", f"{where}.{cause}"))
    return out


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanDirError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanDirError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def read_jsonl(path: Path, tolerate_torn_tail: bool) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """(line number, object) pairs; a torn last line (a crash mid-write, no final newline)
    is dropped when ``tolerate_torn_tail``, and the flag returned says so."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanDirError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    rows = text.split("\n")
    last = max((i for i, r in enumerate(rows) if r.strip()), default=-1)
    out: list[tuple[int, dict[str, Any]]] = []
    for i, row in enumerate(rows):
        if not row.strip():
            continue  # blank lines (a trailing one) are not errors
        n = i + 1
        try:
            obj = json.loads(row)
        except json.JSONDecodeError as exc:
            if tolerate_torn_tail and i == last and not text.endswith("\n"):
                return out, True
            raise ScanDirError(f"{path}:{n}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise ScanDirError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        out.append((n, obj))
    return out, False


def _buckets(path: Path, tolerate: bool, notes: list[str]) -> list[_Bucket] | None:
    if not path.exists():
        return None
    rows, torn = read_jsonl(path, tolerate)
    if torn:
        notes.append(f"{path.name}: the last line was cut off (the scan stopped while writing it) and is ignored.")
    out: list[_Bucket] = []
    for n, obj in rows:
        where = f"{path}:{n}"
        s, e = _req(obj, "start_s", where), _req(obj, "end_s", where)
        if e < s:
            raise ScanDirError(f"{where}: end_s {e} is before start_s {s}")
        imp = obj.get("impaired_s")
        out.append(
            _Bucket(s, e, _num(obj, "observable_s", where, required=False),
                    {} if imp is None else _cause_seconds(imp, f"{where}: impaired_s"),
                    _when(obj, "wallclock_start", where))
        )  # fmt: skip
    out.sort(key=lambda b: (b.start_s, b.end_s))
    return out


def _crossings(path: Path, tolerate: bool, notes: list[str]) -> list[tuple[CrossingView, int]]:
    if not path.exists():
        raise ScanDirError(f"{path}: missing (every scan writes crossings.jsonl, even when empty)")
    rows, torn = read_jsonl(path, tolerate)
    if torn:
        notes.append(f"{path.name}: the last line was cut off (the scan stopped while writing it) and is ignored.")
    out = []
    for n, obj in rows:
        where = f"{path}:{n}"
        label = obj.get("label", "unknown")
        cid = obj.get("id", n)
        out.append(
            (CrossingView(
                id=cid if isinstance(cid, (int, str)) and not isinstance(cid, bool) else n,
                line=str(_str(obj, "line", where)),
                time_s=_req(obj, "time_s", where),
                from_side=str(_str(obj, "from_side", where)),
                to_side=str(_str(obj, "to_side", where)),
                label=label if isinstance(label, str) else str(label),
                inferred=bool(obj.get("inferred", False)),
                wallclock=_when(obj, "wallclock", where),
            ), n)
        )  # fmt: skip
    return out


def _objects(parent: dict[str, Any], key: str, where: str, sep: str = ": ") -> Iterator[tuple[str, dict[str, Any]]]:
    """``parent[key]`` as a list of objects (absent: none), each with its place for errors
    (``where`` + ``sep`` + ``key[i]``)."""
    raw = parent.get(key) or []
    if not isinstance(raw, list):
        raise ScanDirError(f"{where}{sep}{key}: expected a list, got {type(raw).__name__}")
    for i, obj in enumerate(raw):
        w = f"{where}{sep}{key}[{i}]"
        if not isinstance(obj, dict):
            raise ScanDirError(f"{w}: expected an object, got {obj!r}")
        yield w, obj


def _intervals_from_summary(cov: dict[str, Any], where: str) -> list[CauseInterval]:
    out = []
    for w, obj in _objects(cov, "impaired_intervals", where, sep="."):
        cause = str(_str(obj, "cause", w))
        s, e = _req(obj, "start_s", w), _req(obj, "end_s", w)
        if e < s:
            raise ScanDirError(f"{w}: end_s {e} is before start_s {s}")
        out.append(CauseInterval(cause, s, e))
    return out


def _merged_per_cause(raw: Iterable[CauseInterval]) -> list[CauseInterval]:
    by: dict[str, list[tuple[float, float]]] = {}
    for r in raw:
        by.setdefault(r.cause, []).append((r.start_s, r.end_s))
    out = [CauseInterval(c, s, e) for c, spans in by.items() for s, e in iv.merge(spans)]
    return sorted(out, key=lambda r: (r.start_s, r.end_s, _cause_rank(r.cause)))


def _cause_rank(cause: str) -> tuple[int, str]:
    return (CAUSES.index(cause), "") if cause in CAUSES else (len(CAUSES), cause)


def _undecodable(summary: dict[str, Any], where: str) -> list[tuple[float, float]]:
    out = []
    for w, g in _objects(summary, "undecodable", where):
        s, e = _req(g, "start_s", w), _req(g, "end_s", w)
        if e > s:
            out.append((s, e))
    return out


def _lines(summary: dict[str, Any], where: str) -> list[LineView]:
    out = []
    for w, ln in _objects(summary, "lines", where):
        sides = ln.get("sides")
        pair = None
        if isinstance(sides, list) and len(sides) == 2 and all(isinstance(s, str) for s in sides):
            pair = (str(sides[0]), str(sides[1]))
        out.append(LineView(str(_str(ln, "name", w)), pair))
    return out


_STATUS_NOTES = {
    "running": "summary.json says the scan is still running, or it stopped without finishing (a crash): "
    "the records may be incomplete.",
    "failed": "The scan failed before finishing: the records may be incomplete.",
}


def load_account(scan_dir: str | Path) -> CoverageAccount:
    """Read a scan output folder. Raises :class:`ScanDirError` (one line, naming the
    file and line) for a missing folder, a missing ``summary.json`` or
    ``crossings.jsonl``, or a malformed record."""
    d = Path(scan_dir)
    if not d.exists():
        raise ScanDirError(f"{d}: no such scan output directory")
    if not d.is_dir():
        raise ScanDirError(f"{d}: not a directory (give the scan output folder)")
    sp = d / "summary.json"
    if not sp.exists():
        raise ScanDirError(f"{d}: no summary.json (is this a scan output folder?)")
    summary = _read_json(sp)
    if not isinstance(summary, dict):
        raise ScanDirError(f"{sp}: expected a JSON object, got {type(summary).__name__}")
    status = summary.get("status")
    if not isinstance(status, str):
        raise ScanDirError(f"{sp}: missing 'status'")
    notes: list[str] = []
    # Only a scan that stopped abruptly can leave half a line behind.
    torn_ok = status in ("running", "failed")

    source: dict[str, Any] = summary["source"] if isinstance(summary.get("source"), dict) else {}
    software: dict[str, Any] = summary["software"] if isinstance(summary.get("software"), dict) else {}
    version = software.get("version")
    wall0 = _when(source, "wallclock_start", f"{sp}: source")
    expected = _num(source, "expected_duration_s", f"{sp}: source", required=False)
    undecodable = _undecodable(summary, str(sp))
    lines = _lines(summary, str(sp))

    cov = summary.get("coverage")
    if cov is not None and not isinstance(cov, dict):
        raise ScanDirError(f"{sp}: 'coverage' must be an object, got {type(cov).__name__}")
    buckets = _buckets(d / "coverage.jsonl", torn_ok, notes)
    raw_crossings = _crossings(d / "crossings.jsonl", torn_ok, notes)

    anchors = sorted(((b.start_s, b.wallclock) for b in buckets or [] if b.wallclock is not None), key=lambda a: a[0])
    start_s: float | None
    end_s: float | None
    observable: float | None = None
    impaired: float | None = None
    by_cause: dict[str, float] = {}
    intervals: list[CauseInterval] = []
    unobserved: list[tuple[float, float]] = []
    bucket_s: float | None = None
    coverage_from: str | None
    if buckets:
        start_s, end_s = buckets[0].start_s, max(b.end_s for b in buckets)
        bucket_s = buckets[0].end_s - buckets[0].start_s
        gaps = [(a.end_s, b.start_s) for a, b in itertools.pairwise(buckets) if b.start_s > a.end_s + _EPS]
    else:
        gaps = []

    if cov is not None:
        coverage_from = "summary.json"
        w = f"{sp}: coverage"
        bucket_s = _num(cov, "bucket_s", w, required=False) or bucket_s
        if not buckets:
            start_s, end_s = 0.0, _req(cov, "duration_s", w)
        intervals = _merged_per_cause(_intervals_from_summary(cov, w))
        impaired_union = iv.merge((r.start_s, r.end_s) for r in intervals)
        by_cause_raw = cov.get("impaired_by_cause_s")
        if by_cause_raw is None:
            by_cause = {c: iv.union_length((r.start_s, r.end_s) for r in intervals if r.cause == c)
                        for c in {r.cause for r in intervals}}  # fmt: skip
        else:
            by_cause = _cause_seconds(by_cause_raw, f"{w}.impaired_by_cause_s")
        impaired = _num(cov, "impaired_s", w, required=False)
        if impaired is None:
            impaired = iv.union_length(impaired_union)
        assert start_s is not None and end_s is not None
        unobserved = iv.clip(iv.difference(gaps + undecodable, impaired_union), start_s, end_s)
        # Observable time can never exceed the span less everything impaired or unrecorded.
        bound = (end_s - start_s) - iv.union_length(iv.clip(impaired_union + unobserved, start_s, end_s))
        reported = _num(cov, "observable_s", w, required=False)
        observable = bound if reported is None else min(reported, bound)
        if reported is not None and abs(reported - bound) > max(0.5, 1e-3 * (end_s - start_s)):
            notes.append(
                f"summary.json coverage.observable_s ({reported:.1f} s) disagrees with its intervals "
                f"({bound:.1f} s); the smaller is used."
            )
    elif buckets:
        coverage_from = "coverage.jsonl"
        assert start_s is not None and end_s is not None
        notes.append(
            f"summary.json has no coverage block (status {status!r}); coverage was rebuilt from the "
            f"{len(buckets)} buckets of coverage.jsonl, so impaired intervals are located only to the "
            "bucket (whole buckets are shown)."
        )
        per_cause: dict[str, list[tuple[float, float]]] = {}
        obs_sum = imp_sum = 0.0
        for b in buckets:
            length = b.end_s - b.start_s
            for c, sec in b.impaired.items():
                if sec > 0:
                    by_cause[c] = by_cause.get(c, 0.0) + sec
                    per_cause.setdefault(c, []).append((b.start_s, b.end_s))
            # Without observable_s, assume the causes did not overlap (the least observable case).
            o = b.observable_s if b.observable_s is not None else max(0.0, length - sum(b.impaired.values()))
            o = min(max(o, 0.0), length)
            obs_sum += o
            imp_sum += length - o
        intervals = _merged_per_cause(CauseInterval(c, s, e) for c, spans in per_cause.items() for s, e in spans)
        impaired_union = iv.merge((r.start_s, r.end_s) for r in intervals)
        unobserved = iv.clip(iv.difference(gaps + undecodable, impaired_union), start_s, end_s)
        extra = iv.union_length(iv.difference(undecodable, impaired_union + gaps))
        observable, impaired = max(0.0, obs_sum - extra), imp_sum
    else:
        coverage_from = None
        dur = summary.get("duration_s")
        start_s, end_s = (
            (0.0, float(dur)) if isinstance(dur, (int, float)) and not isinstance(dur, bool) else (None, None)
        )
        why = 'summary.json has no "coverage" block and there is no coverage.jsonl'
        if (d / "coverage.jsonl").exists():
            why = 'summary.json has no "coverage" block and coverage.jsonl is empty'
        made = f" (scanned by borderwatch {version})" if version else ""
        notes.append(f"Coverage is unknown: {why}{made}; no statement of absence can be made.")

    # Crossings: which fell in impaired or unrecorded time.
    merged_by_cause: dict[str, list[tuple[float, float]]] = {}
    for r in intervals:
        merged_by_cause.setdefault(r.cause, []).append((r.start_s, r.end_s))
    unobserved_views = [
        CauseInterval("undecodable" if iv.intersection_length([u], undecodable) > 0 else "no_record", *u)
        for u in unobserved
    ]
    crossings = []
    for cv, _n in raw_crossings:
        t = cv.time_s
        causes = tuple(sorted((k for k, spans in merged_by_cause.items() if iv.contains(spans, t)), key=_cause_rank))
        gap = next((u.cause for u in unobserved_views if u.start_s <= t <= u.end_s), None)
        crossings.append(replace(cv, impaired_causes=causes, unobserved=gap))
    crossings.sort(key=lambda x: (x.time_s, str(x.id)))

    known = {ln.name for ln in lines}
    for name in sorted({x.line for x in crossings} - known):
        if lines:
            notes.append(f"crossings.jsonl names line {name!r}, which summary.json does not list.")
        lines.append(LineView(name, None))

    account = CoverageAccount(
        scan_dir=d,
        status=status,
        source_path=source.get("path") if isinstance(source.get("path"), str) else None,
        software_version=version if isinstance(version, str) else None,
        wallclock_start=wall0,
        coverage_from=coverage_from,
        start_s=start_s,
        end_s=end_s,
        expected_duration_s=expected,
        bucket_s=bucket_s,
        buckets=len(buckets or []),
        observable_s=observable,
        impaired_s=impaired,
        impaired_by_cause_s=dict(sorted(by_cause.items(), key=lambda kv: (-kv[1], _cause_rank(kv[0])))),
        impaired_intervals=intervals,
        unobserved_intervals=unobserved_views,
        undecodable_s=iv.union_length(undecodable),
        lines=lines,
        crossings=crossings,
        anchors=anchors,
    )
    account.notes = _status_notes(account) + notes
    return account


def _status_notes(a: CoverageAccount) -> list[str]:
    out = []
    if a.status == "partial":
        what = f"{fmt_duration(a.undecodable_s, 'up')} of the source" if a.undecodable_s else "part of the source"
        out.append(
            f"The scan is partial: {what} could not be decoded; that time is not observable and no "
            "absence is claimed over it."
        )
    elif a.status == "interrupted":
        out.append("The scan was interrupted before the end of the source.")
    elif a.status in _STATUS_NOTES:
        out.append(_STATUS_NOTES[a.status])
    elif a.status != "complete":
        out.append(f"summary.json has an unknown status {a.status!r}: treat the records as incomplete.")
    tail = a.unscanned
    if tail is not None:
        out.append(
            f"The scan stopped at {_at(a, tail.start_s)} but the source runs to {_at(a, tail.end_s)}: nothing is said "
            f"about the last {fmt_duration(tail.duration_s, 'up')}, which was not scanned."
        )
    return out


# --- formatting ------------------------------------------------------------------------


def _rounder(mode: str) -> Any:
    if mode == "down":
        return lambda x: math.floor(x + 1e-6)
    if mode == "up":
        return lambda x: math.ceil(x - 1e-6)
    return lambda x: math.floor(x + 0.5)


def fmt_duration(seconds: float, mode: str = "nearest") -> str:
    """``"2.5 s"``, ``"45 s"``, ``"12 min 30 s"``, ``"3 h 5 min"``; ``mode`` rounds
    ``"down"`` (observable time: never overstated) or ``"up"`` (impaired time)."""
    r = _rounder(mode)
    s = max(0.0, float(seconds))
    if s < 10:
        v = r(s * 10) / 10
        if v < 10:
            return f"{v:g} s"
    if s < 3600:
        v = r(s)
        if v < 60:
            return f"{v} s"
        if v < 3600:
            m, sec = divmod(v, 60)
            return f"{m} min" + (f" {sec} s" if sec else "")
    h, m = divmod(r(s / 60), 60)
    return f"{h} h" + (f" {m} min" if m else "")


def fmt_clock(t: float, digits: int = 0, mode: str = "nearest") -> str:
    """Source time as ``h:mm:ss`` (``digits`` decimals of seconds)."""
    sign = "-" if t < 0 else ""
    scale = 10**digits
    units = _rounder(mode)(abs(t) * scale)
    whole, frac = divmod(units, scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    out = f"{sign}{h}:{m:02d}:{s:02d}"
    return out + (f".{frac:0{digits}d}" if digits else "")


def fmt_wall(dt: datetime, mode: str = "nearest", digits: int = 0) -> str:
    """``2026-01-01 12:00:00+00:00`` (``digits`` decimals of seconds; ``mode`` as fmt_duration)."""
    step = 10 ** (6 - digits)  # microseconds per displayed unit
    units = _rounder(mode)(dt.microsecond / step)
    base = dt.replace(microsecond=0) + timedelta(microseconds=units * step)
    text = base.replace(microsecond=0).isoformat(sep=" ")
    if digits:
        frac = f".{base.microsecond // step:0{digits}d}"
        text = text[:19] + frac + text[19:]
    return text


def _at(a: CoverageAccount, t: float, mode: str = "nearest") -> str:
    """An instant for a sentence: wall-clock when known, else source time."""
    w = a.wallclock_at(t)
    return fmt_wall(w, mode) if w is not None else fmt_clock(t, mode=mode)


def _wall_range(a: CoverageAccount, s: float, e: float) -> str:
    ws, we = a.wallclock_at(s), a.wallclock_at(e)
    if ws is None or we is None:
        return ""
    left, right = fmt_wall(ws, "down"), fmt_wall(we, "up")
    if left[:10] == right[:10] and left[19:] == right[19:]:
        right = right[11:19]  # same day and offset: the time of day says it
    return f"{left} – {right}"


def _cause_name(cause: str) -> str:
    return "no coverage record" if cause == "no_record" else cause.replace("_", " ")


def _impaired_phrase(a: CoverageAccount) -> str:
    imp = a.impaired_s or 0.0
    parts = []
    if imp <= _EPS:
        parts.append("no impaired time")
    else:
        causes = ", ".join(
            f"{_cause_name(c)} {fmt_duration(s, 'up')}" for c, s in a.impaired_by_cause_s.items() if s > 0
        )
        overlap = "; causes overlap" if sum(a.impaired_by_cause_s.values()) > imp + 0.5 else ""
        parts.append(f"impaired: {fmt_duration(imp, 'up')}" + (f" ({causes}{overlap})" if causes else ""))
    if a.unobserved_s > _EPS:
        kinds = sorted({u.cause for u in a.unobserved_intervals})
        why = " / ".join(map(_cause_name, kinds))
        parts.append(f"not observed: {fmt_duration(a.unobserved_s, 'up')} ({why})")
    return "; ".join(parts)


def _scope(a: CoverageAccount) -> str:
    if a.start_s is None or a.end_s is None:
        return "in the part of the source that was scanned"
    if a.has_wallclock:
        return f"between {_at(a, a.start_s, 'down')} and {_at(a, a.end_s, 'up')}"
    return f"between {fmt_clock(a.start_s, mode='down')} and {fmt_clock(a.end_s, mode='up')} of source time"


def _direction_counts(line: LineView, crossings: list[CrossingView]) -> dict[str, int]:
    counts = Counter(c.direction for c in crossings)
    out: dict[str, int] = {}
    if line.sides:
        a, b = line.sides
        out = {f"{a}->{b}": counts.pop(f"{a}->{b}", 0), f"{b}->{a}": counts.pop(f"{b}->{a}", 0)}
    out.update(sorted(counts.items()))
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --- statements ------------------------------------------------------------------------


def statements(account: CoverageAccount) -> list[Statement]:
    """One statement per line of the account (or one for "any line" when none is known)."""
    a = account
    caveats = tuple(n for n in a.notes if not n.startswith("Coverage is unknown"))
    lines: list[LineView | None] = list(a.lines) if a.lines else [None]
    out = []
    for ln in lines:
        mine = [c for c in a.crossings if ln is None or c.line == ln.name]
        name = "any line" if ln is None else f"line {ln.name}"
        n = len(mine)
        hit = [c for c in mine if c.impaired]
        dirs = "" if ln is None else ", ".join(f"{d} {k}" for d, k in _direction_counts(ln, mine).items())
        dirs = f" ({dirs})" if dirs and n else ""
        scope = _scope(a)
        if not a.coverage_known:
            kind = "coverage_unknown"
            made = f"; it was made by borderwatch {a.software_version}" if a.software_version else ""
            why = f"this scan has no coverage data{made}"
            if n:
                text = (f"{_plural(n, 'crossing')} detected on {name} {scope}{dirs}; coverage is unknown ({why}), "
                        "so crossings may have been missed while the camera could not see.")  # fmt: skip
            else:
                text = (f"No crossings detected on {name} {scope}, but coverage is unknown ({why}), "
                        "so no statement of absence can be made.")  # fmt: skip
        else:
            obs = a.observable_s or 0.0
            imp = _impaired_phrase(a)
            if n:
                kind = "crossings"
                text = (f"{_plural(n, 'crossing')} detected on {name} {scope}{dirs}, with {fmt_duration(obs, 'down')} "
                        f"of observable time; {imp}.")  # fmt: skip
                if hit:
                    causes = sorted({x for c in hit for x in c.impaired_causes}, key=_cause_rank)
                    causes += sorted({c.unobserved for c in hit if c.unobserved is not None})
                    text += (f" {len(hit)} of them fell in impaired time ({', '.join(map(_cause_name, causes))}); "
                             "they are still crossings.")  # fmt: skip
                if (a.impaired_s or 0.0) > _EPS or a.unobserved_s > _EPS:
                    text += " Crossings during impaired time may have been missed."
            elif obs <= _EPS:
                kind = "no_observable_time"
                text = (f"No crossings detected on {name} {scope}, but none of that time was observable ({imp}), "
                        f"so this says nothing about crossings on {name}.")  # fmt: skip
            else:
                kind = "absence"
                text = f"No crossings detected on {name} during {fmt_duration(obs, 'down')} of observable time {scope}; {imp}."
        full = " ".join([text, *caveats])
        out.append(Statement(None if ln is None else ln.name, kind, full, n, len(hit), caveats))
    return out


# --- text ------------------------------------------------------------------------------


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    keep = [i for i in range(len(rows[0])) if any(r[i] for r in rows)]  # drop empty columns
    rows = [[r[i] for i in keep] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def text_lines(account: CoverageAccount, stmts: list[Statement] | None = None) -> list[tuple[str, str]]:
    """The account as (style, line) pairs; styles: title, heading, note, statement, ''."""
    a = account
    stmts = statements(a) if stmts is None else stmts
    out: list[tuple[str, str]] = [("title", f"Coverage of scan {a.scan_dir} (status: {a.status})")]
    info: list[list[str]] = []
    src = a.source_name + (f" ({a.source_path})" if a.source_path and a.source_path != a.source_name else "")
    info.append(["source", src])
    if a.software_version:
        info.append(["scanned by", f"borderwatch {a.software_version}"])
    if a.start_s is not None and a.end_s is not None:
        span = a.end_s - a.start_s
        clock = f"{fmt_clock(a.start_s, mode='down')} – {fmt_clock(a.end_s, mode='up')}"
        info.append(["span", f"{clock} source time ({fmt_duration(span)})"])
        wr = _wall_range(a, a.start_s, a.end_s)
        if wr:
            info.append(["", f"{wr} wall-clock"])
    else:
        info.append(["span", "unknown"])
    if a.coverage_known:
        share = a.observable_share
        pct = f" ({math.floor(share * 1000 + 1e-6) / 10:.1f} % of the span)" if share is not None else ""
        info.append(["observable", fmt_duration(a.observable_s or 0.0, "down") + pct])
        info.append(["impaired", _impaired_phrase(a).removeprefix("impaired: ").replace("no impaired time", "none")])
        if a.bucket_s:
            info.append(["buckets", f"{a.buckets} of {a.bucket_s:g} s (coverage from {a.coverage_from})"])
    else:
        info.append(["coverage", "unknown"])
    out += [("", r) for r in _table(info)]

    if a.notes:
        out += [("", ""), ("heading", "Notes")]
        out += [("note", f"  ! {n}") for n in a.notes]

    if a.coverage_known:
        ivs = sorted(a.impaired_intervals + a.unobserved_intervals, key=lambda r: (r.start_s, _cause_rank(r.cause)))
        out += [("", ""), ("heading", f"Impaired intervals (merged per cause): {len(ivs)}")]
        if ivs:
            rows = [["cause", "source time", "wall-clock" if a.has_wallclock else "", "length"]]
            for r in ivs[:LIST_AT_MOST]:
                cause = _cause_name(r.cause) + (" (no signal)" if r.cause in NO_SIGNAL else "")
                rows.append([cause, f"{fmt_clock(r.start_s, mode='down')} – {fmt_clock(r.end_s, mode='up')}",
                             _wall_range(a, r.start_s, r.end_s), fmt_duration(r.duration_s, "up")])  # fmt: skip
            out += [("", r) for r in _table(rows)]
            if len(ivs) > LIST_AT_MOST:
                out.append(("", f"  ... {len(ivs) - LIST_AT_MOST} more (all are in --json)"))
        else:
            out.append(("", "  none"))

    out += [("", ""), ("heading", "Crossings per line")]
    if a.lines:
        rows = []
        for ln in a.lines:
            mine = [c for c in a.crossings if c.line == ln.name]
            dirs = ", ".join(f"{d} {k}" for d, k in _direction_counts(ln, mine).items())
            hit = sum(c.impaired for c in mine)
            rows.append([ln.name, _plural(len(mine), "crossing"), f"({dirs})" if dirs else "",
                         f"{hit} in impaired time" if hit else ""])  # fmt: skip
        out += [("", r) for r in _table(rows)]
    else:
        out.append(("", "  no line is known (summary.json lists none) and there are no crossings"))

    out += [("", ""), ("heading", "Statements")]
    for i, st in enumerate(stmts):
        out += [("", "")] if i else []
        out.append(("statement", f"  {st.text}"))

    for ln in a.lines:
        mine = [c for c in a.crossings if c.line == ln.name]
        if not mine:
            continue
        out += [("", ""), ("heading", f"Crossings on line {ln.name}")]
        rows = [["id", "source time", "wall-clock" if a.has_wallclock else "", "direction", "label", "note"]]
        for c in mine[:LIST_AT_MOST]:
            rows.append(
                [str(c.id), fmt_clock(c.time_s, 2), _crossing_wall(a, c), c.direction, c.label, _crossing_note(c)]
            )
        out += [("", r) for r in _table(rows)]
        if len(mine) > LIST_AT_MOST:
            out.append(("", f"  ... {len(mine) - LIST_AT_MOST} more (all are in --json and crossings.jsonl)"))
    return out


def _crossing_wall(a: CoverageAccount, c: CrossingView) -> str:
    w = c.wallclock or a.wallclock_at(c.time_s)
    return "" if w is None else fmt_wall(w, digits=2)


def _crossing_note(c: CrossingView) -> str:
    notes = []
    if c.impaired_causes:
        notes.append(f"in impaired time ({', '.join(map(_cause_name, c.impaired_causes))})")
    if c.unobserved is not None:
        notes.append(f"in unrecorded time ({_cause_name(c.unobserved)})")
    if c.inferred:
        notes.append("inferred")
    return "; ".join(notes)


def render_text(account: CoverageAccount, stmts: list[Statement] | None = None) -> str:
    """The account as plain text (what is printed when stdout is not a terminal)."""
    return "\n".join(text for _style, text in text_lines(account, stmts)) + "\n"


# --- JSON ------------------------------------------------------------------------------


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _interval_dict(a: CoverageAccount, r: CauseInterval) -> dict[str, Any]:
    return {
        "cause": r.cause,
        "start_s": _r(r.start_s),
        "end_s": _r(r.end_s),
        "duration_s": _r(r.duration_s),
        "start_wallclock": _iso(a.wallclock_at(r.start_s)),
        "end_wallclock": _iso(a.wallclock_at(r.end_s)),
    }


def to_dict(account: CoverageAccount, stmts: list[Statement] | None = None) -> dict[str, Any]:
    """The machine-readable account (what ``--json`` prints)."""
    from .. import __version__

    a = account
    stmts = statements(a) if stmts is None else stmts
    span = None
    if a.start_s is not None and a.end_s is not None:
        span = {
            "start_s": _r(a.start_s),
            "end_s": _r(a.end_s),
            "duration_s": _r(a.end_s - a.start_s),
            "start_wallclock": _iso(a.wallclock_at(a.start_s)),
            "end_wallclock": _iso(a.wallclock_at(a.end_s)),
        }
    tail = a.unscanned
    return {
        "scan_dir": str(a.scan_dir),
        "status": a.status,
        "partial": a.status != "complete",
        "coverage_known": a.coverage_known,
        "coverage_from": a.coverage_from,
        "source": {"path": a.source_path, "name": a.source_name, "wallclock_start": _iso(a.wallclock_start)},
        "software": {"scan": a.software_version, "report": __version__},
        "span": span,
        "expected_duration_s": _r(a.expected_duration_s),
        "unscanned": None if tail is None else _interval_dict(a, tail),
        "bucket_s": _r(a.bucket_s),
        "buckets": a.buckets,
        "observable_s": _r(a.observable_s),
        "observable_share": _r(a.observable_share),
        "impaired_s": _r(a.impaired_s),
        "impaired_by_cause_s": {c: _r(s) for c, s in a.impaired_by_cause_s.items()},
        "unobserved_s": _r(a.unobserved_s),
        "impaired_intervals": [_interval_dict(a, r) for r in a.impaired_intervals],
        "unobserved_intervals": [_interval_dict(a, r) for r in a.unobserved_intervals],
        "lines": [
            {
                "name": ln.name,
                "sides": list(ln.sides) if ln.sides else None,
                "crossings": sum(c.line == ln.name for c in a.crossings),
                "by_direction": _direction_counts(ln, [c for c in a.crossings if c.line == ln.name]),
                "in_impaired": sum(c.line == ln.name and c.impaired for c in a.crossings),
            }
            for ln in a.lines
        ],
        "crossings": [
            {
                "id": c.id,
                "line": c.line,
                "time_s": _r(c.time_s),
                "wallclock": _iso(c.wallclock or a.wallclock_at(c.time_s)),
                "direction": c.direction,
                "label": c.label,
                "inferred": c.inferred,
                "impaired": c.impaired,
                "impaired_causes": list(c.impaired_causes),
                "unobserved": c.unobserved,
            }
            for c in a.crossings
        ],
        "statements": [s.to_dict() for s in stmts],
        "notes": list(a.notes),
    }


# --- timeline PNG ----------------------------------------------------------------------


def _nice_step(span: float, target: int = 10) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200):
        if span / step <= target:
            return float(step)
    return 86400.0 * math.ceil(span / 86400 / target)


def _cause_colour(cause: str) -> str:
    return CAUSE_COLOURS.get(cause, UNKNOWN_CAUSE_COLOUR)


def _cause_legend(cause: str) -> str:
    if cause in NO_SIGNAL:
        return f"no signal ({_cause_name(cause)})"
    return _cause_name(cause)


def _segments(intervals: list[CauseInterval]) -> list[tuple[float, float, list[str]]]:
    """Split the impaired time where the set of active causes changes."""
    events: list[tuple[float, int, str]] = []
    for r in intervals:
        events += [(r.start_s, 1, r.cause), (r.end_s, -1, r.cause)]
    events.sort(key=lambda e: e[0])
    active: Counter[str] = Counter()
    out: list[tuple[float, float, list[str]]] = []
    i = 0
    prev: float | None = None
    while i < len(events):
        t = events[i][0]
        if prev is not None and t > prev:
            live = sorted((c for c, k in active.items() if k > 0), key=_cause_rank)
            if live:
                out.append((prev, t, live))
        while i < len(events) and events[i][0] == t:
            active[events[i][2]] += events[i][1]
            i += 1
        prev = t
    return out


def render_png(account: CoverageAccount, path: str | Path, *, size_px: tuple[int, int] = (1600, 500)) -> Path:
    """Draw the coverage timeline and write it to ``path`` (PNG, ``size_px`` pixels).

    One band: observable (green), impaired coloured by cause (overlapping causes share the
    band's height), no signal (dark grey), no record / not scanned (hatched light grey).
    Above it, one lane per line with a marker per crossing, coloured and shaped by
    direction (hollow when it fell in impaired time). Intervals are drawn merged, so a
    scan of many hours draws as fast as a short one.
    """
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    from .. import __version__

    a = account
    out_path = Path(path)
    dpi = 100
    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.06, 0.17, 0.74, 0.64))

    # The time range: the scanned span, the unscanned tail, and any stray crossing.
    ts = [c.time_s for c in a.crossings]
    start = a.start_s if a.start_s is not None else min(ts, default=0.0)
    end = a.end_s if a.end_s is not None else max(ts, default=start + 1.0)
    tail = a.unscanned
    far = max([end, *(ts or [end])] + ([tail.end_s] if tail else []))
    near = min([start, *(ts or [start])])
    if far <= near:
        far = near + 1.0

    use_wall = a.has_wallclock

    def x(t: float) -> float:
        if use_wall:
            w = a.wallclock_at(t)
            assert w is not None
            return float(mdates.date2num(w))
        return t

    def rect(s: float, e: float, y0: float, y1: float) -> list[tuple[float, float]]:
        x0, x1 = x(s), x(e)
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

    handles: list[Any] = []
    if a.coverage_known:
        ax.add_patch(Rectangle((x(start), 0), x(end) - x(start), 1, facecolor=OBSERVABLE_COLOUR, linewidth=0))
        handles.append(Patch(facecolor=OBSERVABLE_COLOUR, label="observable"))
        verts, colours = [], []
        for s, e, causes in _segments(a.impaired_intervals):
            k = len(causes)
            for j, c in enumerate(causes):
                verts.append(rect(s, e, j / k, (j + 1) / k))
                colours.append(_cause_colour(c))
        if verts:
            # Edges in the face colour keep a 10 s interval visible on a day-long axis.
            ax.add_collection(PolyCollection(verts, facecolors=colours, edgecolors=colours, linewidths=0.6))
        present = sorted({r.cause for r in a.impaired_intervals}, key=_cause_rank)
        for c in present:
            handles.append(Patch(facecolor=_cause_colour(c), label=_cause_legend(c)))
        if a.unobserved_intervals:
            ax.add_collection(PolyCollection(
                [rect(u.start_s, u.end_s, 0, 1) for u in a.unobserved_intervals],
                facecolors=UNOBSERVED_COLOUR, edgecolors="#9e9e9e", linewidths=0.6, hatch="//"))  # fmt: skip
            kinds = " / ".join(sorted({_cause_name(u.cause) for u in a.unobserved_intervals}))
            handles.append(
                Patch(facecolor=UNOBSERVED_COLOUR, edgecolor="#9e9e9e", hatch="//", label=f"not observed: {kinds}")
            )
    else:
        ax.add_patch(Rectangle((x(start), 0), x(end) - x(start), 1, facecolor="#f5f5f5", edgecolor="#9e9e9e",
                               hatch="xx", linewidth=0.6))  # fmt: skip
        handles.append(Patch(facecolor="#f5f5f5", edgecolor="#9e9e9e", hatch="xx", label="coverage unknown"))
    if tail is not None:
        ax.add_patch(Rectangle((x(tail.start_s), 0), x(tail.end_s) - x(tail.start_s), 1, facecolor="white",
                               edgecolor="#bdbdbd", hatch="..", linewidth=0.6))  # fmt: skip
        handles.append(Patch(facecolor="white", edgecolor="#bdbdbd", hatch="..", label="not scanned"))

    # Crossings: one lane per line above the band.
    palette = [("#1565c0", "^"), ("#c62828", "v"), ("#6d4c41", "D"), ("#00838f", "s")]
    lane_y = {ln.name: 1.7 + 0.9 * i for i, ln in enumerate(a.lines)}
    label_each = 0 < len(a.crossings) <= LABEL_CROSSINGS_AT_MOST
    any_hollow = False
    for ln in a.lines:
        mine = [c for c in a.crossings if c.line == ln.name]
        y = lane_y[ln.name]
        for k, (direction, n) in enumerate(_direction_counts(ln, mine).items()):
            colour, marker = palette[min(k, len(palette) - 1)]
            if not n:
                continue
            group = [c for c in mine if c.direction == direction]
            xs = [x(c.time_s) for c in group]
            if len(a.crossings) <= TICK_CROSSINGS_AT_MOST:
                ax.vlines(xs, 1.03, y - 0.18, colors=colour, linewidth=0.8, alpha=0.55)
            solid = [xx for xx, c in zip(xs, group) if not c.impaired]
            hollow = [xx for xx, c in zip(xs, group) if c.impaired]
            if solid:
                ax.scatter(solid, [y] * len(solid), marker=marker, s=46, color=colour, zorder=3)
            if hollow:
                any_hollow = True
                ax.scatter(hollow, [y] * len(hollow), marker=marker, s=46, facecolors="white", edgecolors=colour,
                           linewidths=1.4, zorder=3)  # fmt: skip
            if label_each:
                for xx in xs:
                    ax.annotate(direction, (xx, y), xytext=(0, 8), textcoords="offset points", ha="center",
                                fontsize=7, color=colour)  # fmt: skip
            handles.append(
                Line2D([], [], linestyle="", marker=marker, color=colour, label=f"{ln.name}: {direction} ({n})")
            )
    if any_hollow:
        handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor="white", markeredgecolor="#424242",
                              label="crossing in impaired time"))  # fmt: skip

    top = 1.7 + 0.9 * max(len(a.lines), 1)
    ax.set_ylim(-0.15, top)
    ax.set_yticks([0.5, *lane_y.values()], ["coverage", *(f"line {n}" for n in lane_y)])
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    pad = 0.01 * (x(far) - x(near))
    ax.set_xlim(x(near) - pad, x(far) + pad)
    if use_wall:
        w0 = a.wallclock_at(near)
        tz = w0.tzinfo if w0 is not None else None
        loc = mdates.AutoDateLocator(tz=tz, minticks=5, maxticks=12)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, tz=tz))
        tzname = (w0.tzname() if w0 is not None else None) or "local, no zone given"
        ax.set_xlabel(f"wall-clock ({tzname})")
    else:
        step = _nice_step(far - near)
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_clock(v, 1 if step < 1 else 0)))
        ax.set_xlabel("source time (h:mm:ss)")
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)

    share = a.observable_share
    if not a.coverage_known:
        head = f"{a.source_name} — coverage unknown"
    elif share is None:
        head = f"{a.source_name} — observable share unknown"
    else:
        head = f"{a.source_name} — observable {math.floor(share * 1000 + 1e-6) / 10:.1f} % of {fmt_duration(a.span_s or 0.0)}"
    if a.status != "complete":
        head += f" [scan {a.status}]"
    fig.text(0.06, 0.94, head, fontsize=14, fontweight="bold", va="center")
    sub = [_scope(a).capitalize()]
    if a.coverage_known:
        sub.append(_impaired_phrase(a))
    fig.text(0.06, 0.885, "; ".join(sub), fontsize=9.5, color="#333333", va="center")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False,
              ncols=2 if len(handles) > 16 else 1, borderaxespad=0)  # fmt: skip
    made = f"scan by borderwatch {a.software_version}" if a.software_version else "scan software unknown"
    bucket = f"; bucket {a.bucket_s:g} s" if a.bucket_s else ""
    fig.text(0.06, 0.03, f"borderwatch {__version__} coverage report of {a.scan_dir}; {made}; status {a.status}{bucket}",
             fontsize=8, color="#616161")  # fmt: skip

    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi)
        os.replace(tmp, out_path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_path
