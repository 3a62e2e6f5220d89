"""Crossing accuracy of borderwatch and of the peer pipeline on the generated suite.

Clips: the accuracy suite of ``borderwatch.eval.suite`` -- ``default_cases`` (the 13
hard-case presets x ``--seeds``, 640x360) and ``speed_cases`` (walk, vehicle and mixed
at 5 and 60 px/frame, same seeds). Clips are generated once into ``--cache`` and reused
by later runs. Each clip is scanned by borderwatch (``borderwatch_scanner``: default
settings, no snapshots) and by ``benchmarks/peer.py`` (``run_peer``), and both are
scored against the exact truth with ``borderwatch.eval.evaluate`` (one-to-one matching,
same line and direction, |dt| <= 1 s).

Targets (borderwatch; the peer is scored against the same ones for comparison), on the
default suite unless said otherwise:

* recall >= 0.98 and precision >= 0.98;
* no predicted crossing at all on ``loiter`` and ``along_line`` clips, no FP on
  ``back_and_forth`` clips;
* time error of matched crossings: max |dt| <= 1 frame (also given separately over
  truth crossings that are not occluded and those that are: ``occluded`` in the truth);
* speed: recall at 60 px/frame / recall at 5 px/frame >= 0.95 (``speed_cases``);
* trail camera: recall 1.0 on the ``trailcam`` clips.

The peer takes one segment: for the suite's 3-point polyline it counts on the segment
from the first to the last point (see ``benchmarks/peer.py``); the output says so.

The figure (57 clips; about 3 minutes on 2 cores with the clips cached, a few more the
first time, when they are generated)::

    python benchmarks/accuracy.py --json-out bench-out/accuracy.json

Exit status: 0 every borderwatch target PASS, 2 some FAIL, 1 an error.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from borderwatch.eval import EvalResult, aggregate, evaluate
from borderwatch.eval.report import _frames, _pct, _table
from borderwatch.eval.suite import (
    HARD_CASES,
    NO_CROSSING_CASES,
    Case,
    borderwatch_scanner,
    default_cases,
    ensure_clip,
    line_args,
    speed_cases,
)

HERE = Path(__file__).resolve().parent

TARGET_RECALL = 0.98
TARGET_PRECISION = 0.98
TARGET_MAX_DT_FRAMES = 1.0
TARGET_SPEED_RATIO = 0.95
TARGET_TRAILCAM_RECALL = 1.0
FP_FREE_CASES = ("back_and_forth",)  # extra crossings are errors; the true ones count
PEER_POLYLINE_NOTE = (
    "peer: sv.LineZone takes one segment; on a polyline of 3+ points it counts on the "
    "segment from the first to the last point"
)

TOOLS = ("borderwatch", "peer")


# --- scanners ---------------------------------------------------------------------


def _parse_line(text: str) -> list[tuple[float, float]]:
    pts = []
    for tok in text.split():
        x, y = tok.split(",")
        pts.append((float(x), float(y)))
    return pts


def peer_scanner(video: Path, lines: list[str], sides: tuple[str, str], out: Path) -> Any:
    """``run_suite``'s Scanner signature around ``benchmarks/peer.run_peer``.

    ``lines`` are the suite's ``--line`` texts (fractions of width/height); the peer
    counts one line, the first, named ``border`` as in the truth.
    """
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from peer import run_peer

    if len(lines) != 1:
        raise ValueError(f"peer counts one line; the clip has {len(lines)}")
    with warnings.catch_warnings():
        # Its polyline warning is reported once, in the output notes.
        warnings.simplefilter("ignore", UserWarning)
        return run_peer(video, _parse_line(lines[0]), out, sides, line_name="border")


SCANNERS: dict[str, Callable[[Path, list[str], tuple[str, str], Path], Any]] = {
    "borderwatch": borderwatch_scanner,
    "peer": peer_scanner,
}


# --- running ----------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(s) for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
    except (OSError, ValueError):
        return []


def run_case(case: Case, cache: Path, work: Path, tools: Sequence[str], tolerance_s: float) -> dict[str, Any]:
    """Generate (if needed), scan with each tool and score one clip."""
    t0 = time.perf_counter()
    video, truth_path = ensure_clip(case, cache)
    gen_s = time.perf_counter() - t0
    lines, sides = line_args(truth_path)
    truth_raw = json.loads(truth_path.read_text())
    occluded = {c.get("id", i): bool(c.get("occluded", False)) for i, c in enumerate(truth_raw["crossings"])}
    truth_time = {c.get("id", i): float(c["time_s"]) for i, c in enumerate(truth_raw["crossings"])}
    entry: dict[str, Any] = {
        "case": case,
        "video": str(video),
        "truth_path": str(truth_path),
        "lines": lines,
        "polyline_points": max(len(s.split()) for s in lines),
        "occluded": occluded,
        "truth_time": truth_time,
        "generate_s": gen_s,
        "tools": {},
    }
    for tool in tools:
        out = work / tool / case.name
        out.mkdir(parents=True, exist_ok=True)
        (out / "crossings.jsonl").unlink(missing_ok=True)
        error = None
        t1 = time.perf_counter()
        try:
            SCANNERS[tool](video, lines, sides, out)
        except Exception as exc:  # noqa: BLE001 - one failed clip must not lose the run
            error = f"{type(exc).__name__}: {exc}"
            (out / "scan-error.txt").write_text(traceback.format_exc())
        scan_s = time.perf_counter() - t1
        if not (out / "crossings.jsonl").exists():
            (out / "crossings.jsonl").write_text("")  # a failed scan found nothing
        res = evaluate(out, truth_path, tolerance_s, clip=case.name)
        preds = {p.get("id", n): p for n, p in enumerate(_read_jsonl(out / "crossings.jsonl"), start=1)}
        entry["tools"][tool] = {"result": res, "scan_s": scan_s, "error": error, "preds": preds, "out": str(out)}
    return entry


# --- figures ----------------------------------------------------------------------


def _dts(entries: list[dict[str, Any]], tool: str, which: str = "all") -> list[float]:
    """Signed time errors in frames of matched crossings; ``which``: all/clear/occluded."""
    v = []
    for e in entries:
        for m in e["tools"][tool]["result"].matches:
            occ = e["occluded"].get(m.truth_id, False)
            if which == "all" or (which == "occluded") == occ:
                v.append(m.dt_frames if m.dt_frames is not None else float("nan"))
    return v


def _max_abs(v: list[float]) -> float | None:
    return max((abs(x) for x in v), default=None)


def _hist(v: list[float]) -> dict[str, int]:
    """Signed time errors in frames, counted by value (rounded to 0.1 frame)."""
    c = Counter(round(x, 1) + 0.0 for x in v)
    return {(f"{k:+g}" if k else "0"): n for k, n in sorted(c.items())}


def _agg(entries: list[dict[str, Any]], tool: str, name: str) -> EvalResult | None:
    rs = [e["tools"][tool]["result"] for e in entries]
    return aggregate(rs, clip=name) if rs else None


def figures(
    suite: list[dict[str, Any]], speed: list[dict[str, Any]], tool: str, speeds: tuple[float, float]
) -> dict[str, Any]:
    tot = _agg(suite, tool, "suite")
    f: dict[str, Any] = {}
    f["suite"] = tot.to_dict(with_matches=False) if tot else None
    f["recall"] = tot.recall if tot and tot.truth else None
    f["precision"] = tot.precision if tot and tot.pred + tot.truth else None
    nocross = [e for e in suite if e["case"].preset in NO_CROSSING_CASES]
    f["no_crossing_clips"] = len(nocross)
    f["no_crossing_pred"] = sum(e["tools"][tool]["result"].pred for e in nocross) if nocross else None
    fpfree = [e for e in suite if e["case"].preset in FP_FREE_CASES]
    f["back_and_forth_clips"] = len(fpfree)
    f["back_and_forth_fp"] = sum(e["tools"][tool]["result"].fp for e in fpfree) if fpfree else None
    for which in ("all", "clear", "occluded"):
        v = _dts(suite, tool, which)
        f[f"dt_{which}_n"] = len(v)
        f[f"dt_{which}_max_frames"] = _max_abs(v)
        f[f"dt_{which}_hist"] = _hist(v)
    trail = [e for e in suite if e["case"].preset == "trailcam"]
    tr = _agg(trail, tool, "trailcam")
    f["trailcam"] = tr.to_dict(with_matches=False) if tr else None
    f["trailcam_recall"] = tr.recall if tr else None
    lo, hi = speeds
    by_speed = {}
    for v in speeds:
        es = [e for e in speed if e["case"].overrides.get("speed") == v]
        a = _agg(es, tool, f"speed{v:g}")
        by_speed[f"{v:g}"] = a.to_dict(with_matches=False) if a else None
    f["speed"] = by_speed
    r_lo = by_speed.get(f"{lo:g}")
    r_hi = by_speed.get(f"{hi:g}")
    f["speed_ratio"] = r_hi["recall"] / r_lo["recall"] if r_lo and r_hi and r_lo["recall"] > 0 else None
    return f


def targets(f: dict[str, Any], speeds: tuple[float, float]) -> list[dict[str, Any]]:
    """One row per target: name, threshold text, value, and pass (None = not measured)."""

    def ge(v: float | None, t: float) -> bool | None:
        return None if v is None else v >= t - 1e-9

    def le(v: float | None, t: float) -> bool | None:
        return None if v is None else v <= t + 1e-9

    lo, hi = speeds
    return [
        {"target": "recall (suite)", "threshold": f">= {TARGET_RECALL}", "value": f["recall"],
         "pass": ge(f["recall"], TARGET_RECALL)},
        {"target": "precision (suite)", "threshold": f">= {TARGET_PRECISION}", "value": f["precision"],
         "pass": ge(f["precision"], TARGET_PRECISION)},
        {"target": f"crossings on {', '.join(NO_CROSSING_CASES)}",
         "threshold": "0", "value": f["no_crossing_pred"], "pass": le(f["no_crossing_pred"], 0)},
        {"target": "FP on back_and_forth", "threshold": "0",
         "value": f["back_and_forth_fp"], "pass": le(f["back_and_forth_fp"], 0)},
        {"target": f"max |Δt| frames (n={f['dt_all_n']})", "threshold": f"<= {TARGET_MAX_DT_FRAMES:g}",
         "value": f["dt_all_max_frames"], "pass": le(f["dt_all_max_frames"], TARGET_MAX_DT_FRAMES)},
        {"target": f"  not occluded (n={f['dt_clear_n']})", "threshold": f"<= {TARGET_MAX_DT_FRAMES:g}",
         "value": f["dt_clear_max_frames"], "pass": le(f["dt_clear_max_frames"], TARGET_MAX_DT_FRAMES),
         "detail": True},
        {"target": f"  occluded (n={f['dt_occluded_n']})", "threshold": f"<= {TARGET_MAX_DT_FRAMES:g}",
         "value": f["dt_occluded_max_frames"], "pass": le(f["dt_occluded_max_frames"], TARGET_MAX_DT_FRAMES),
         "detail": True},
        {"target": f"recall {hi:g} / {lo:g} px/frame", "threshold": f">= {TARGET_SPEED_RATIO}",
         "value": f["speed_ratio"], "pass": ge(f["speed_ratio"], TARGET_SPEED_RATIO)},
        {"target": "recall on trailcam", "threshold": f">= {TARGET_TRAILCAM_RECALL:g}", "value": f["trailcam_recall"],
         "pass": ge(f["trailcam_recall"], TARGET_TRAILCAM_RECALL)},
    ]  # fmt: skip


# --- printing ---------------------------------------------------------------------


def _tpfpfn(r: EvalResult) -> str:
    return f"{r.tp}/{r.fp}/{r.fn}"


def _val(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}" if not v.is_integer() or v < 2 else f"{v:g}"
    return str(v)


def _verdict(p: bool | None) -> str:
    return "n/a" if p is None else ("PASS" if p else "[red]FAIL[/red]")


def clip_table(title: str, entries: list[dict[str, Any]], tools: Sequence[str]) -> Any:
    table = _table(title)
    table.add_column("clip", justify="left", overflow="fold")
    for c in ("truth", "occl"):
        table.add_column(c, justify="right", no_wrap=True)
    for t in tools:
        short = "bw" if t == "borderwatch" else t
        table.add_column(f"{short}\nTP/FP/FN", justify="right", no_wrap=True)
        table.add_column(f"{short} max\n|Δt| fr", justify="right", no_wrap=True)
    for e in entries:
        res = [e["tools"][t]["result"] for t in tools]
        occl = sum(1 for v in e["occluded"].values() if v)
        row = [escape(e["case"].name), str(res[0].truth), str(occl)]
        for t, r in zip(tools, res):
            bad = r.fp or r.fn or e["tools"][t]["error"]
            row += [("[red]" + _tpfpfn(r) + "[/red]") if bad else _tpfpfn(r), _frames(r)]
        table.add_row(*row)
    if len(entries) > 1:
        res = [_agg(entries, t, "total") for t in tools]
        occl = sum(sum(1 for v in e["occluded"].values() if v) for e in entries)
        row = ["total", str(res[0].truth), str(occl)]
        for r in res:
            row += [_tpfpfn(r), _frames(r)]
        table.add_row(*row, style="bold")
    return table


def preset_table(title: str, groups: dict[str, list[dict[str, Any]]], tools: Sequence[str]) -> Any:
    table = _table(title)
    table.add_column("preset", justify="left")
    for c in ("clips", "truth"):
        table.add_column(c, justify="right", no_wrap=True)
    for t in tools:
        short = "bw" if t == "borderwatch" else t
        for c in ("TP/FP/FN", "recall", "prec"):
            table.add_column(f"{short}\n{c}", justify="right", no_wrap=True)
    for name, es in groups.items():
        res = [_agg(es, t, name) for t in tools]
        row = [escape(name), str(len(es)), str(res[0].truth)]
        for r in res:
            row += [_tpfpfn(r), _pct(r.recall), _pct(r.precision)]
        table.add_row(*row)
    return table


def targets_table(rows: dict[str, list[dict[str, Any]]], tools: Sequence[str]) -> Any:
    table = _table("Targets (borderwatch's; the peer measured against the same)")
    table.add_column("target", justify="left")
    table.add_column("target\nvalue", justify="right", no_wrap=True)
    for t in tools:
        short = "bw" if t == "borderwatch" else t
        table.add_column(short, justify="right", no_wrap=True)
        table.add_column("", justify="left", no_wrap=True)
    first = rows[tools[0]]
    for i, r0 in enumerate(first):
        row = [escape(r0["target"]), r0["threshold"]]
        for t in tools:
            r = rows[t][i]
            row += [_val(r["value"]), _verdict(r["pass"]) if not r.get("detail") else "(" + _verdict(r["pass"]) + ")"]
        table.add_row(*row)
    return table


def notable(entries: list[dict[str, Any]], tool: str) -> list[str]:
    """Misses, extra crossings and matches off by more than a frame, one line each."""
    lines = []
    for e in entries:
        t = e["tools"][tool]
        r: EvalResult = t["result"]
        name = e["case"].name
        if t["error"]:
            lines.append(f"{name}: scan failed: {t['error']}")
        for tid in r.false_negative_ids:
            occ = " occluded" if e["occluded"].get(tid) else ""
            lines.append(f"{name}: missed truth #{tid} at {e['truth_time'].get(tid, float('nan')):.2f} s{occ}")
        for pid in r.false_positive_ids:
            p = t["preds"].get(pid, {})
            kind = "duplicate" if pid in r.duplicate_ids else "extra"
            if any(pid == pj for _, pj in r.direction_error_pairs):
                kind = "wrong direction"
            lines.append(f"{name}: {kind} prediction #{pid} at {p.get('time_s', float('nan')):.2f} s "
                         f"{p.get('direction', '')}")  # fmt: skip
        for m in r.matches:
            if m.dt_frames is not None and abs(m.dt_frames) > TARGET_MAX_DT_FRAMES + 1e-9:
                occ = "occluded" if e["occluded"].get(m.truth_id) else "not occluded"
                inf = " inferred" if t["preds"].get(m.pred_id, {}).get("inferred") else ""
                lines.append(f"{name}: truth #{m.truth_id} at {e['truth_time'].get(m.truth_id, 0):.2f} s ({occ}): "
                             f"dt {m.dt_frames:+.1f} frames, prediction #{m.pred_id}{inf}")  # fmt: skip
    return lines


# --- main -------------------------------------------------------------------------


def _entry_json(e: dict[str, Any], tools: Sequence[str]) -> dict[str, Any]:
    c = e["case"]
    d: dict[str, Any] = {
        "clip": c.name, "preset": c.preset, "seed": c.seed, "overrides": c.overrides, "video": e["video"],
        "truth": e["truth_path"], "lines": e["lines"], "generate_s": e["generate_s"],
        "occluded_truth_ids": [k for k, v in e["occluded"].items() if v], "tools": {},
    }  # fmt: skip
    for t in tools:
        x = e["tools"][t]
        rd = x["result"].to_dict()
        for m in rd.get("matches", []):
            m["truth_occluded"] = e["occluded"].get(m["truth_id"], False)
            m["pred_inferred"] = bool(x["preds"].get(m["pred_id"], {}).get("inferred", False))
        d["tools"][t] = {"scan_s": x["scan_s"], "error": x["error"], "out": x["out"], "eval": rd}
    return d


def _git() -> dict[str, Any]:
    """The commit, and how src/ differed from it (the figure is of the working tree)."""
    import subprocess

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=HERE.parent, capture_output=True, text=True, timeout=30).stdout.strip()

    try:
        import hashlib

        diff = git("diff", "HEAD", "--", "src")
        return {
            "commit": git("rev-parse", "HEAD"),
            "src_changes": git("status", "--short", "--", "src").splitlines(),
            "src_diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="the figure: python benchmarks/accuracy.py --json-out bench-out/accuracy.json",
    )  # fmt: skip
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    ap.add_argument(
        "--presets", default=",".join(HARD_CASES), help="comma-separated presets (default: the 13 hard cases)"
    )
    ap.add_argument("--speeds", default="5,60", help="the two speeds of the speed test, px/frame (default 5,60)")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed clips")
    ap.add_argument("--no-peer", action="store_true", help="score borderwatch only")
    ap.add_argument("--fast-decode", action="store_true", help="scan with fast_decode (no deblocking filter)")
    ap.add_argument("--cache", type=Path, default=Path("bench-out/suite-cache"), help="generated clips (reused)")
    ap.add_argument("--work", type=Path, default=Path("bench-out/accuracy"), help="scan outputs go here")
    ap.add_argument("--tolerance", type=float, default=1.0, help="match tolerance, seconds (default 1)")
    ap.add_argument("--json-out", type=Path, help="write everything as JSON here")
    args = ap.parse_args(argv)

    seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
    presets = tuple(p.strip() for p in args.presets.split(",") if p.strip())
    unknown = sorted(set(presets) - set(HARD_CASES))
    if unknown:
        from borderwatch.synth import PRESETS

        if set(unknown) - set(PRESETS):
            ap.error(f"unknown presets: {', '.join(sorted(set(unknown) - set(PRESETS)))}")
    sp = tuple(float(s) for s in args.speeds.split(","))
    if len(sp) != 2:
        ap.error("--speeds takes two values: slow,fast")
    speeds: tuple[float, float] = (sp[0], sp[1])
    tools = ("borderwatch",) if args.no_peer else TOOLS
    if args.fast_decode:
        SCANNERS["borderwatch"] = functools.partial(borderwatch_scanner, fast_decode=True)

    suite_cases = default_cases(seeds=seeds, presets=presets)
    spd_cases = [] if args.no_speed else speed_cases(speeds, seeds=seeds)
    console = Console()
    err = Console(stderr=True)
    git_start = _git()  # the code is imported at the first scan: this is the tree measured
    t_start = time.perf_counter()
    suite: list[dict[str, Any]] = []
    speed: list[dict[str, Any]] = []
    all_cases = [(c, suite) for c in suite_cases] + [(c, speed) for c in spd_cases]
    for n, (case, bucket) in enumerate(all_cases, start=1):
        try:
            e = run_case(case, args.cache, args.work, tools, args.tolerance)
        except Exception as exc:  # noqa: BLE001 - generation or truth failed: nothing to score
            err.print(f"{case.name}: {type(exc).__name__}: {exc}", highlight=False, markup=False)
            return 1
        bucket.append(e)
        parts = [f"{t} {_tpfpfn(e['tools'][t]['result'])} in {e['tools'][t]['scan_s']:.1f}s" for t in tools]
        err.print(f"[{n}/{len(all_cases)}] {case.name}: truth {e['tools'][tools[0]]['result'].truth}, "
                  + ", ".join(parts) + ("" if e["generate_s"] < 0.5 else f" (generated in {e['generate_s']:.0f}s)"),
                  highlight=False, markup=False)  # fmt: skip
    elapsed = time.perf_counter() - t_start

    figs = {t: figures(suite, speed, t, speeds) for t in tools}
    rows = {t: targets(figs[t], speeds) for t in tools}
    notes = []
    if "peer" in tools and any(e["polyline_points"] > 2 for e in suite + speed):
        notes.append(PEER_POLYLINE_NOTE)

    console.print(clip_table(f"Per clip: generated suite, seeds {args.seeds} (TP/FP/FN; ±{args.tolerance:g} s)",
                             suite, tools))  # fmt: skip
    if speed:
        console.print(clip_table("Per clip: speed test", speed, tools))
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in suite:
        groups.setdefault(e["case"].preset, []).append(e)
    for e in speed:
        groups.setdefault(f"speed {e['case'].overrides['speed']:g} px/fr", []).append(e)
    console.print(preset_table("Per preset", groups, tools))
    for t in tools:
        f = figs[t]
        console.print(f"{t}: signed time error of matches, frames -> count (suite):", highlight=False)
        for which, what in (("all", "all"), ("clear", "not occluded"), ("occluded", "occluded")):
            h = "  ".join(f"{k}:{v}" for k, v in f[f"dt_{which}_hist"].items()) or "-"
            console.print(f"  {what:13s} {h}", highlight=False)
    console.print(targets_table(rows, tools))
    for t in tools:
        ls = notable(suite + speed, t)
        if ls:
            console.print(f"{t}: {len(ls)} misses / extra / off by > {TARGET_MAX_DT_FRAMES:g} frame:", highlight=False)
            for s in ls if t == "borderwatch" else ls[:40]:
                console.print("  " + escape(s), highlight=False)
            if t != "borderwatch" and len(ls) > 40:
                console.print(f"  ... {len(ls) - 40} more in the JSON", highlight=False)
    for s in notes:
        console.print(s, highlight=False)
    console.print(f"{len(suite) + len(speed)} clips, {elapsed:.0f} s", highlight=False)

    bw_ok = all(r["pass"] is not False for r in rows["borderwatch"] if not r.get("detail"))
    if args.json_out:
        payload = {
            "command": " ".join([Path(sys.argv[0]).as_posix()] + (sys.argv[1:] if argv is None else list(argv))),
            "git": git_start,
            "git_at_end": _git(),
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "seeds": list(seeds), "presets": list(presets), "speeds": list(speeds),
            "tolerance_s": args.tolerance, "cache": str(args.cache), "elapsed_s": elapsed, "notes": notes,
            "targets": rows, "figures": figs,
            "notable": {t: notable(suite + speed, t) for t in tools},
            "clips": [_entry_json(e, tools) for e in suite + speed],
            "borderwatch_pass": bw_ok,
        }  # fmt: skip
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return 0 if bw_ok else 2


if __name__ == "__main__":
    sys.exit(main())
