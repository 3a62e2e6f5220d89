"""The hash-chained ledger: write records as they happen, verify a chain afterwards.

Each line of ``ledger.jsonl`` is one record
``{"seq": n, "prev": "<hex>", "kind": "...", "data": {...}, "hash": "<hex>"}`` where
``hash`` is the SHA-256 of the canonical JSON (``sort_keys=True``,
``separators=(",", ":")``, ``ensure_ascii=False``, UTF-8) of ``{seq, prev, kind, data}``
and ``prev`` is the previous record's ``hash`` (64 zeros for record 0). Editing,
deleting, inserting or reordering a record breaks a link; removing records from the
end is caught by the ``end`` record (a finished scan writes one, last) and by the head
hash that ``summary.json`` carries. See docs/coverage.md, section ``ledger.jsonl``.

The hash covers the *content* of a record, not the bytes of its line: re-indenting a
line or reordering the keys of an object does not change it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Self

ZERO_HASH = "0" * 64
FIELDS = ("seq", "prev", "kind", "data", "hash")
END_KIND = "end"


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8, no NaN/Infinity."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def record_hash(seq: int, prev: str, kind: str, data: Any) -> str:
    """The ``hash`` of a record with these fields."""
    return hashlib.sha256(canonical({"seq": seq, "prev": prev, "kind": kind, "data": data})).hexdigest()


def _plain(obj: Any) -> Any:
    # numpy scalars and arrays (and anything else with .item()/.tolist()) as plain JSON.
    for attr in ("tolist", "item"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            return fn()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def normalize(data: Any) -> Any:
    """``data`` as it will read back from the ledger file (JSON round trip).

    Tuples become lists, integer keys strings, numpy scalars plain numbers. Hashing the
    round-tripped value guarantees that a verifier re-reading the line gets the same
    hash. NaN and infinities are refused (they are not JSON).
    """
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=_plain)
    except ValueError as exc:
        raise ValueError(f"ledger data must be finite JSON (no NaN or infinity): {exc}") from None
    return json.loads(text)


def summary_digest(summary: Mapping[str, Any]) -> str:
    """SHA-256 of a summary as ``summary.json`` reads back, without its ``ledger`` entry.

    Call it on the final summary dict before adding ``"ledger"``; put the result into the
    ``end`` record as ``summary_sha256``. ``borderwatch ledger verify`` recomputes it from
    ``summary.json``. Values are converted as ``scan/output.py`` writes them (``default=str``).
    """
    plain = json.loads(json.dumps(dict(summary), default=str))
    plain.pop("ledger", None)
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LedgerWriter:
    """Append-only writer of ``ledger.jsonl``; each record is written and flushed at once.

    Thread-safe (the decoder thread may append GOP records while the analysis thread
    appends crossings). The file is created anew (an existing one is replaced)::

        led = LedgerWriter(out_dir / "ledger.jsonl")
        led.append("scan", {...})
        head = led.finish("complete", summary_sha256=summary_digest(summary))
        summary["ledger"] = {"head": head, "records": led.count}
        led.close()
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._f: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        except OSError as exc:
            from ..errors import OutputError

            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self._seq = 0
        self._head = ZERO_HASH
        self._ended = False

    @property
    def head(self) -> str:
        """Hash of the last record written (64 zeros before the first)."""
        return self._head

    @property
    def count(self) -> int:
        """Number of records written so far (also the next record's ``seq``)."""
        return self._seq

    @property
    def ended(self) -> bool:
        return self._ended

    def append(self, kind: str, data: Mapping[str, Any]) -> str:
        """Write one record and return its hash (the new head).

        ``data`` must be a JSON object (a mapping with string keys after conversion);
        floats round-trip exactly; NaN/infinity raise ``ValueError``.
        """
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"ledger record kind must be a non-empty string, got {kind!r}")
        if not isinstance(data, Mapping):
            raise TypeError(f"ledger record data must be a mapping, got {type(data).__name__}")
        plain = normalize(dict(data))
        with self._lock:
            if self._f is None:
                raise ValueError(f"{self.path}: ledger is closed")
            if self._ended:
                raise ValueError(f"{self.path}: ledger already has its end record")
            seq, prev = self._seq, self._head
            digest = record_hash(seq, prev, kind, plain)
            line = json.dumps(
                {"seq": seq, "prev": prev, "kind": kind, "data": plain, "hash": digest},
                ensure_ascii=False,
                allow_nan=False,
                separators=(",", ":"),
            )
            self._f.write(line + "\n")
            self._f.flush()
            self._seq, self._head = seq + 1, digest
            if kind == END_KIND:
                self._ended = True
            return digest

    def finish(self, status: str, **data: Any) -> str:
        """Append the ``end`` record and return the head hash.

        The end record's data is ``{"records": <count including the end record>,
        "status": status, **data}`` (e.g. ``summary_sha256=summary_digest(summary)``).
        """
        with self._lock:
            total = self._seq + 1
        return self.append(END_KIND, {**data, "records": total, "status": status})

    def close(self) -> None:
        """Flush, fsync and close (idempotent). Does not write an ``end`` record."""
        with self._lock:
            f, self._f = self._f, None
        if f is None:
            return
        try:
            f.flush()
            try:
                os.fsync(f.fileno())
            except OSError:
                pass
        finally:
            f.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- verify


