"""`borderwatch ledger`: verify a scan's hash-chained ledger and its sources' pictures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import ConfigError, SourceNotFound
from . import app

if TYPE_CHECKING:
    from ..ledger import ChainReport
    from ..ledger.verify import Mismatch, SourceCheck

ledger_app = typer.Typer(
    name="ledger",
    help="Verify a scan's tamper-evident ledger (ledger.jsonl) and the source files' GOP hashes.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(ledger_app, name="ledger")

_VERIFY_EPILOG = """
Examples:

  borderwatch ledger verify scan/

  borderwatch ledger verify scan/ --source clip.mp4

  borderwatch ledger verify scan/ -s seg1.mp4 -s seg2.mp4 --json > verdict.json

Checks that every record of scan/ledger.jsonl links to the one before it (an edited, deleted, inserted or reordered record breaks a link and is located by line and seq), that the ledger ends with its end record, that it ends where summary.json's ledger.head says, and that summary.json is the one the scan recorded.

With --source, recomputes the GOP hashes of each file's coded pictures and compares them with the ledger: a cut, altered, added, moved or re-timed GOP is reported with its time. A remuxed file (another container, the same pictures) verifies, with the note "file bytes differ, picture data identical".

Exit status: 0 everything verifies, 1 tampering or damage found, 2 bad input.
"""

_GOPS_EPILOG = """
Examples:

  borderwatch ledger gops clip.mp4

  borderwatch ledger gops clip.ts --json > clip.gops.json

