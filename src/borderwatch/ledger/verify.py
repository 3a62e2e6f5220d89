"""Compare source files with the GOP hashes a ledger recorded when they were scanned.

The ledger's ``source`` records (``index``, ``path``, ``sha256``, ``offset_s``) say which
files were scanned; its ``gop`` records (``source``: that index or path) what their coded
pictures hashed to. Given files are matched to the ledger's sources (same file hash, else
most shared GOP hashes, else the same name), their GOP hashes recomputed and aligned with
the recorded ones (as sequences of hashes, so one cut GOP does not make every later one
look different), and every difference located by time:

- ``missing``: a recorded GOP is not in the file (cut);
- ``altered``: the file has a GOP at that time, with other pictures;
- ``extra``: the file has pictures the scan never saw;
- ``moved``: the same pictures at another place in the file;
- ``shifted``: the same pictures, but their timestamps moved;
- ``remuxed`` (not a problem): the file's bytes differ but every GOP's pictures are
  identical: the expected outcome of remuxing (``-c copy``) into another container;
- ``file_differs``: the file's bytes differ (a problem only when no GOP hashes vouch for
  the pictures, e.g. a source recorded without them);
- ``unmatched``: a given file shares nothing with any source in the ledger.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .gop import GopRecord, file_sha256, gop_hashes


@dataclass
class Mismatch:
    kind: str
    message: str
    problem: bool = True  # False: a note that does not make the verification fail
    source: str | None = None  # the ledger's path (or index) of the source
    file: str | None = None  # the file given for it
    gop: int | None = None  # index of the ledger's GOP
    file_gop: int | None = None  # index of the file's GOP
    start_s: float | None = None
    end_s: float | None = None
    delta_s: float | None = None  # for shifted / moved: file time minus ledger time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LedgerSource:
    """One scanned source as the ledger describes it."""

    key: int | str
    data: dict[str, Any]
    gops: list[GopRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.data.get("path") or self.data.get("name") or self.key)

    @property
    def offset_s(self) -> float:
        try:
            return float(self.data.get("offset_s") or 0.0)
        except (TypeError, ValueError):
            return 0.0


@dataclass
class SourceCheck:
    """One given file compared with the ledger source it was matched to (if any)."""

    file: Path
    sha256: str
    gops: list[GopRecord]
    source: LedgerSource | None = None
    identical_file: bool = False
    identical_gops: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(m.problem for m in self.mismatches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "sha256": self.sha256,
            "source": None if self.source is None else {"key": self.source.key, **self.source.data},
            "identical_file": self.identical_file,
            "ledger_gops": None if self.source is None else len(self.source.gops),
            "file_gops": len(self.gops),
            "identical_gops": self.identical_gops,
            "ok": self.ok,
            "mismatches": [m.to_dict() for m in self.mismatches],
        }


def ledger_sources(records: Iterable[dict[str, Any]]) -> list[LedgerSource]:
    """The sources of a ledger with their GOP records, in ledger order."""
    sources: dict[int | str, LedgerSource] = {}
    by_path: dict[str, int | str] = {}
    loose: list[GopRecord] = []
    for rec in records:
        kind, data = rec.get("kind"), rec.get("data")
        if not isinstance(data, dict):
            continue
        if kind == "source":
            idx = data.get("index")
            key: int | str = idx if isinstance(idx, int) and not isinstance(idx, bool) else str(data.get("path", ""))
            sources.setdefault(key, LedgerSource(key, dict(data)))
            for name in (data.get("path"), data.get("name")):
                if isinstance(name, str):
                    by_path.setdefault(name, key)
        elif kind == "gop":
            try:
                gop = GopRecord.from_data(data)
            except ValueError:
                continue
            ref = gop.source
            if ref is None:
                loose.append(gop)
                continue
            k = ref if ref in sources else by_path.get(str(ref), ref)
            if k not in sources:
                sources[k] = LedgerSource(k, {"path": str(ref)} if isinstance(ref, str) else {"index": ref})
            sources[k].gops.append(gop)
    if loose:
        if len(sources) == 1:
            next(iter(sources.values())).gops.extend(loose)
        else:
            sources.setdefault("", LedgerSource("", {})).gops.extend(loose)
    for s in sources.values():
        s.gops.sort(key=lambda g: g.index)
    return list(sources.values())


def _score(src: LedgerSource, sha: str, gops: list[GopRecord], name: str) -> tuple[int, int, int]:
    shared = len({g.sha256 for g in src.gops} & {g.sha256 for g in gops})
    same_name = int(Path(str(src.data.get("path") or src.data.get("name") or "")).name == name)
    return (int(src.data.get("sha256") == sha), shared, same_name)


def compare_sources(
    records: Iterable[dict[str, Any]],
    files: Sequence[str | Path],
) -> list[SourceCheck]:
    """Recompute the given files' hashes and compare them with the ledger's sources."""
    sources = ledger_sources(records)
    checks = [SourceCheck(Path(f), file_sha256(f), gop_hashes(f)) for f in files]
    # Each file goes to the source with the best evidence: the same file hash, then the
    # most shared GOP hashes, then the same name; with a single source, to that one.
    # Several files may be checked against one source (an original and its copies).
    for c in checks:
        scored = [(_score(s, c.sha256, c.gops, c.file.name), i) for i, s in enumerate(sources)]
        best = max(scored, key=lambda t: (t[0], -t[1]), default=None)
        if best is not None and best[0] != (0, 0, 0):
            c.source = sources[best[1]]
        elif len(sources) == 1:
            c.source = sources[0]
    for c in checks:
        if c.source is None:
            c.mismatches.append(
                Mismatch(
                    "unmatched",
                    f"{c.file} matches none of the ledger's {len(sources)} source(s): "
                    "no shared picture data, different file hash and name",
                    file=str(c.file),
                )
            )
        else:
            _compare(c)
    return checks


def verify_sources(records: Iterable[dict[str, Any]], files: Sequence[str | Path]) -> list[Mismatch]:
    """Every difference between the given files and the ledger (notes included)."""
    return [m for c in compare_sources(records, files) for m in c.mismatches]


def _tolerance(g: GopRecord) -> float:
    # Half a frame (containers round timestamps: MKV to the millisecond), at least 2 ms.
    if g.start_s is None or g.end_s is None or g.frames <= 0:
        return 0.002
    return max(0.002, 0.5 * (g.end_s - g.start_s) / g.frames)


def _span(g: GopRecord) -> str:
    if g.start_s is None:
        return "time unknown"
    return f"{g.start_s:.3f}-{g.end_s:.3f} s" if g.end_s is not None else f"{g.start_s:.3f} s"


def _near(a: float | None, b: float | None, tol: float) -> bool:
    return a is not None and b is not None and abs(a - b) <= tol


def _compare(c: SourceCheck) -> None:
    src = c.source
    assert src is not None
    label, fname = src.label, str(c.file)
    off = src.offset_s
    # The file's GOPs on the ledger's timeline.
    fg = [
        GopRecord(
            g.index,
            None if g.start_s is None else g.start_s + off,
            None if g.end_s is None else g.end_s + off,
            g.frames,
            g.bytes,
            g.sha256,
            g.codec,
            g.method,
            src.key,
        )
        for g in c.gops
    ]
    lg = src.gops
    out = c.mismatches

    def mm(kind: str, msg: str, g: GopRecord | None = None, f: GopRecord | None = None, **kw: Any) -> None:
        ref = g or f
        out.append(
            Mismatch(
                kind,
                msg,
                source=label,
                file=fname,
                gop=g.index if g else None,
                file_gop=f.index if f else None,
                start_s=ref.start_s if ref else None,
                end_s=ref.end_s if ref else None,
                **kw,
            )
        )

    c.identical_file = src.data.get("sha256") == c.sha256
    if lg and fg and lg[0].codec != fg[0].codec:
        mm(
            "codec",
            f"the file's video is {fg[0].codec}, the scanned source's was {lg[0].codec}: it was re-encoded",
        )
    matcher = difflib.SequenceMatcher(None, [g.sha256 for g in lg], [g.sha256 for g in fg], autojunk=False)
    missing: list[GopRecord] = []  # recorded GOPs the alignment left unmatched
    extra: list[GopRecord] = []  # file GOPs the alignment left unmatched
    identical = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            missing.extend(lg[i1:i2])
            extra.extend(fg[j1:j2])
            continue
        for g, f in zip(lg[i1:i2], fg[j1:j2]):
            identical += 1
            if g.start_s is not None and f.start_s is not None and not _near(g.start_s, f.start_s, _tolerance(g)):
                d = f.start_s - g.start_s
                mm(
                    "shifted",
                    f"GOP {g.index} ({_span(g)}): same pictures, but at {f.start_s:.3f} s in the file ({d:+.3f} s)",
                    g,
                    f,
                    delta_s=d,
                )
    # The same pictures out of sequence: moved.
    by_hash: dict[str, list[GopRecord]] = {}
    for f in extra:
        by_hash.setdefault(f.sha256, []).append(f)
    for g in list(missing):
        hits = by_hash.get(g.sha256)
        if not hits:
            continue
        moved = hits.pop(0)
        delta = None if moved.start_s is None or g.start_s is None else moved.start_s - g.start_s
        at = f"{moved.start_s:.3f} s" if moved.start_s is not None else "another place"
        mm(
            "moved",
            f"GOP {g.index} ({_span(g)}): moved, the same pictures are at {at} in the file",
            g,
            moved,
            delta_s=delta,
        )
        missing.remove(g)
        extra.remove(moved)
    # Other pictures at the same time: altered.
    for g in list(missing):
        hit = next((x for x in extra if _near(g.start_s, x.start_s, _tolerance(g))), None)
        if hit is None:
            continue
        mm("altered", f"GOP {g.index} ({_span(g)}): altered, its coded pictures differ", g, hit)
        missing.remove(g)
        extra.remove(hit)
    for g in missing:
        mm("missing", f"GOP {g.index} ({_span(g)}, {g.frames} frames): missing from the file (cut)", g)
    for f in extra:
        mm("extra", f"extra pictures in the file at {_span(f)} ({f.frames} frames): not in the scanned source", None, f)
    c.identical_gops = identical
    # In time order (a missing GOP before the GOPs shifted after it); file-level notes last.
    out.sort(key=lambda m: (m.start_s is None, m.start_s if m.start_s is not None else 0.0, m.gop or 0))
    problems = any(m.problem for m in out)
    if not c.identical_file:
        recorded = src.data.get("sha256")
        if not isinstance(recorded, str):
            mm("file_differs", "the ledger has no file hash for this source", problem=not lg)
        elif lg and not problems:
            what = "picture data" if lg[0].method == "vcl" else "packet data"
            mm(
                "remuxed",
                f"file bytes differ, {what} identical ({identical} GOPs): e.g. remuxed into another container",
                problem=False,
            )
        else:
            mm("file_differs", "file bytes differ from the scanned source", problem=not lg)
    if not lg and not fg:
        pass
    elif not lg:
        mm("no_gops", "the ledger has no GOP hashes for this source: only its file hash can be checked", problem=False)