@dataclass
class ChainProblem:
    """One place where the chain does not verify.

    ``code``: ``unreadable`` (not a ledger record), ``edited`` (content does not match its
    hash), ``replaced`` (a record with a self-consistent hash that the chain does not link
    to), ``deleted``, ``inserted``, ``reordered``, ``broken`` (a link that fits none of
    these), ``after_end``, ``no_end``, ``count``, ``head``.
    ``line`` is 1-based in the file; ``seq`` is where in the chain the problem lies.
    """

    code: str
    line: int | None
    seq: int | None
    kind: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChainReport:
    path: Path
    records: int = 0  # lines that parsed as records
    lines: int = 0
    head: str | None = None  # hash field of the last record in the file
    end: dict[str, Any] | None = None  # data of the end record, if any
    kinds: dict[str, int] = field(default_factory=dict)
    problems: list[ChainProblem] = field(default_factory=list)
    expected_head: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "records": self.records,
            "lines": self.lines,
            "head": self.head,
            "expected_head": self.expected_head,
            "end": self.end,
            "kinds": self.kinds,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class _Rec:
    line: int
    seq: int
    prev: str
    kind: str
    data: dict[str, Any]
    hash: str
    valid: bool  # stored hash matches the content


class _Malformed(ValueError):
    pass


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            # Two readers could disagree on which value counts: refuse the line.
            raise _Malformed(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise _Malformed(f"{name} is not JSON")


def _is_hex64(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def parse_record(text: str) -> dict[str, Any]:
    """One ledger line as a dict with exactly the five fields; ``ValueError`` otherwise."""
    try:
        obj = json.loads(text, object_pairs_hook=_no_dupes, parse_constant=_no_constants)
    except _Malformed as exc:
        raise ValueError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004  (callers catch ValueError for any bad line)
    missing = [k for k in FIELDS if k not in obj]
    extra = sorted(set(obj) - set(FIELDS))
    if missing:
        raise ValueError("missing field(s) " + ", ".join(missing))
    if extra:
        raise ValueError("unexpected field(s) " + ", ".join(extra) + " (not covered by the hash)")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError(f"seq is not a non-negative integer: {seq!r}")
    if not _is_hex64(obj["prev"]):
        raise ValueError("prev is not a 64-digit lowercase hex hash")
    if not _is_hex64(obj["hash"]):
        raise ValueError("hash is not a 64-digit lowercase hex hash")
    if not isinstance(obj["kind"], str) or not obj["kind"]:
        raise ValueError("kind is not a non-empty string")
    if not isinstance(obj["data"], dict):
        raise ValueError("data is not a JSON object")  # noqa: TRY004
    return obj


def read_ledger(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ledger file that parse (unreadable lines skipped; see verify_chain)."""
    out = []
    with open(path, encoding="utf-8", errors="replace", newline="\n") as f:
        for text in f:
            try:
                out.append(parse_record(text))
            except ValueError:
                continue
    return out


def verify_chain(
    path: str | Path,
    expected_head: str | None = None,
    expected_records: int | None = None,
) -> ChainReport:
    """Re-read a ledger file and report every place where it does not verify.

    ``expected_head``/``expected_records``: ``summary.json``'s ``ledger.head`` and
    ``ledger.records``; they catch records removed from (or added to) the end, the end
    record included. Raises ``OSError`` only if the file cannot be read at all.
    """
    report = ChainReport(path=Path(path), expected_head=expected_head)
    problems = report.problems
    recs: list[_Rec | None] = []  # None: an unreadable line
    unreadable: dict[int, str] = {}
    with open(path, "rb") as fb:
        raw = fb.read()
    texts = raw.split(b"\n")
    cut_last = bool(texts and texts[-1])  # a final line without newline: written half-way?
    if not texts[-1]:
        texts.pop()
    report.lines = len(texts)
    for i, b in enumerate(texts, start=1):
        try:
            text = b.decode("utf-8")
        except UnicodeDecodeError as exc:
            unreadable[i] = f"not UTF-8 (byte {exc.start})"
            recs.append(None)
            continue
        if not text.strip():
            unreadable[i] = "blank line"
            recs.append(None)
            continue
        try:
            obj = parse_record(text)
        except ValueError as exc:
            unreadable[i] = str(exc)
            recs.append(None)
            continue
        try:
            valid = record_hash(obj["seq"], obj["prev"], obj["kind"], obj["data"]) == obj["hash"]
        except ValueError:
            valid = False
        recs.append(_Rec(i, obj["seq"], obj["prev"], obj["kind"], obj["data"], obj["hash"], valid))

    good = [r for r in recs if r is not None]
    report.records = len(good)
    report.head = good[-1].hash if good else None
    for r in good:
        report.kinds[r.kind] = report.kinds.get(r.kind, 0) + 1

    flagged = _walk(recs, unreadable, cut_last, expected_head, problems)
    clean = not problems
    _check_end(recs, problems, report, flagged, clean, expected_head)
    _check_head(recs, expected_head, expected_records, problems, flagged, clean and not problems)
    return report


def _walk(
    recs: list[_Rec | None],
    unreadable: dict[int, str],
    cut_last: bool,
    expected_head: str | None,
    problems: list[ChainProblem],
) -> set[int]:
    """Follow the links in file order; one problem per break. Returns the lines flagged."""
    by_hash: dict[str, _Rec] = {}
    seqs: set[int] = set()
    for r in recs:
        if r is not None:
            seqs.add(r.seq)
            if r.valid:
                by_hash.setdefault(r.hash, r)
    flagged: set[int] = set()
    last: _Rec | None = None  # the record the chain has reached; the next should link to it
    last_seq = -1  # seq of the chain position reached
    gap = 0  # unreadable lines since then
    excuse = False  # the next link break is explained by the problem just reported
    skip: set[int] = set()  # indexes already consumed by a diagnosis (a swapped record)
    n = len(recs)

    def add(code: str, rec: _Rec | None, seq: int | None, msg: str, line: int | None = None) -> None:
        ln = rec.line if rec is not None else line
        problems.append(ChainProblem(code, ln, seq, rec.kind if rec is not None else None, msg))
        if ln is not None:
            flagged.add(ln)

    for i, r in enumerate(recs):
        if i in skip:
            continue
        nr = recs[i + 1] if i + 1 < n else None
        if r is None:
            line, seq = i + 1, last_seq + 1 + gap
            why = unreadable[line]
            if line == n and cut_last:
                msg = f"line {line} (seq {seq}) is cut off: the file ends in the middle of a record ({why})"
            else:
                msg = f"line {line} (seq {seq}) is not a ledger record: {why}"
            add("unreadable", None, seq, msg, line)
            gap, excuse = gap + 1, True
            continue
        expected_prev = last.hash if last is not None else ZERO_HASH
        if gap and r.valid and r.prev == expected_prev and r.seq == last_seq + 1:
            # The unreadable line(s) were added: the chain goes on past them.
            last, last_seq, excuse, gap = r, r.seq, False, 0
            continue
        exp_seq = last_seq + 1 + gap
        gap = 0
        if not r.valid:
            seq = exp_seq
            said = "" if r.seq == exp_seq else f"; it says seq {r.seq}"
            link = "" if r.prev == expected_prev or excuse else "; its prev link does not match either"
            add(
                "edited",
                r,
                seq,
                f"record at line {r.line} (seq {seq}, kind {r.kind}) was edited: "
                f"its hash does not match its content{said}{link}",
            )
            last, last_seq, excuse = r, seq, True
            continue
        if r.prev == expected_prev and r.seq == exp_seq:
            last, last_seq, excuse = r, r.seq, False
            continue
        if excuse and r.seq == exp_seq:
            # The record before was edited or unreadable: its stored hash is not what
            # this one links to, but nothing else is wrong here.
            last, last_seq, excuse = r, r.seq, False
            continue
        excuse = False
        if r.seq == exp_seq:
            # Right place, wrong link: this record or the one before it was replaced by a
            # forged record whose own hash is consistent. The one the rest of the chain
            # (or summary.json's head) agrees with is the original.
            if last is not None and last.kind == END_KIND:
                last, last_seq = r, r.seq  # reported by _check_end as a record after the end
                continue
            if nr is not None and nr.valid and nr.seq == exp_seq and nr.prev == expected_prev:
                # The next record takes this place and links correctly: this one was added.
                add(
                    "inserted",
                    r,
                    r.seq,
                    f"record at line {r.line} (seq {r.seq}, kind {r.kind}) was inserted: it does not link to "
                    f"the record before it, and line {nr.line} takes seq {nr.seq} and links correctly",
                )
                continue
            if nr is None and expected_head is None and last is not None:
                add(
                    "replaced",
                    last,
                    last.seq,
                    f"the link between line {last.line} (seq {last.seq}, kind {last.kind}) and line {r.line} "
                    f"(seq {r.seq}, kind {r.kind}) is broken: one of the two was replaced by a record with a "
                    "self-consistent hash (summary.json's head would tell which)",
                )
                flagged.add(r.line)
                last, last_seq = r, r.seq
                continue
            if nr is not None:
                blame_last = nr.valid and nr.prev == r.hash and nr.seq == r.seq + 1
            else:
                blame_last = r.hash == expected_head
            if blame_last and last is not None:
                add(
                    "replaced",
                    last,
                    last.seq,
                    f"record at line {last.line} (seq {last.seq}, kind {last.kind}) was replaced: its own hash "
                    f"is consistent, but the next record (line {r.line}) links to a different record",
                )
            else:
                before = f"line {last.line}" if last is not None else "the start"
                add(
                    "replaced",
                    r,
                    r.seq,
                    f"record at line {r.line} (seq {r.seq}, kind {r.kind}) was replaced or re-linked: "
                    f"its prev does not match the hash of the record before it ({before})",
                )
            last, last_seq = r, r.seq
            continue
        if r.seq > exp_seq:
            if (
                nr is not None
                and nr.valid
                and nr.seq == exp_seq
                and nr.prev == expected_prev
                and r.prev == nr.hash
                and r.seq == exp_seq + 1
            ):
                # Swapped neighbours: seq k+1 here, seq k right after, each linking correctly.
                add(
                    "reordered",
                    nr,
                    nr.seq,
                    f"records seq {nr.seq} ({nr.kind}) and seq {r.seq} ({r.kind}) are swapped: "
                    f"seq {r.seq} is at line {r.line}, seq {nr.seq} at line {nr.line}",
                )
                flagged.add(r.line)
                skip.add(i + 1)
                last, last_seq = r, r.seq
                continue
            src = by_hash.get(r.prev)
            moved = (src is not None and src is not last) or any(s in seqs for s in range(exp_seq, r.seq))
            if moved:
                follows = f"; it belongs after line {src.line} (seq {src.seq})" if src is not None else ""
                add(
                    "reordered",
                    r,
                    exp_seq,
                    f"records out of order at line {r.line}: expected seq {exp_seq}, "
                    f"found seq {r.seq} ({r.kind}){follows}",
                )
            else:
                count = r.seq - exp_seq
                gone = f"seq {exp_seq}" if count == 1 else f"seq {exp_seq} to {r.seq - 1}"
                before = f"line {last.line} (seq {last.seq})" if last is not None else "the start of the file"
                add(
                    "deleted",
                    r,
                    exp_seq,
                    f"{count} record{'s' if count > 1 else ''} ({gone}) deleted between {before} "
                    f"and line {r.line} (seq {r.seq}, kind {r.kind})",
                )
            last, last_seq = r, r.seq
            continue
        # r.seq < exp_seq: a second record for a place already taken, or one moved back.
        twin = next((x for x in reversed(recs[:i]) if x is not None and x.seq == r.seq), None)
        if twin is not None and twin.prev == r.prev:
            # Two records claim the same place; the one the rest of the chain (or the head)
            # follows is the original, the other was inserted.
            if nr is not None:
                r_real = nr.prev == r.hash
            else:
                r_real = expected_head is None or r.hash == expected_head or twin.hash != expected_head
            fake, real = (twin, r) if r_real else (r, twin)
            add(
                "inserted",
                fake,
                fake.seq,
                f"record at line {fake.line} (seq {fake.seq}, kind {fake.kind}) was inserted: "
                f"line {real.line} also claims seq {real.seq} and the chain continues from that one",
            )
            if r_real:
                last, last_seq = r, r.seq
            continue
        src = by_hash.get(r.prev)
        follows = f"; it belongs after line {src.line} (seq {src.seq})" if src is not None else ""
        add(
            "reordered" if src is not None else "broken",
            r,
            r.seq,
            f"record at line {r.line} (seq {r.seq}, kind {r.kind}) is out of place after seq {last_seq}{follows}",
        )
        # The chain position stays: later records should still follow `last`.
    return flagged


def _check_end(
    recs: list[_Rec | None],
    problems: list[ChainProblem],
    report: ChainReport,
    flagged: set[int],
    clean: bool,
    expected_head: str | None,
) -> None:
    good = [r for r in recs if r is not None]
    ends = [r for r in good if r.kind == END_KIND and r.valid]
    if ends:
        end = ends[0]
        report.end = dict(end.data)
        after = [r for r in good if r.line > end.line]
        unexplained = [r for r in after if r.line not in flagged]
        if unexplained:
            a = unexplained[0]
            problems.append(
                ChainProblem(
                    "after_end",
                    a.line,
                    end.seq + 1,
                    a.kind,
                    f"{len(after)} record(s) after the end record (line {end.line}, seq {end.seq}), "
                    f"from line {a.line} (seq {a.seq}, kind {a.kind}): the ledger was extended after the scan ended",
                )
            )
        stated = end.data.get("records")
        upto = len(good) - len(after)
        if clean and (stated != end.seq + 1 or stated != upto):
            problems.append(
                ChainProblem(
                    "count",
                    end.line,
                    end.seq,
                    END_KIND,
                    f"the end record (line {end.line}, seq {end.seq}) says {stated!r} records; "
                    f"the file has {upto} up to and including it",
                )
            )
        return
    if recs and (recs[-1] is None or not recs[-1].valid):
        return  # the damaged last line is already reported; it may have been the end
    last = good[-1] if good else None
    seq = last.seq + 1 if last is not None else 0
    where = f"after line {last.line} (seq {last.seq}, kind {last.kind})" if last else "before any record"
    problems.append(
        ChainProblem(
            "no_end",
            (last.line + 1) if last else 1,
            seq,
            None,
            f"no end record: the ledger stops {where}; "
            + (
                f"summary.json names a different last record ({expected_head[:12]}...), "
                f"so records from seq {seq} on were removed"
                if expected_head is not None
                else f"records from seq {seq} on were removed, or the scan did not finish"
            ),
        )
    )


def _check_head(
    recs: list[_Rec | None],
    expected_head: str | None,
    expected_records: int | None,
    problems: list[ChainProblem],
    flagged: set[int],
    clean: bool,
) -> None:
    good = [r for r in recs if r is not None]
    last = good[-1] if good else None
    if expected_head is not None and (last is None or last.hash != expected_head):
        at = next((r for r in good if r.hash == expected_head), None)
        if at is not None:
            after = [r for r in good if r.line > at.line]
            if any(r.line not in flagged for r in after):
                problems.append(
                    ChainProblem(
                        "head",
                        after[0].line,
                        at.seq + 1,
                        after[0].kind,
                        f"summary.json names line {at.line} (seq {at.seq}, kind {at.kind}) as the last record, "
                        f"but the file goes on to line {good[-1].line}: records were appended",
                    )
                )
        elif not recs or (recs[-1] is not None and recs[-1].valid):
            # (A damaged last line is already reported and explains the mismatch.)
            if last is not None and last.kind == END_KIND:
                seq = last.seq
                msg = (
                    f"the end record (line {last.line}, seq {last.seq}) is not the head summary.json names "
                    f"({expected_head[:12]}...): it was replaced, or the ledger was rewritten from some record on"
                )
            elif any(p.code in ("no_end", "after_end") for p in problems):
                return  # the missing end is reported already (with what summary.json says)
            else:
                seq = last.seq + 1 if last is not None else 0
                tail = f"seq {last.seq} ({last.kind})" if last is not None else "nothing"
                msg = (
                    f"the file ends with {tail}, not with the head summary.json names "
                    f"({expected_head[:12]}...): records from seq {seq} on were removed or rewritten"
                )
            problems.append(ChainProblem("head", last.line if last else None, seq, last.kind if last else None, msg))
    if clean and expected_records is not None and expected_records != len(good):
        problems.append(
            ChainProblem(
                "count",
                None,
                None,
                None,
                f"summary.json says the ledger has {expected_records} records; the file has {len(good)}",
            )
        )
