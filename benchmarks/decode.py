"""Decode throughput of :func:`open_source` against ``ffmpeg -threads N -f null``.

Development tool (needs the ``ffmpeg`` CLI, which the product itself does not)::

    python benchmarks/decode.py                 # makes 720p and 1080p H.264 test clips
    python benchmarks/decode.py clip.mp4 --repeat 5 --json

Both sides are timed in this process's run, alternating, best of ``--repeat``. The
borderwatch side iterates every frame and touches ``frame.luma[::4, ::4].copy()`` (what
the motion stage does); ``--raw`` also times bare PyAV ``container.decode`` for reference.
"""

from __future__ import annotations

from typing import Any

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from borderwatch.io import open_source


def make_clip(path: Path, size: str, frames: int) -> None:
    """An H.264 clip with motion everywhere (testsrc2 scrolls and counts)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
         "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )


def time_ffmpeg(path: Path, threads: int) -> float:
    t = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-threads", str(threads), "-i", str(path), "-f", "null", "-"],
        check=True,
    )
    return time.perf_counter() - t


def ffmpeg_startup_s(repeat: int) -> float:
    """Process start + exit of the CLI, to separate it from decode time."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "nullsrc=s=16x16", "-frames:v", "1",
             "-f", "null", "-"],
            check=True,
        )
        best = min(best, time.perf_counter() - t)
    return best


def time_source(path: Path, threads: int) -> tuple[float, int]:
    t = time.perf_counter()
    n = 0
    with open_source(path, threads=threads) as src:
        for frame in src:
            frame.luma[::4, ::4].copy()
            n += 1
    return time.perf_counter() - t, n


def time_raw(path: Path, threads: int) -> float:
    t = time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        s.codec_context.thread_count = threads
        for _ in c.decode(s):
            pass
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300, help="length of generated clips")
    ap.add_argument("--raw", action="store_true", help="also time bare PyAV decode")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("needs the ffmpeg CLI", file=sys.stderr)
        return 2
    tmp = None
    videos: list[Path] = args.videos
    if not videos:
        tmp = tempfile.TemporaryDirectory()
        for size, name in (("1280x720", "720p.mp4"), ("1920x1080", "1080p.mp4")):
            make_clip(Path(tmp.name) / name, size, args.frames)
            videos.append(Path(tmp.name) / name)
    startup = ffmpeg_startup_s(args.repeat)
    rows = []
    for v in videos:
        ff, bw, raw = [], [], []
        n = 0
        for _ in range(args.repeat):
            ff.append(time_ffmpeg(v, args.threads))
            s, n = time_source(v, args.threads)
            bw.append(s)
            if args.raw:
                raw.append(time_raw(v, args.threads))
        row: dict[str, Any] = {
            "video": v.name,
            "frames": n,
            "ffmpeg_s": min(ff),
            "source_s": min(bw),
            "ffmpeg_fps": n / min(ff),
            "source_fps": n / min(bw),
            "ratio": min(ff) / min(bw),
            # The CLI pays its process start inside its time; open_source is timed warm.
            "ratio_without_ffmpeg_startup": max(min(ff) - startup, 1e-9) / min(bw),
            "ffmpeg_startup_s": startup,
        }
        if raw:
            row["pyav_raw_fps"] = n / min(raw)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            extra = f"  pyav-raw {r['pyav_raw_fps']:.0f} fps" if "pyav_raw_fps" in r else ""
            print(
                f"{r['video']}: {r['frames']} frames  ffmpeg {r['ffmpeg_fps']:.0f} fps  "
                f"open_source {r['source_fps']:.0f} fps  ratio {r['ratio']:.2f} "
                f"(without ffmpeg's {r['ffmpeg_startup_s'] * 1000:.0f} ms start: "
                f"{r['ratio_without_ffmpeg_startup']:.2f}){extra}"
            )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
