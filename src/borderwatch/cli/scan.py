"""`borderwatch scan`: find every crossing of the border line(s) in footage."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..config import ScanConfig, line_from_cli, load_config_file, make_config
from ..errors import EXIT_PARTIAL, ConfigError
from . import app
from .progress import progress_bar
from .runtime import loading_modules

_EPILOG = """
Examples:

  borderwatch scan gate.mp4 --line "0,0.5 1,0.5" --sides US,CA --out runs/gate

  borderwatch scan recordings/ --line "0.1,0.9 0.5,0.55 0.95,0.6" --out runs/day1 --json

  borderwatch scan trailcam/ --line "320,0 320,480" --px --out runs/trail

  borderwatch scan gate.mp4 --config lines.toml --out runs/gate

  borderwatch scan gate.mp4 --line "0,0.5 1,0.5" --bucket 60 --out runs/gate   (then: borderwatch coverage runs/gate)

Side A is on your left as you walk along the line from its first point to its last, as
seen on screen. Exit status: 0 complete, 3 partial (part of the source could not be
decoded; see summary.json "undecodable"), 2 bad input.
"""


@app.command(epilog=_EPILOG)
def scan(
    source: Path = typer.Argument(..., help="Video file, folder of segments, or folder of trail-camera images."),
    line: Optional[list[str]] = typer.Option(
        None, "--line", "-l", help='Border polyline "X1,Y1 X2,Y2 [...]", fractions of width/height. Repeat for more lines.'
    ),
    sides: Optional[str] = typer.Option(None, "--sides", help="Names of side A (left) and side B (right), e.g. US,CA."),
    px: bool = typer.Option(False, "--px", help="--line coordinates are pixels, not fractions."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML or YAML config (lines and settings)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: scan-<source name>)."),
    detector: Optional[Path] = typer.Option(
        None, "--detector", help="Darknet .cfg (with .weights beside it) or .onnx detector to label tracks."
    ),
    detector_classes: Optional[str] = typer.Option(
        None, "--detector-classes", help="coco (default) or overhead (camera looking straight down)."
    ),
    strip: Optional[float] = typer.Option(
        None, "--strip", help="Half-width of the hysteresis strip, as a fraction of the frame diagonal (default 0.012)."
    ),
    no_snapshots: bool = typer.Option(False, "--no-snapshots", help="Do not write a JPEG per crossing."),
    bucket: Optional[float] = typer.Option(
        None, "--bucket", help="Length of a coverage (camera health) bucket in seconds (default 10)."
    ),
    no_health: bool = typer.Option(False, "--no-health", help="Do not measure camera health (no coverage.jsonl)."),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, max=64, help="Decoder threads (default: the CPUs plus two, at least 4)."
    ),
    fast_decode: bool = typer.Option(
        False,
        "--fast-decode",
        help="Skip the decoder's deblocking filter: a fifth faster decode, inexact (blockier) pictures; see docs/architecture.md.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Scan footage for crossings of a border line, by direction, with exact source times."""
    cfg = _build_config(line, sides, px, config, detector, strip, no_snapshots, detector_classes, fast_decode)
    if bucket is not None or no_health:
        health = cfg.health.model_dump()
        if bucket is not None:
            health["bucket_seconds"] = bucket
        if no_health:
            health["enabled"] = False
        cfg = make_config(cfg.lines, **{**cfg.model_dump(exclude={"lines", "health"}), "health": health})
    out_dir = out or Path(f"scan-{source.stem or 'source'}")
    with loading_modules():
        from ..scan import run_scan

    with progress_bar(enabled=not as_json and sys.stderr.isatty(), label=f"scanning {source.name}") as update:
        result = run_scan(source, cfg, out_dir, threads=threads, progress=update)
    if as_json:
        print(json.dumps(result.summary, indent=2, default=str))
    else:
        _print_summary(result.summary, out_dir, result.crossings)
    if result.partial:
        raise typer.Exit(EXIT_PARTIAL)


