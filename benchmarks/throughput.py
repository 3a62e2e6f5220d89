"""Throughput of ``borderwatch scan`` against FFmpeg's decoder and the peer pipeline.

For each video, in one run: time ``ffmpeg -threads 2 -i FILE -f null -`` (the decode
ceiling), ``borderwatch scan FILE --line ... --out DIR`` and ``benchmarks/peer.py``, each
as a separate process so that peak RSS is that process's own (``os.wait4`` rusage).
Each measurement is repeated ``--repeat`` times and the fastest run is kept. Frames per
second are end-to-end wall-clock (process start to exit), i.e. what a user waits for;
the tool's own ``elapsed_s`` from summary.json is also recorded when present.

Targets: scan/ffmpeg >= 0.85 and scan/peer >= 2.0.

When the scan is measured, so is its start-up alone (a process that only imports what
``borderwatch scan`` imports), and each video gets a *ceiling*: the whole-process
scan/ffmpeg ratio of a scan that decoded exactly as fast as ffmpeg and spent nothing on
analysis, ``ffmpeg_s / (ffmpeg_s + startup_s)``.

With no ``--video`` it generates quiet 720p and 1080p scenes with ``borderwatch synth``::

    python benchmarks/throughput.py --json-out bench.json
    python benchmarks/throughput.py --video clip.mp4 --line "0,0.5 1,0.5" --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET_SCAN_FFMPEG = 0.85
TARGET_SCAN_PEER = 2.0
DEFAULT_LINE = "0,0.5 1,0.5"


@dataclass
class Run:
    ok: bool
    wall_s: float
    peak_rss_mb: float
    rc: int
    frames: int | None = None
    internal_s: float | None = None
    error: str = ""


@dataclass
class Measurement:
    tool: str
    runs: list[Run] = field(default_factory=list)

    @property
    def best(self) -> Run | None:
        good = [r for r in self.runs if r.ok]
        return min(good, key=lambda r: r.wall_s) if good else None

    def fps(self, frames: int | None) -> float | None:
        b = self.best
        n = (b.frames if b and b.frames else None) or frames
        return n / b.wall_s if b and n and b.wall_s > 0 else None

    def internal_fps(self, frames: int | None) -> float | None:
        """Frames/s over the tool's own processing time (no interpreter start-up or imports)."""
        good = [r for r in self.runs if r.ok and r.internal_s]
        if not good:
            return None
        b = min(good, key=lambda r: r.internal_s or 0.0)
        n = b.frames or frames
        return n / b.internal_s if n and b.internal_s else None

    def to_dict(self, frames: int | None) -> dict[str, Any]:
        b = self.best
        return {
            "tool": self.tool,
            "available": b is not None,
            "frames_per_s": self.fps(frames),
            "frames_per_s_in_process": self.internal_fps(frames),
            "best_wall_s": b.wall_s if b else None,
            "peak_rss_mb": max((r.peak_rss_mb for r in self.runs if r.ok), default=None),
            "runs": [asdict(r) for r in self.runs],
            "error": None if b else (self.runs[-1].error if self.runs else "not run"),
        }