For H.264/H.265 only the coded slices are hashed, so the hashes are the same in MP4, MKV, MOV and MPEG-TS (remuxed with -c copy). Other codecs: whole packets (not remux-proof).
"""


@ledger_app.command(epilog=_VERIFY_EPILOG)
def verify(
    scan_dir: Annotated[
        Path, typer.Argument(metavar="DIR", help="Scan output folder with ledger.jsonl and summary.json.")
    ],
    sources: Annotated[
        list[Path] | None,
        typer.Option("--source", "-s", metavar="FILE", help="A source video to check against the ledger (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full verdict as JSON.")] = False,
) -> None:
    """Verify the hash chain of a scan's ledger and, with --source, the source files' pictures."""
    sources = sources or []
    from ..ledger import read_ledger, summary_digest, verify_chain
    from ..ledger.verify import compare_sources, ledger_sources

    ledger_path, summary_path = _locate(scan_dir)
    for f in sources:
        if not f.exists():
            raise SourceNotFound(f"{f}: no such file or directory")
        if f.is_dir():
            raise ConfigError(f"{f}: --source takes a video file, not a folder")

    summary, summary_problem = _load_summary(summary_path)
    led = summary.get("ledger") if isinstance(summary, dict) else None
    led = led if isinstance(led, dict) else {}
    head = led.get("head") if isinstance(led.get("head"), str) else None
    count = led.get("records") if isinstance(led.get("records"), int) else None
    try:
        report = verify_chain(ledger_path, expected_head=head, expected_records=count)
    except OSError as exc:
        raise SourceNotFound(f"{ledger_path}: cannot read ({exc.strerror or exc})") from None

    problems: list[str] = []
    notes: list[str] = []
    if summary_problem:
        problems.append(summary_problem)
    elif summary is None:
        notes.append(
            "no summary.json: the head hash cannot be checked, so records removed from the end "
            "together with the end record would go unnoticed"
        )
    elif head is None:
        notes.append(
            "summary.json has no ledger.head: records removed from the end with the end record would go unnoticed"
        )
    status = summary.get("status") if isinstance(summary, dict) else None
    if isinstance(status, str) and status not in ("complete", "partial"):
        notes.append(f"summary.json says status {status!r}: the scan did not finish normally")
    digest_ok: bool | None = None
    if report.end is not None and isinstance(summary, dict):
        want = report.end.get("summary_sha256")
        if isinstance(want, str):
            digest_ok = summary_digest(summary) == want
            if not digest_ok:
                problems.append(
                    "summary.json was changed after the scan: its content does not match the digest "
                    "in the ledger's end record"
                )
    checks: list[SourceCheck] = []
    records = read_ledger(ledger_path)
    if sources:
        checks = compare_sources(records, sources)
    n_problems = len(report.problems) + len(problems) + sum(1 for c in checks for m in c.mismatches if m.problem)
    ok = n_problems == 0

    if as_json:
        out = {
            "ok": ok,
            "problems": n_problems,
            "ledger": str(ledger_path),
            "summary": {
                "path": str(summary_path),
                "found": summary is not None,
                "head": head,
                "records": count,
                "digest_matches": digest_ok,
            },
            "chain": report.to_dict(),
            "summary_problems": problems,
            "notes": notes,
            "sources": [c.to_dict() for c in checks],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        _print_verdict(report, problems, notes, digest_ok, head, checks, ledger_sources(records), bool(sources))
        print(f"Verdict  {'OK: everything verifies' if ok else f'BROKEN: {n_problems} problem(s) found (see above)'}")
    if not ok:
        raise typer.Exit(1)


@ledger_app.command(epilog=_GOPS_EPILOG)
def gops(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A video file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the GOP records as JSON.")] = False,
) -> None:
    """Print a video's per-GOP hashes of its coded pictures (as a scan records them in its ledger)."""
    from ..ledger import file_sha256, gop_hashes

    if not file.exists():
        raise SourceNotFound(f"{file}: no such file or directory")
    if file.is_dir():
        raise ConfigError(f"{file}: is a folder; give one video file")
    records = gop_hashes(file)
    sha = file_sha256(file)
    codec = records[0].codec if records else None
    method = records[0].method if records else None
    if as_json:
        out = {
            "path": str(file),
            "size": file.stat().st_size,
            "sha256": sha,
            "codec": codec,
            "method": method,
            "gops": [g.to_data() for g in records],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    frames = sum(g.frames for g in records)
    how = {
        "vcl": "coded slices only: the same after remuxing",
        "packet": "whole packets: changes when remuxed",
    }.get(method or "", "")
    print(f"{file}: {codec or 'no video packets'}, {len(records)} GOPs, {frames} frames" + (f" ({how})" if how else ""))
    print(f"file sha256 {sha}")
    print(f"{'gop':>5} {'start_s':>10} {'end_s':>10} {'frames':>6} {'bytes':>10}  sha256")
    for g in records:
        print(f"{g.index:>5} {_t(g.start_s):>10} {_t(g.end_s):>10} {g.frames:>6} {g.bytes:>10}  {g.sha256}")


# ---------------------------------------------------------------------------- helpers


def _t(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _locate(path: Path) -> tuple[Path, Path]:
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file or directory")
    if path.is_file():
        if path.suffix != ".jsonl":
            raise ConfigError(f"{path}: give a scan output folder (or its ledger.jsonl)")
        return path, path.parent / "summary.json"
    ledger = path / "ledger.jsonl"
    if not ledger.is_file():
        raise SourceNotFound(f"{path}: has no ledger.jsonl (not a scan output folder, or a scan without a ledger)")
    return ledger, path / "summary.json"


def _load_summary(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"summary.json is not readable JSON ({type(exc).__name__}: {str(exc).splitlines()[0][:80]})"
    if not isinstance(data, dict):
        return None, "summary.json is not a JSON object"
    return data, None


def _print_verdict(
    report: ChainReport,
    problems: list[str],
    notes: list[str],
    digest_ok: bool | None,
    head: str | None,
    checks: list[SourceCheck],
    ledger_srcs: list[Any],
    sources_given: bool,
) -> None:
    kinds = ", ".join(f"{k} {n}" for k, n in report.kinds.items())
    print(f"Ledger   {report.path}: {report.records} records" + (f" ({kinds})" if kinds else ""))
    if report.head:
        same = "" if head is None else ("  (= summary.json)" if head == report.head else f"  (summary.json: {head})")
        print(f"         head {report.head}{same}")
    if report.ok:
        end = report.end or {}
        print(
            f"Chain    OK: every record links to the one before; ends with its end record "
            f"(status {end.get('status', '?')}, {end.get('records', '?')} records)"
        )
    else:
        print(f"Chain    BROKEN: {len(report.problems)} problem(s)")
        for p in report.problems:
            print(f"         - {p.message}")
    if digest_ok:
        print("Summary  OK: summary.json matches the digest in the end record")
    for msg in problems:
        print(f"Summary  BROKEN: {msg}")
    for msg in notes:
        print(f"Note     {msg}")
    if not sources_given:
        if ledger_srcs:
            listed = "; ".join(f"{s.label} ({len(s.gops)} GOPs)" for s in ledger_srcs[:5])
            more = f" and {len(ledger_srcs) - 5} more" if len(ledger_srcs) > 5 else ""
            print(f"Sources  not checked: give --source FILE to compare with the ledger's {listed}{more}")
        return
    for c in checks:
        src = c.source
        print(f"Source   {c.file}" + (f"  ->  ledger source {src.key!r} ({src.label})" if src else ""))
        if src is not None:
            if c.identical_file:
                print("         file sha256 identical to the scanned file")
            total = len(src.gops)
            if total:
                print(f"         {c.identical_gops} of {total} GOPs' pictures identical")
        for line in _grouped(c.mismatches):
            print(f"         {line}")


_LABEL = {
    "missing": "MISSING",
    "altered": "ALTERED",
    "extra": "EXTRA",
    "moved": "MOVED",
    "shifted": "SHIFTED",
    "remuxed": "note",
    "no_gops": "note",
}


def _grouped(ms: list[Mismatch]) -> list[str]:
    """Runs of consecutive GOPs with the same finding (and shift) as one line each."""
    out: list[str] = []
    i = 0
    while i < len(ms):
        m = ms[i]
        j = i + 1
        if m.kind in ("missing", "altered", "shifted") and m.gop is not None:
            while (
                j < len(ms)
                and ms[j].kind == m.kind
                and ms[j].gop == (ms[j - 1].gop or 0) + 1
                and (m.kind != "shifted" or abs((ms[j].delta_s or 0) - (m.delta_s or 0)) < 1e-3)
            ):
                j += 1
        label = _LABEL.get(m.kind, "PROBLEM" if m.problem else "note")
        if j - i == 1:
            out.append(f"{label:<8} {m.message}")
        else:
            run = ms[i:j]
            first, last = run[0], run[-1]
            span = (
                f"{first.start_s:.3f}-{last.end_s:.3f} s"
                if first.start_s is not None and last.end_s is not None
                else "time unknown"
            )
            what = {
                "missing": "missing from the file (cut)",
                "altered": "altered, their coded pictures differ",
                "shifted": f"same pictures, timestamps shifted {m.delta_s or 0:+.3f} s",
            }[m.kind]
            out.append(f"{label:<8} GOPs {first.gop}-{last.gop} ({span}): {what}")
        i = j
    return out