def _build_config(
    line: Optional[list[str]],
    sides: Optional[str],
    px: bool,
    config: Optional[Path],
    detector: Optional[Path],
    strip: Optional[float],
    no_snapshots: bool,
    detector_classes: Optional[str] = None,
    fast_decode: bool = False,
) -> ScanConfig:
    over: dict[str, Any] = {}
    if fast_decode:
        over["fast_decode"] = True
    if detector is not None:
        over["detector"] = str(detector)
    if detector_classes is not None:
        over["detector_classes"] = detector_classes
    if no_snapshots:
        over["snapshots"] = False
    lines = []
    for i, text in enumerate(line or []):
        lines.append(line_from_cli(text, sides, px, name="border" if i == 0 else f"border{i + 1}"))
    if config is not None:
        if lines:
            over["lines"] = [ln.model_dump() for ln in lines]
        cfg = load_config_file(config, over)
    else:
        if not lines:
            raise ConfigError('no line given: use --line "X1,Y1 X2,Y2" or --config FILE')
        cfg = make_config(lines, **over)
    if strip is not None:
        cross = cfg.cross.model_copy(update={"strip_frac": strip})
        cfg = make_config(cfg.lines, **{**cfg.model_dump(exclude={"lines", "cross"}), "cross": cross.model_dump()})
    return cfg


_LIST_AT_MOST = 20


def _print_summary(summary: dict[str, Any], out_dir: Path, crossings: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    if crossings:
        listing = Table(title="First crossings" if len(crossings) > _LIST_AT_MOST else "Crossings")
        for col in ("#", "time (s)", "wall-clock", "frame", "line", "direction", "label", ""):
            right = col in ("#", "time (s)", "frame")
            listing.add_column(col, justify="right" if right else "left", overflow="fold", min_width=len(col))
        for c in crossings[:_LIST_AT_MOST]:
            listing.add_row(
                str(c.id), f"{c.time_s:.3f}", c.wallclock or "-", str(c.frame), c.line, c.direction, c.label,
                "inferred" if c.inferred else "",
            )  # fmt: skip
        con.print(listing)
        if len(crossings) > _LIST_AT_MOST:
            con.print(f"... {len(crossings) - _LIST_AT_MOST} more in crossings.jsonl")
    table = Table(title=f"Counts ({summary['status']})")
    table.add_column("line")
    table.add_column("direction")
    table.add_column("count", justify="right")
    for name, c in summary["counts"].items():
        for direction, n in c["by_direction"].items():
            table.add_row(name, direction, str(n))
    con.print(table)
    dur = summary["duration_s"]
    con.print(
        f"{summary['frames_decoded']} frames decoded, {summary['frames_analysed']} analysed, "
        f"{dur:.1f} s of source in {summary['processing']['seconds']:.1f} s "
        f"({summary['processing']['frames_per_second']} frames/s)"
    )
    if summary["undecodable"]:
        con.print(
            f"[yellow]partial: {summary['undecodable_s']:.2f} s of the timeline is missing or could not "
            "be decoded (see \"undecodable\" in summary.json)[/]"
        )
    cov = summary.get("coverage")
    if cov:
        causes = ", ".join(f"{c} {_dur(v)}" for c, v in sorted(cov["impaired_by_cause_s"].items(), key=lambda kv: -kv[1]))
        con.print(
            f"coverage: observable {_dur(cov['observable_s'])} of {_dur(cov['duration_s'])}"
            + (f"; impaired {_dur(cov['impaired_s'])} ({causes})" if cov["impaired_s"] > 0 else "; no impaired time")
            + f" (borderwatch coverage {out_dir})"
        )
    con.print(f"records in {out_dir}/ (crossings.jsonl, coverage.jsonl, ledger.jsonl, summary.json, snapshots/)")


def _dur(seconds: float) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"
