"""`borderwatch demo`: generate a short scene, scan it, show the result next to the truth."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from . import app
from .progress import progress_bar

_EPILOG = """
Example:

  borderwatch demo                      # a 30 s mixed scene in ./borderwatch-demo/
  borderwatch demo --preset back_and_forth --seed 4 --out /tmp/demo
"""


@app.command(epilog=_EPILOG)
def demo(
    out: Path = typer.Option(Path("borderwatch-demo"), "--out", "-o", help="Where to write the clip, its truth and the scan."),
    preset: str = typer.Option("mixed", "--preset", help="Synthetic scene to generate (see `borderwatch synth --help`)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Scene seed."),
    duration: float = typer.Option(30.0, "--duration", min=2.0, max=600.0, help="Scene length in seconds."),
) -> None:
    """Generate a short border scene with exact truth, scan it, and compare."""
    from rich.console import Console

    from ..config import line_from_cli, make_config
    from ..errors import ConfigError
    from ..eval import evaluate, load_predictions, load_truth
    from ..eval.suite import line_args
    from ..scan import run_scan
    from ..synth import PRESETS, generate

    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(sorted(PRESETS))}")
    con = Console()
    out.mkdir(parents=True, exist_ok=True)
    video = out / f"{preset}-s{seed}.mp4"
    con.print(f"[bold]1. generating[/] a {duration:g} s '{preset}' scene (seed {seed}) -> {video}")
    truth_file = video.with_name(video.stem + ".truth.json")
    generate(PRESETS[preset](seed, duration_s=duration), video)
    lines, sides = line_args(truth_file)
    con.print(f"[bold]2. scanning[/] with --line \"{lines[0]}\" --sides {','.join(sides)}")
    cfg = make_config([line_from_cli(t, ",".join(sides), name="border" if i == 0 else f"border{i + 1}") for i, t in enumerate(lines)])
    scan_dir = out / "scan"
    with progress_bar(enabled=sys.stderr.isatty(), label="scanning") as update:
        result = run_scan(video, cfg, scan_dir, progress=update)
    res = evaluate(scan_dir, truth_file)
    _side_by_side(con, load_truth(truth_file).crossings, load_predictions(scan_dir), res)
    con.print(
        f"\nrecall {res.recall:.3f}, precision {res.precision:.3f}; "
        f"{result.summary['frames_decoded']} frames in {result.summary['processing']['seconds']:.1f} s. "
        f"Records in {scan_dir}/ (crossings.jsonl, coverage.jsonl, ledger.jsonl, summary.json, snapshots/)."
    )
    from ..coverage.report import load_account, statements

    con.print("[bold]3. coverage[/] (what the camera could see; the statement a scan supports):")
    for st in statements(load_account(scan_dir)):
        con.print(f"  {st.text}", highlight=False)
    con.print(f"Try: borderwatch eval {scan_dir} {truth_file}")
    con.print(f"     borderwatch coverage {scan_dir}     (a timeline PNG and the impaired intervals)")
    con.print(f"     borderwatch ledger verify {scan_dir} --source {video}")


def _side_by_side(con: Any, truth: list[Any], pred: list[Any], res: Any) -> None:
    """One row per truth crossing with what the scan found for it, then the extras."""
    from rich.table import Table

    t = Table(title="Crossings: truth vs found (same line and direction, within ±1 s)")
    for col in ("truth t (s)", "line", "direction", "label", "found t (s)", "Δ frames", ""):
        t.add_column(col)
    by_truth = {m.truth_id: m for m in res.matches}
    preds = {p.id: p for p in pred}
    for ev in sorted(truth, key=lambda e: e.time_s):
        m = by_truth.get(ev.id)
        if m is None:
            t.add_row(f"{ev.time_s:.2f}", ev.line, ev.direction, ev.label, "-", "", "[red]missed[/]")
        else:
            df = f"{m.dt_frames:+.0f}" if m.dt_frames is not None else ""
            t.add_row(f"{ev.time_s:.2f}", ev.line, ev.direction, ev.label, f"{preds[m.pred_id].time_s:.2f}", df, "[green]found[/]")
    for pid in res.false_positive_ids:
        p = preds[pid]
        t.add_row("-", p.line, p.direction, "", f"{p.time_s:.2f}", "", "[yellow]extra[/]")
    con.print(t)
