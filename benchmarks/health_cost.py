"""What camera-health monitoring costs: `scan` with and without it, same file, same run.

Target (issue 3): health monitoring costs at most 5 % of scan throughput.

Runs ``borderwatch scan FILE --no-snapshots`` and ``... --no-health`` alternately,
``--repeat`` times each, each as its own process, and compares the fastest runs: the
in-process processing time from summary.json (what the monitoring adds to the scan's
own work) and the whole-process wall clock.

    python benchmarks/health_cost.py --video bench-out/tp/quiet720.mp4 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_COST = 0.05
DEFAULT_LINE = "0,0.54 0.5,0.48 1,0.52"


def run_once(video: Path, line: str, health: bool, out: Path) -> tuple[float, float, int]:
    cmd = [sys.executable, "-m", "borderwatch", "scan", str(video), "--line", line, "--out", str(out), "--no-snapshots", "--json"]
    if not health:
        cmd.append("--no-health")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    summary = json.loads(proc.stdout)
    return wall, float(summary["processing"]["seconds"]), int(summary["frames_decoded"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, action="append", required=True, help="Video to scan (repeatable).")
    ap.add_argument("--line", default=DEFAULT_LINE)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bw-health-cost-") as tmp:
        for video in args.video:
            best: dict[bool, tuple[float, float, int]] = {}
            for i in range(args.repeat):
                for health in (True, False) if i % 2 == 0 else (False, True):
                    r = run_once(video, args.line, health, Path(tmp) / f"out-{health}")
                    if health not in best or r[1] < best[health][1]:
                        best[health] = r
            on, off = best[True], best[False]
            row = {
                "video": str(video),
                "frames": on[2],
                "with_health_s": round(on[1], 3),
                "without_health_s": round(off[1], 3),
                "cost_in_process": round(on[1] / off[1] - 1.0, 4),
                "wall_with_s": round(on[0], 3),
                "wall_without_s": round(off[0], 3),
                "cost_whole_process": round(on[0] / off[0] - 1.0, 4),
            }
            row["met"] = row["cost_in_process"] <= TARGET_COST
            results.append(row)
            print(
                f"{video.name}: {row['frames']} frames; processing {row['with_health_s']} s with health, "
                f"{row['without_health_s']} s without: cost {100 * row['cost_in_process']:+.1f} % in-process, "
                f"{100 * row['cost_whole_process']:+.1f} % whole process "
                f"({'ok' if row['met'] else 'OVER'} against {100 * TARGET_COST:.0f} %), best of {args.repeat}"
            )
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps({"target": TARGET_COST, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
