"""Render evaluation results as a rich table or as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .health import HealthScore, clean_impaired_s, total as health_total
from .match import EvalResult, aggregate

# Short headers so that the table fits an 80-column terminal (rich's width for pipes).
_HEADERS = ("clip", "truth", "pred", "TP", "FP", "FN", "dup", "dir\nerr", "recall", "prec", "F1", "max|Δt|\nframes")


def _table(title: str) -> Table:
    # Light borders and single spaces between columns: twelve columns in 80 characters.
    return Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)


def _pct(x: float) -> str:
    return f"{x:.3f}"


def _frames(r: EvalResult) -> str:
    v = r.time_error_max_frames
    if v is None:
        # Seconds are still meaningful when the truth gave no frame rate.
        return "-" if r.time_error_max_s is None else f"{r.time_error_max_s:.3f}s"
    return f"{v:.1f}"


def _row(r: EvalResult) -> list[str]:
    return [
        escape(r.clip),  # file names may contain [brackets], which rich reads as markup
        str(r.truth),
        str(r.pred),
        str(r.tp),
        str(r.fp),
        str(r.fn),
        str(r.duplicates),
        str(r.direction_errors),
        _pct(r.recall),
        _pct(r.precision),
        _pct(r.f1),
        _frames(r),
    ]


def summary_table(results: Sequence[EvalResult], total: EvalResult | None = None) -> Table:
    """One row per clip and a total row (micro-averaged) when there is more than one."""
    tol = results[0].tolerance_s if results else float("nan")
    table = _table(f"Crossing accuracy (match tolerance ±{tol:g} s)")
    for i, c in enumerate(_HEADERS):
        # The clip name folds rather than being cut: it is how a reader finds the clip.
        table.add_column(c, justify="left" if i == 0 else "right", no_wrap=i > 0, overflow="fold" if i == 0 else "ellipsis")
    for r in results:
        table.add_row(*_row(r))
    if len(results) != 1:
        total = total or aggregate(results)
        table.add_row(*_row(total), style="bold", end_section=True)
    return table


def breakdown_table(result: EvalResult, by: str = "direction") -> Table:
    """Per-direction (``line:from->to``) or per-label counts of one result."""
    slices = result.per_direction if by == "direction" else result.per_label
    table = _table(f"By {by} ({result.clip})")
    for i, col in enumerate((by, "truth", "pred", "TP", "FP", "FN", "recall", "precision", "F1")):
        table.add_column(col, justify="left" if i == 0 else "right")
    for key, c in sorted(slices.items()):
        d = c.to_dict()
        table.add_row(
            escape(key) if key else "(none)",
            str(d["truth"]),
            str(d["pred"]),
            str(d["tp"]),
            str(d["fp"]),
            str(d["fn"]),
            _pct(d["recall"]),
            _pct(d["precision"]),
            _pct(d["f1"]),
        )
    return table


def print_report(results: Sequence[EvalResult], console: Console | None = None) -> None:
    """The human report: summary, breakdowns of all clips together, time error, warnings."""
    console = console or Console()
    total = aggregate(results)
    console.print(summary_table(results, total))
    if total.truth or total.pred:
        console.print(breakdown_table(total, "direction"))
        console.print(breakdown_table(total, "label"))
    if total.matches:
        mean_s, max_s = total.time_error_mean_s or 0.0, total.time_error_max_s or 0.0
        frames = ""
        if total.time_error_mean_frames is not None:
            frames = f" ({total.time_error_mean_frames:.2f} / {total.time_error_max_frames:.2f} frames)"
        console.print(f"time error of matches: mean {mean_s:.3f} s, max {max_s:.3f} s{frames}")
    if total.label_mismatches:
        console.print(f"label mismatches among matches: {total.label_mismatches}")
    for w in total.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False)


def health_table(scores: Sequence[HealthScore]) -> Table:
    """Time-weighted recall and precision of impaired time, per clip and cause."""
    table = _table("Camera health (time-weighted, per cause)")
    for i, col in enumerate(("clip", "cause", "truth s", "flagged s", "hit s", "recall", "prec")):
        table.add_column(col, justify="left" if i < 2 else "right")
    rows = list(scores) + ([health_total(list(scores))] if len(scores) > 1 else [])
    for sc in rows:
        style = "bold" if sc.clip == "total" and len(scores) > 1 else None
        for c in sc.causes.values():
            table.add_row(escape(sc.clip), c.cause, f"{c.truth_s:.1f}", f"{c.pred_s:.1f}", f"{c.hit_s:.1f}",
                          _pct(c.recall), _pct(c.precision), style=style)  # fmt: skip
        for cause, v in sc.other_s.items():
            table.add_row(escape(sc.clip), f"{cause} (not in truth)", "0.0", f"{v:.1f}", "-", "-", "-", style=style)
        if not sc.causes and not sc.other_s:
            table.add_row(escape(sc.clip), "(clean: nothing flagged)", "0.0", "0.0", "-", "-", "-", style=style)
    return table


def print_health(scores: Sequence[HealthScore], console: Console | None = None) -> None:
    console = console or Console()
    console.print(health_table(scores))
    clean = [s for s in scores if s.clean]
    if clean:
        console.print(f"impaired time flagged on {len(clean)} clean clip(s): {clean_impaired_s(list(scores)):.1f} s")


def report_dict(results: Sequence[EvalResult], health: Sequence[HealthScore] = ()) -> dict[str, Any]:
    """Machine-readable report: every clip in full and the micro-averaged total."""
    total = aggregate(results)
    out: dict[str, Any] = {
        "tolerance_s": results[0].tolerance_s if results else None,
        "clips": [r.to_dict() for r in results],
        # Matches are already listed per clip; repeating them in the total adds nothing.
        "total": total.to_dict(with_matches=False),
    }
    if health:
        out["health"] = {
            "clips": [h.to_dict() for h in health],
            "total": health_total(list(health)).to_dict(),
            "clean_impaired_s": round(clean_impaired_s(list(health)), 3),
        }
    return out


def report_json(results: Sequence[EvalResult], indent: int | None = 2, health: Sequence[HealthScore] = ()) -> str:
    return json.dumps(report_dict(results, health), indent=indent, ensure_ascii=False)
