"""Peak memory of ``borderwatch scan`` on a long scene against a short one.

Target: peak RSS scanning a 30-minute scene is no more than 10 % above a 1-minute scene
(ratio long/short <= 1.10): memory must not grow with the length of the source.

It generates (or, with ``--reuse``, takes from ``--cache-dir``) two ``day`` scenes with
``borderwatch synth`` -- the same seed and size, 1 and ``--minutes-long`` minutes long.
``day`` spreads its three crossings over the clip (at 15 %, 50 % and 80 % of it), so the
long scan sees movers late in the clip, not only in its first seconds as ``quiet`` would.
Each clip is scanned as a separate process::

    borderwatch scan CLIP --line ... --out DIR --no-snapshots --json

Peak RSS is measured two ways: the kernel's high-water mark of the child and its
descendants (``ru_maxrss`` from ``os.wait4``, the figure that counts) and, as a check,
psutil sampling of the process tree's RSS every ``--interval`` seconds; the samples also
give the RSS growth over the scan (MB per 10,000 frames, fitted to the second half of the
run, after start-up), which tells a slow leak from a start-up peak.

    python benchmarks/memory.py --json-out bench-out/memory.json
    python benchmarks/memory.py --reuse --minutes-long 10
"""

from __future__ import annotations

import argparse
import json
import os
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
TARGET_RATIO = 1.10
DEFAULT_LINE = "0,0.5 1,0.5"
MIB = 1024.0 * 1024.0
MIN_GROWTH_WALL_S = 10.0


@dataclass
class Clip:
    name: str
    video: Path
    line: str
    duration_s: float
    generated: bool = False
    synth_s: float | None = None


@dataclass
class ScanRun:
    ok: bool
    rc: int
    wall_s: float
    maxrss_mb: float  # ru_maxrss of the child and its descendants (kernel high-water mark)
    sampled_peak_mb: float | None  # largest psutil sample of the process tree
    frames: int | None = None
    duration_s: float | None = None
    crossings: int | None = None
    scan_s: float | None = None  # the tool's own processing seconds
    growth_mb_per_10k_frames: float | None = None
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB), thinned
    error: str = ""


