"""`borderwatch synth`: generate a border scene with exact ground truth."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer

from ..errors import ConfigError
from ..geometry import parse_points
from . import app

_EPILOG = """
Examples:

  borderwatch synth clip.mp4 --preset back_and_forth --seed 7

  borderwatch synth gate.mp4 --preset mixed --width 1280 --height 720 --line "0,0.6 1,0.4" --sides US,CA

  borderwatch synth trail/ --preset trailcam --format images

Writes OUT and OUT.truth.json beside it (clip.mp4 -> clip.truth.json; folder trail -> trail.truth.json) with every crossing's exact frame and time, the distractors, and the line exactly as `borderwatch scan --line` takes it. Image output is JPEGs named by capture time (IMG_20260101_120000.jpg) carrying EXIF DateTimeOriginal. The same seed and options give the same frames and truth.

Camera faults, with their intervals in the truth ("faults": kind, cause, start_s, end_s):

  borderwatch synth faulty.mp4 --preset walk --duration 60 --fault cover:20-30 --fault knock:40-

  --fault KIND:START-END (seconds, repeatable; END empty = to the end) with KIND one of cover, freeze, defocus, knock, glare, drop, corrupt (drop and corrupt need video output). They add to the preset's faults.

Presets: quiet, walk, run, crawl, vehicle, animal, group, loiter, back_and_forth, along_line, occlusion, fast, trailcam, mixed, day, quiet_day (2 h, 5 crossings), light_switch, shake, rain, snow, night, faults (4 min, every fault kind once), fault_cover, fault_freeze, fault_defocus, fault_knock, fault_glare, fault_drop, fault_corrupt.
"""


@contextmanager
def _progress(enabled: bool, label: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A rich bar over frames, on a terminal only (the total is known up front)."""
    if not enabled:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"), TimeRemainingColumn())
    with Progress(*columns, transient=False) as prog:
        task = prog.add_task(label, total=total)
        yield lambda done, total: prog.update(task, completed=done)


def _overrides(
    width: Optional[int],
    height: Optional[int],
    fps: Optional[str],
    duration: Optional[float],
    speed: Optional[float],
    line: Optional[str],
    sides: Optional[str],
) -> dict[str, Any]:
    from ..synth.spec import LineSpec

    over: dict[str, Any] = {}
    if (width is None) != (height is None):
        raise ConfigError("give --width and --height together")
    if width is not None:
        over["width"], over["height"] = width, height
    if fps is not None:
        over["fps"] = fps
    if duration is not None:
        over["duration_s"] = duration
    if speed is not None:
        over["speed"] = speed
    if line is not None or sides is not None:
        pts = parse_points(line).tolist() if line is not None else [list(p) for p in LineSpec().points]
        side_names = [s.strip() for s in sides.split(",")] if sides is not None else ["A", "B"]
        if len(side_names) != 2:
            raise ConfigError(f"--sides needs two names separated by a comma, got {sides!r}")
        over["line"] = {"name": "border", "points": pts, "sides": side_names}
    return over


