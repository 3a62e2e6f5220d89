"""`borderwatch eval`: score a scan's crossings against ground truth."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..errors import ConfigError
from . import app

if TYPE_CHECKING:
    from ..eval import EvalResult
    from ..eval.health import HealthScore

_HELP = """Score the crossings of one or more scans against ground truth.

Give a scan output directory (or its crossings.jsonl) followed by the ground-truth JSON of the same clip; repeat the pair to score several clips and get a total row (counts summed, rates recomputed).

A prediction matches a truth crossing on the same line, in the same direction, within --tolerance seconds; the assignment is one-to-one and optimal. Extra predictions near an already matched crossing are counted as duplicates, and predictions that meet a missed crossing in the opposite direction as direction errors (both are also FPs). With no truth, recall is 1; with no predictions, precision is 1.

When the truth lists camera faults (`borderwatch synth --fault ...` or a fault preset), the scan's impaired intervals (summary.json "coverage") are scored too: time-weighted recall and precision per cause. Time flagged with a cause the truth does not have is listed as "not in truth".

[bold]Example[/bold]

  borderwatch synth clip.mp4 --preset quiet
  borderwatch scan clip.mp4 --line "0,0.5 1,0.5" --out scan/
  borderwatch eval scan/ clip.json
  borderwatch eval scan1/ c1.json scan2/ c2.json --tolerance 0.5 --json > score.json
"""


@app.command("eval", help=_HELP, no_args_is_help=True)
def eval_command(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PRED_DIR TRUTH.json [PRED_DIR TRUTH.json ...]",
        help="Pairs of scan output (directory or crossings.jsonl) and ground-truth JSON.",
        show_default=False,
    ),
    tolerance: float = typer.Option(
        1.0, "--tolerance", "-t", min=0.0, help="Largest |time difference| in seconds for a match."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON instead of tables."),
) -> None:
    # Imported here so `borderwatch --help` does not pay for scipy and rich tables.
    from ..eval import evaluate
    from ..eval.report import print_report, report_json

    if len(paths) % 2:
        raise ConfigError(
            f"eval takes pairs of PRED_DIR TRUTH.json; got {len(paths)} path(s): " + " ".join(map(str, paths))
        )
    pairs = [(paths[i], paths[i + 1]) for i in range(0, len(paths), 2)]
    results = [evaluate(pred, truth, tolerance_s=tolerance) for pred, truth in pairs]
    _dedupe_clip_names(results, [pred for pred, _ in pairs])
    health = _health_scores(pairs, results)
    if as_json:
        sys.stdout.write(report_json(results, health=health) + "\n")
    else:
        print_report(results)
        if health:
            from ..eval.report import print_health

            print_health(health)


def _health_scores(pairs: list[tuple[Path, Path]], results: list[EvalResult]) -> list[HealthScore]:
    """Health scores for the clips whose truth lists faults (a "faults" key)."""
    from ..eval import load_truth
    from ..eval.health import load_scan_coverage, score_health

    scores = []
    for (pred, truth_path), res in zip(pairs, results):
        truth = load_truth(truth_path)
        faults = truth.raw.get("faults")
        if faults is None:
            continue
        if not isinstance(faults, list):
            raise ConfigError(f"{truth_path}: 'faults' must be a list")
        intervals, duration = load_scan_coverage(pred)
        scores.append(score_health(faults, intervals, duration, res.clip))
    return scores


def _dedupe_clip_names(results: list[EvalResult], preds: list[Path]) -> None:
    # Scoring two scans of one clip (e.g. two settings) is common: name rows by scan too.
    names = [r.clip for r in results]
    for r, pred in zip(results, preds):
        if names.count(r.clip) > 1:
            p = pred.resolve()
            r.clip = f"{r.clip} [{(p.parent if p.is_file() else p).name}]"