def run_child(cmd: list[str], log: Path, timeout_s: float) -> tuple[int, float, float]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS in MiB) of that process alone."""
    with log.open("wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            # wait4 gives this child's own rusage; getrusage(RUSAGE_CHILDREN) would be the
            # maximum over every child so far, which mixes the tools up.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # stop Popen from waiting again
    return proc.returncode, wall, usage.ru_maxrss / 1024.0  # ru_maxrss is KiB on Linux


def _tail(log: Path, n: int = 300) -> str:
    try:
        return " ".join(log.read_text(errors="replace")[-n:].split())
    except OSError:
        return ""


def _find_frames(obj: Any) -> int | None:
    """Frame count from a summary.json whose exact schema may still change."""
    if isinstance(obj, dict):
        for key in ("frames_decoded", "frames", "frame_count", "decoded_frames"):
            v = obj.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                return v
        for v in obj.values():
            found = _find_frames(v)
            if found:
                return found
    return None


def _find_elapsed(obj: Any) -> float | None:
    if isinstance(obj, dict):
        proc = obj.get("processing")
        if isinstance(proc, dict) and isinstance(proc.get("seconds"), (int, float)):
            return float(proc["seconds"])  # borderwatch's summary.json
        for key in ("elapsed_s", "wall_s", "duration_wall_s", "processing_s"):
            v = obj.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        for v in obj.values():
            found = _find_elapsed(v)
            if found is not None:
                return found
    return None


def time_ffmpeg(video: Path, work: Path, timeout_s: float) -> Run:
    log = work / "ffmpeg.log"
    # -progress prints the exact count of decoded frames at the end.
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-threads", "2", "-i", str(video),
           "-progress", "pipe:1", "-f", "null", "-"]  # fmt: skip
    rc, wall, rss = run_child(cmd, log, timeout_s)
    frames = None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("frame="):
            try:
                frames = int(line.split("=", 1)[1])
            except ValueError:
                pass
    return Run(rc == 0 and bool(frames), wall, rss, rc, frames, None, "" if rc == 0 else _tail(log))


def time_tool(name: str, cmd: list[str], out: Path, work: Path, timeout_s: float) -> Run:
    """Time a tool that writes summary.json into ``out`` (scan or peer)."""
    if out.exists():
        shutil.rmtree(out)
    log = work / f"{name}.log"
    try:
        rc, wall, rss = run_child(cmd, log, timeout_s)
    except OSError as exc:
        return Run(False, 0.0, 0.0, -1, error=f"cannot start: {exc}")
    summary: Any = None
    try:
        summary = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        pass
    # Exit 3 is borderwatch's "completed, part of the source undecodable".
    ok = rc in (0, 3) and summary is not None
    err = "" if ok else f"exit {rc}" + ("" if summary is not None else ", no summary.json") + f": {_tail(log)}"
    return Run(ok, wall, rss, rc, _find_frames(summary), _find_elapsed(summary), err)


# As the console script does it (borderwatch/cli/runtime.py): the same imports, under
# the same process settings.
STARTUP_CMD = [
    sys.executable,
    "-c",
    "from borderwatch.cli import runtime\n"
    "runtime.activate()\n"
    "with runtime.loading_modules():\n"
    "    import borderwatch.cli.scan, borderwatch.scan.pipeline\n"
    "runtime.before_exit()",
]


def time_startup(work: Path, repeat: int, timeout_s: float) -> float | None:
    """Fastest of ``repeat`` runs of a process that only imports what the scan imports."""
    best = None
    for _ in range(repeat):
        rc, wall, _ = run_child(STARTUP_CMD, work / "startup.log", timeout_s)
        if rc != 0:
            return None
        best = wall if best is None else min(best, wall)
    return best


# The scan variants timed: the default, and --fast-decode (no deblocking filter).
SCANS = {"scan": [], "fast": ["--fast-decode"]}


def measure(
    video: Path,
    line: str,
    repeat: int,
    work: Path,
    timeout_s: float,
    tools: set[str],
    startup_s: float | None = None,
) -> dict[str, Any]:
    m = {t: Measurement(t) for t in ("ffmpeg", *SCANS, "peer") if t in tools}
    cmds = {
        name: [sys.executable, "-m", "borderwatch", "scan", str(video), "--line", line, "--out", str(work / name), *extra]
        for name, extra in SCANS.items()
    }
    cmds["peer"] = [sys.executable, str(HERE / "peer.py"), str(video), "--line", line, "--out", str(work / "peer")]
    for _ in range(repeat):
        # Interleaved so that a slow spell of the machine hits every tool alike.
        if "ffmpeg" in m:
            m["ffmpeg"].runs.append(time_ffmpeg(video, work, timeout_s))
        for name in (*SCANS, "peer"):
            # One failed run is enough to call a tool unavailable; don't wait for it N times.
            if name in m and all(r.ok for r in m[name].runs):
                m[name].runs.append(time_tool(name, cmds[name], work / name, work, timeout_s))
    ff = m.get("ffmpeg")
    frames = ff.best.frames if ff and ff.best else None
    res: dict[str, Any] = {"video": str(video), "line": line, "frames": frames}
    res["tools"] = {k: v.to_dict(frames) for k, v in m.items()}
    fps = {k: v.fps(frames) for k, v in m.items()}
    f, p = fps.get("ffmpeg"), fps.get("peer")
    for name in SCANS:
        s = fps.get(name)
        res[f"{name}_over_ffmpeg"] = s / f if s and f else None
        res[f"{name}_over_peer"] = s / p if s and p else None
        si = m[name].internal_fps(frames) if name in m else None
        res[f"{name}_in_process_over_ffmpeg"] = si / f if si and f else None
    ff_s = ff.best.wall_s if ff and ff.best else None
    res["startup_s"] = startup_s
    res["ceiling_scan_over_ffmpeg"] = ff_s / (ff_s + startup_s) if ff_s and startup_s else None
    return res


def synth_default(work: Path, size: tuple[int, int], duration: float, timeout_s: float) -> tuple[Path, str] | None:
    """Generate a quiet scene; None (with a message) when ``borderwatch synth`` fails."""
    w, h = size
    video = work / f"quiet-{h}p.mp4"
    cmd = [sys.executable, "-m", "borderwatch", "synth", str(video), "--preset", "quiet",
           "--width", str(w), "--height", str(h), "--duration", str(duration)]  # fmt: skip
    log = work / f"synth-{h}p.log"
    rc, _, _ = run_child(cmd, log, timeout_s)
    if rc != 0 or not video.exists():
        print(f"borderwatch synth failed for {w}x{h} (exit {rc}): {_tail(log)}", file=sys.stderr)
        return None
    return video, _line_from_truth(video) or DEFAULT_LINE


def _line_from_truth(video: Path) -> str | None:
    # synth writes the ground truth next to the video; use its first line so that the
    # scan and the peer count at the border the scene was built around.
    for cand in (video.with_suffix(".json"), video.with_suffix(".truth.json")):
        try:
            data = json.loads(cand.read_text())
            pts = data["lines"][0]["points"]
            return " ".join(f"{float(x):g},{float(y):g}" for x, y in pts)
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return None


def machine() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "ffmpeg": shutil.which("ffmpeg"),
    }


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "n/a" if v is None else format(v, spec)


def print_table(results: list[dict[str, Any]], mach: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    title = f"Frames/s, best of N ({mach['usable_cpus']} usable of {mach['cpu_count']} CPUs, no pinning)"
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    heads = ("video", "frames", "ffmpeg\nf/s", "scan\nf/s", "scan/\nffmpeg", "in-\nprocess", "fast\nf/s",
             "fast/\nffmpeg", "in-\nprocess", "ceiling", "peer\nf/s", "scan/\npeer", "peak RSS MB\nffmpeg/scan/peer")  # fmt: skip
    for c in heads:
        table.add_column(c, justify="left" if c == "video" else "right", no_wrap=c != "video")
    for r in results:
        t = r["tools"]

        def fps(k: str) -> str:
            return _fmt(t[k]["frames_per_s"]) if k in t else "-"

        def rss(k: str) -> str:
            return _fmt(t[k]["peak_rss_mb"], ".0f") if k in t and t[k]["peak_rss_mb"] else "-"

        def ratio(v: float | None, target: float) -> str:
            return (_fmt(v, ".2f") + (" ok" if v >= target else " LOW")) if v else "-"

        table.add_row(
            Path(r["video"]).name,
            str(r["frames"] or "?"),
            fps("ffmpeg"),
            fps("scan"),
            ratio(r["scan_over_ffmpeg"], TARGET_SCAN_FFMPEG),
            _fmt(r.get("scan_in_process_over_ffmpeg"), ".2f"),
            fps("fast"),
            ratio(r["fast_over_ffmpeg"], TARGET_SCAN_FFMPEG),
            _fmt(r.get("fast_in_process_over_ffmpeg"), ".2f"),
            _fmt(r.get("ceiling_scan_over_ffmpeg"), ".2f"),
            fps("peer"),
            ratio(r["scan_over_peer"], TARGET_SCAN_PEER),
            "/".join(rss(k) for k in ("ffmpeg", "scan", "peer")),
        )
    # Piped into a file or a log, rich would squeeze the columns into 80 characters.
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    print(f"targets: scan/ffmpeg >= {TARGET_SCAN_FFMPEG}, scan/peer >= {TARGET_SCAN_PEER}; n/a = unavailable")
    print("scan/ffmpeg and scan/peer compare whole processes (the scan's Python start-up and imports")
    print("included); 'in-process' uses the scan's own processing time from summary.json. 'fast' is")
    print("borderwatch scan --fast-decode (no deblocking filter: inexact pictures).")
    startup = next((r["startup_s"] for r in results if r.get("startup_s")), None)
    if startup:
        print("ceiling: whole-process scan/ffmpeg with decoding as fast as `ffmpeg -threads 2` and no analysis,")
        print(f"after the scan's start-up alone ({startup:.2f} s: Python and its imports); the scan's decoder")
        print("runs more threads (io.video.scan_threads), so on costly streams the scan can pass it")
    for r in results:
        for k, v in r["tools"].items():
            if not v["available"]:
                print(f"{Path(r['video']).name}: {k} unavailable: {v['error']}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", action="append", default=[], type=Path, help="video to measure (repeatable)")
    ap.add_argument(
        "--line", action="append", default=[], help='"x1,y1 x2,y2" fractions; one for all or one per --video'
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest is kept (default 3)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of generated video (default 60)")
    ap.add_argument(
        "--tools", default="ffmpeg,scan,peer", help="comma-separated subset of ffmpeg,scan,fast,peer (fast: scan --fast-decode)"
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is killed")
    ap.add_argument("--workdir", type=Path, help="keep outputs here (default: a temporary directory)")
    ap.add_argument("--json-out", type=Path, help="write the results as JSON here")
    args = ap.parse_args(argv)
    if args.line and len(args.line) not in (1, len(args.video)):
        ap.error("give one --line for all videos or one per --video")
    tools = {t.strip() for t in args.tools.split(",") if t.strip()}

    with tempfile.TemporaryDirectory(prefix="bw-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        jobs: list[tuple[Path, str]] = []
        for i, v in enumerate(args.video):
            if args.line:
                line = args.line[i] if len(args.line) > 1 else args.line[0]
            else:
                line = _line_from_truth(v) or DEFAULT_LINE
            jobs.append((v.resolve(), line))
        if not args.video:
            for size in ((1280, 720), (1920, 1080)):
                got = synth_default(work, size, args.duration, args.timeout)
                if got:
                    jobs.append(got)
            if not jobs:
                print("nothing to measure: pass --video FILE --line ...", file=sys.stderr)
                return 1
        results = []
        startup = time_startup(work, max(1, args.repeat), args.timeout) if tools & set(SCANS) else None
        for n, (video, line) in enumerate(jobs):
            if not video.exists():
                print(f"{video}: no such file", file=sys.stderr)
                return 1
            sub = work / f"{n:02d}-{video.stem}"
            sub.mkdir(exist_ok=True)
            results.append(measure(video, line, max(1, args.repeat), sub, args.timeout, tools, startup))
        mach = machine()
        print_table(results, mach)
        if args.json_out:
            payload = {"machine": mach, "repeat": args.repeat, "results": results,
                       "targets": {"scan_over_ffmpeg": TARGET_SCAN_FFMPEG, "scan_over_peer": TARGET_SCAN_PEER}}  # fmt: skip
            args.json_out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