@app.command(epilog=_EPILOG)
def synth(
    out: Path = typer.Argument(..., help="Output .mp4 (or .mkv/.mov), or a folder for --format images."),
    preset: str = typer.Option("walk", "--preset", "-p", help="Named scene (see the list below)."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Seed for positions, colours, textures and noise."),
    width: Optional[int] = typer.Option(None, "--width", help="Frame width in pixels (preset: 640)."),
    height: Optional[int] = typer.Option(None, "--height", help="Frame height in pixels (preset: 360)."),
    fps: Optional[str] = typer.Option(None, "--fps", help="Frame rate: 25, 30000/1001, 0.2 (one frame per 5 s)."),
    duration: Optional[float] = typer.Option(None, "--duration", "-d", help="Length in seconds (preset's)."),
    speed: Optional[float] = typer.Option(None, "--speed", help="Speed of every actor in pixels per frame."),
    line: Optional[str] = typer.Option(None, "--line", "-l", help='Border polyline "X1,Y1 X2,Y2 [...]" in fractions of W, H.'),
    sides: Optional[str] = typer.Option(None, "--sides", help="Names of side A (left walking the line) and side B, e.g. US,CA."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="mp4 or images (default: from OUT's name)."),
    crf: int = typer.Option(20, "--crf", help="H.264 quality, 0 (lossless) .. 51."),
    x264_preset: str = typer.Option("veryfast", "--x264-preset", help="ultrafast, superfast, veryfast, faster, fast, medium."),
    night: bool = typer.Option(False, "--night", help="Dark grey infrared look."),
    weather: Optional[str] = typer.Option(None, "--weather", help="none, rain or snow."),
    shake: Optional[float] = typer.Option(None, "--shake", help="Camera shake amplitude in pixels."),
    fault: Optional[list[str]] = typer.Option(None, "--fault", help="Camera fault KIND:START-END in seconds (END empty: to the end); repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Generate a seeded border scene (video or trail-camera JPEGs) with exact ground truth."""
    from ..synth import generate, make_spec, preset as make_preset, truth_path_for

    spec = make_preset(preset, seed, **_overrides(width, height, fps, duration, speed, line, sides))
    effects: dict[str, Any] = {}
    if night:
        effects["night"] = True
    if weather is not None:
        effects["weather"] = weather
    if shake is not None:
        effects["shake_px"] = shake
    if effects:
        spec = make_spec(spec, effects={**spec.effects.model_dump(), **effects})
    if fault:
        from ..synth.faults import parse_fault

        added = [parse_fault(text) for text in fault]
        spec = make_spec(spec, faults=[*(f.model_dump() for f in spec.faults), *added])
    if fmt is not None and fmt not in ("mp4", "images"):
        raise ConfigError(f"--format must be mp4 or images, got {fmt!r}")
    show = sys.stderr.isatty() and not as_json
    started = time.perf_counter()
    with _progress(show, f"synth {preset}", spec.frames) as update:
        truth = generate(spec, out, fmt=fmt, crf=crf, x264_preset=x264_preset, progress=update)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    directions = Counter(f"{c.from_side}->{c.to_side}" for c in truth.crossings)
    truth_file = truth_path_for(out)
    if as_json:
        summary = {
            "output": str(out),
            "truth": str(truth_file),
            "preset": preset,
            "seed": seed,
            "format": truth.format,
            "width": truth.width,
            "height": truth.height,
            "fps": truth.fps,
            "frames": truth.frames,
            "duration_s": truth.duration_s,
            "crossings": len(truth.crossings),
            "by_direction": dict(sorted(directions.items())),
            "distractors": len(truth.distractors),
            "faults": [f.model_dump() for f in truth.faults],
            "elapsed_s": round(elapsed, 3),
            "frames_per_s": round(truth.frames / elapsed, 1) if elapsed > 0 else None,
        }
        print(json.dumps(summary, indent=1))
        return
    dirs = ", ".join(f"{k} {v}" for k, v in sorted(directions.items())) or "none"
    print(f"wrote {out} ({truth.frames} frames, {truth.width}x{truth.height} at {truth.fps} fps, {truth.duration_s:g} s)")
    print(f"truth {truth_file}: {len(truth.crossings)} crossings ({dirs}), {len(truth.distractors)} distractors")
    if truth.faults:
        hidden = sum(1 for c in truth.crossings if c.during_fault)
        spans = ", ".join(f"{f.kind} {f.start_s:g}-{f.end_s:g} s" for f in truth.faults)
        print(f"faults: {spans}" + (f" ({hidden} crossing(s) during a fault that hides them)" if hidden else ""))
    print(f"line for scan: --line \"{' '.join(f'{x:g},{y:g}' for x, y in truth.lines[0].points)}\" --sides {','.join(truth.lines[0].sides)}")