class TreeSampler(threading.Thread):
    """Sample the RSS of a process and all its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        t0 = time.perf_counter()
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            if rss:
                self.samples.append((time.perf_counter() - t0, rss / MIB))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def run_sampled(
    cmd: list[str], stdout: Path, log: Path, timeout_s: float, interval: float
) -> tuple[int, float, float, list[tuple[float, float]]]:
    """Run ``cmd``; return (exit code, wall seconds, ru_maxrss MiB, RSS samples)."""
    with stdout.open("wb") as out, log.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid, interval)
        sampler.start()
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            # wait4 gives this child's own rusage (its ru_maxrss covers the descendants it
            # waited for); getrusage(RUSAGE_CHILDREN) would mix in every earlier child.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            sampler.stop()
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # stop Popen from waiting again
    return proc.returncode, wall, usage.ru_maxrss / 1024.0, sampler.samples  # KiB on Linux


def _tail(log: Path, n: int = 300) -> str:
    try:
        return " ".join(log.read_text(errors="replace")[-n:].split())
    except OSError:
        return ""


def _growth(samples: list[tuple[float, float]], wall_s: float, frames: int | None) -> float | None:
    """Least-squares RSS slope over the second half of the run, in MB per 10,000 frames.

    None for runs shorter than ``MIN_GROWTH_WALL_S``: their second half is mostly start-up
    and teardown, not steady state.
    """
    if not frames or wall_s < MIN_GROWTH_WALL_S:
        return None
    half = [(t, m) for t, m in samples if wall_s * 0.5 <= t <= wall_s * 0.97]
    if len(half) < 10:
        return None
    n = len(half)
    mt = sum(t for t, _ in half) / n
    mm = sum(m for _, m in half) / n
    var = sum((t - mt) ** 2 for t, _ in half)
    if var <= 0:
        return None
    slope_per_s = sum((t - mt) * (m - mm) for t, m in half) / var
    return slope_per_s * wall_s / frames * 10_000  # assumes frames flow evenly over the run


def _thin(samples: list[tuple[float, float]], every_s: float = 1.0) -> list[tuple[float, float]]:
    """About one sample per ``every_s`` for the JSON, keeping the peak sample."""
    if not samples:
        return []
    peak = max(samples, key=lambda s: s[1])
    out, next_t = [], 0.0
    for t, m in samples:
        if t >= next_t or (t, m) == peak:
            out.append((round(t, 2), round(m, 1)))
            next_t = t + every_s
    return out


def scan(clip: Clip, work: Path, timeout_s: float, interval: float, threads: int) -> ScanRun:
    out = work / f"scan-{clip.name}"
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "borderwatch", "scan", str(clip.video), "--line", clip.line,
           "--out", str(out), "--no-snapshots", "--json", "--threads", str(threads)]  # fmt: skip
    stdout, log = work / f"scan-{clip.name}.json", work / f"scan-{clip.name}.log"
    try:
        rc, wall, maxrss, samples = run_sampled(cmd, stdout, log, timeout_s, interval)
    except OSError as exc:
        return ScanRun(False, -1, 0.0, 0.0, None, error=f"cannot start: {exc}")
    summary: dict[str, Any] | None = None
    try:
        summary = json.loads(stdout.read_text())
    except (OSError, ValueError):
        pass
    # Exit 3 is borderwatch's "completed, part of the source undecodable".
    ok = rc in (0, 3) and isinstance(summary, dict)
    s = summary or {}
    frames = s.get("frames_decoded")
    run = ScanRun(
        ok=ok,
        rc=rc,
        wall_s=wall,
        maxrss_mb=maxrss,
        sampled_peak_mb=max((m for _, m in samples), default=None),
        frames=frames if isinstance(frames, int) else None,
        duration_s=s.get("duration_s"),
        crossings=s.get("crossings"),
        scan_s=(s.get("processing") or {}).get("seconds"),
        samples=_thin(samples),
        error="" if ok else f"exit {rc}" + ("" if summary else ", no JSON summary") + f": {_tail(log)}",
    )
    run.growth_mb_per_10k_frames = _growth(samples, wall, run.frames)
    return run


def _line_from_truth(video: Path) -> str | None:
    # synth writes the ground truth next to the video; its first line is the border the
    # scene was built around, in exactly the form `scan --line` takes.
    for cand in (video.with_suffix(".truth.json"), video.with_suffix(".json")):
        try:
            pts = json.loads(cand.read_text())["lines"][0]["points"]
            return " ".join(f"{float(x):g},{float(y):g}" for x, y in pts)
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return None


def get_clip(name: str, seconds: float, args: argparse.Namespace) -> Clip | None:
    """The cached clip when ``--reuse`` and it exists; otherwise generate it."""
    stem = f"{args.preset}-{args.width}x{args.height}-{args.fps}fps-{seconds:g}s-seed{args.seed}"
    video = args.cache_dir / f"{stem}.mp4"
    truth = video.with_suffix(".truth.json")
    if args.reuse and video.exists() and truth.exists():
        return Clip(name, video, _line_from_truth(video) or DEFAULT_LINE, seconds)
    cmd = [sys.executable, "-m", "borderwatch", "synth", str(video), "--preset", args.preset, "--seed", str(args.seed),
           "--width", str(args.width), "--height", str(args.height), "--fps", str(args.fps),
           "--duration", str(seconds), "--json"]  # fmt: skip
    print(f"generating {video} ({seconds:g} s) ...", file=sys.stderr, flush=True)
    log = args.cache_dir / f"{stem}.synth.log"
    t0 = time.perf_counter()
    with log.open("wb") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    if rc != 0 or not video.exists():
        print(f"borderwatch synth failed for {video.name} (exit {rc}): {_tail(log)}", file=sys.stderr)
        return None
    return Clip(name, video, _line_from_truth(video) or DEFAULT_LINE, seconds, generated=True, synth_s=took)


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "n/a" if v is None else format(v, spec)


def print_table(clips: list[Clip], runs: list[ScanRun], ratio: float | None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Peak RSS of borderwatch scan, long vs short scene", box=box.SIMPLE_HEAD,
                  padding=(0, 1), collapse_padding=True, pad_edge=False)  # fmt: skip
    heads = ("clip", "duration\ns", "frames", "cross-\nings", "wall\ns", "peak RSS MB\n(maxrss)",
             "peak RSS MB\n(sampled)", "growth MB\n/10k frames", "ratio\nlong/short", "result")  # fmt: skip
    for c in heads:
        table.add_column(c, justify="left" if c == "clip" else "right", no_wrap=c != "clip")
    for i, (clip, r) in enumerate(zip(clips, runs)):
        last = i == len(runs) - 1
        verdict = "-"
        if last and ratio is not None:
            verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        table.add_row(
            clip.name,
            _fmt(r.duration_s if r.duration_s is not None else clip.duration_s, ".0f"),
            str(r.frames or "?"),
            str(r.crossings if r.crossings is not None else "?"),
            _fmt(r.wall_s),
            _fmt(r.maxrss_mb) if r.ok else "failed",
            _fmt(r.sampled_peak_mb),
            _fmt(r.growth_mb_per_10k_frames, "+.2f"),
            _fmt(ratio, ".3f") if last else "",
            verdict,
        )
    # Wide enough for every column when the output is piped to a file (rich assumes 80).
    Console(width=max(110, shutil.get_terminal_size().columns)).print(table)
    for clip in clips:
        print(f"{clip.name}: {clip.video} (line {clip.line!r})")
    print(f"target: peak RSS long/short <= {TARGET_RATIO:.2f} (ru_maxrss of the scan process and its children)")
    for clip, r in zip(clips, runs):
        if not r.ok:
            print(f"{clip.video.name}: scan failed: {r.error}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--cache-dir", type=Path, default=Path("bench-out/memory"), help="generated clips (default bench-out/memory)"
    )
    ap.add_argument("--reuse", action="store_true", help="use clips already in --cache-dir instead of generating them")
    ap.add_argument("--minutes-long", type=float, default=30.0, help="length of the long scene (default 30)")
    ap.add_argument("--minutes-short", type=float, default=1.0, help="length of the short scene (default 1)")
    ap.add_argument("--preset", default="day", help="synth preset (default day: crossings spread over the clip)")
    ap.add_argument("--seed", type=int, default=0, help="synth seed (default 0)")
    ap.add_argument("--width", type=int, default=640, help="frame width (default 640)")
    ap.add_argument("--height", type=int, default=360, help="frame height (default 360)")
    ap.add_argument("--fps", default="25", help="frame rate (default 25)")
    ap.add_argument("--threads", type=int, default=2, help="scan --threads (decoder threads, default 2)")
    ap.add_argument("--interval", type=float, default=0.05, help="RSS sampling interval in seconds (default 0.05)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds before a scan is killed")
    ap.add_argument("--workdir", type=Path, help="keep scan outputs here (default: a temporary directory)")
    ap.add_argument("--json-out", type=Path, help="write the results as JSON here")
    args = ap.parse_args(argv)
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    clips: list[Clip] = []
    for name, minutes in (("short", args.minutes_short), ("long", args.minutes_long)):
        clip = get_clip(name, round(minutes * 60.0, 3), args)
        if clip is None:
            return 1
        clips.append(clip)

    with tempfile.TemporaryDirectory(prefix="bw-mem-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        runs = []
        for clip in clips:  # one at a time: two scans side by side would share the CPUs
            print(f"scanning {clip.video.name} ...", file=sys.stderr, flush=True)
            runs.append(scan(clip, work, args.timeout, args.interval, args.threads))
    short, long_ = runs
    ratio = long_.maxrss_mb / short.maxrss_mb if short.ok and long_.ok and short.maxrss_mb > 0 else None
    sampled_ratio = None
    if short.ok and long_.ok and short.sampled_peak_mb and long_.sampled_peak_mb:
        sampled_ratio = long_.sampled_peak_mb / short.sampled_peak_mb
    print_table(clips, runs, ratio)
    if args.json_out:
        payload = {
            "target_ratio": TARGET_RATIO,
            "ratio_long_over_short": ratio,
            "ratio_sampled": sampled_ratio,
            "pass": ratio is not None and ratio <= TARGET_RATIO,
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "python": sys.version.split()[0],
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "clips": [
                {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(c).items()}, "scan": asdict(r)}
                for c, r in zip(clips, runs)
            ],
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(payload, indent=2) + "\n")
    if ratio is None:
        return 1
    return 0 if ratio <= TARGET_RATIO else 2


if __name__ == "__main__":
    sys.exit(main())
