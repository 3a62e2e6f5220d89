"""`borderwatch timelapse`: a faithful time-lapse of a scan, with its time map and clips."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigError
from . import app
from .progress import progress_bar

_HELP = """Render the time-lapse of a scan: hours in minutes, every crossing in real time.

Every source frame is decoded; each output frame summarises its window of source frames: its most active frame with the moving pixels of the window's other frames pasted on (--summary blend, the default), or that frame alone (--summary best), so nothing that moved is skipped. Speed adapts: --speed (default 60x) over empty time, or faster to fit --length; it slows smoothly to real time from --pre seconds before each crossing to --post seconds after it.

Burned in: source time and wall-clock (from timestamps), the border line with its sides, boxes and trails of tracks, a marker at each crossing, the current speed-up, and a coverage bar (observable / impaired by cause) with a cursor.

Written beside OUT.mp4: OUT.timemap.json (every output frame's source window: file, first and last pts, source seconds) and, unless --no-clips, OUT-crossings/ with each crossing's original GOPs cut without re-encoding (bit-exact picture data, matching the scan's ledger), an annotated clip, and a contact sheet. The MP4 is H.264, yuv420p, faststart, with a chapter per crossing.

[bold]Examples[/bold]

  borderwatch scan day.mp4 --line "0,0.5 1,0.5" --out runs/day
  borderwatch timelapse runs/day -o day-lapse.mp4
  borderwatch timelapse runs/day -o day-lapse.mp4 --length 5m --width 1280
  borderwatch timelapse runs/day -o lapse.mp4 --source /archive/day.mp4 --summary blend --no-clips
"""


def parse_length(text: str) -> float:
    """'300', '5m', '2m30s', '1h', '90s' -> seconds."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s)?", t)
    if not t or m is None or not any(m.groups()):
        raise ConfigError(f"--length {text!r}: use seconds or a duration like 5m, 2m30s, 1h")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return 3600 * h + 60 * mi + s


@app.command("timelapse", help=_HELP, no_args_is_help=True)
def timelapse_command(
    scan_dir: Annotated[Path, typer.Argument(metavar="DIR", help="Scan output folder.", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output MP4 (default: DIR/timelapse.mp4).")] = None,
    source: Annotated[Path | None, typer.Option("--source", help="The scanned source, if it has moved since the scan.")] = None,
    speed: Annotated[float, typer.Option("--speed", min=1.0, help="Speed-up over empty time.")] = 60.0,
    length: Annotated[str | None, typer.Option("--length", help="Target length of the video, e.g. 5m: speeds up empty time to fit.")] = None,
    fps: Annotated[float, typer.Option("--fps", min=1.0, max=120.0, help="Output frame rate.")] = 25.0,
    pre: Annotated[float, typer.Option("--pre", min=0.0, help="Real time from this many seconds before each crossing.")] = 3.0,
    post: Annotated[float, typer.Option("--post", min=0.0, help="... to this many seconds after it.")] = 3.0,
    width: Annotated[int | None, typer.Option("--width", help="Output width in pixels (default: the source's).")] = None,
    crf: Annotated[int, typer.Option("--crf", min=0, max=51, help="H.264 quality, 0 (lossless) .. 51.")] = 23,
    preset: Annotated[str, typer.Option("--x264-preset", help="x264 speed preset.")] = "veryfast",
    summary: Annotated[str, typer.Option("--summary", help="blend (the window's most active frame with the other frames' movers pasted on: everything that moved is shown) or best (that frame alone).")] = "blend",
    no_clips: Annotated[bool, typer.Option("--no-clips", help="Do not cut per-crossing clips.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    from ..timelapse.render import render

    target = parse_length(length) if length is not None else None
    out_path = out or scan_dir / "timelapse.mp4"
    show = sys.stderr.isatty() and not as_json
    with progress_bar(enabled=show, label="time-lapse") as update:
        res = render(
            scan_dir, out_path, source=source, out_fps=fps, quiet_speed=speed, target_s=target, pre_s=pre,
            post_s=post, out_width=width, crf=crf, preset=preset, mode=summary,  # type: ignore[arg-type]
            progress=update if show else None,
        )  # fmt: skip
    clips: list[dict] = []
    clips_dir = out_path.with_name(out_path.stem + "-crossings")
    if not no_clips:
        from ..timelapse.clips import export_crossings

        from ..timelapse.render import cut_span

        def annotated(c: dict, dest: Path) -> dict | None:
            # The time-lapse's own real-time span around the crossing: already annotated.
            t = float(c["time_s"])
            for first, last, a, b in res.runs:
                if a <= t < b:
                    return cut_span(res.out, first, last, dest)
            return None

        clips = export_crossings(scan_dir, clips_dir, pre_s=pre, post_s=post, source=source, annotated_from=annotated)
    report = {
        "out": str(res.out),
        "timemap": str(res.timemap),
        "frames_out": res.frames_out,
        "duration_out_s": round(res.duration_out_s, 3),
        "frames_in": res.frames_in,
        "real_time_frames": res.real_time_frames,
        "seconds": round(res.seconds, 3),
        "clips": str(clips_dir) if not no_clips else None,
        "crossing_clips": len(clips),
        "warnings": res.warnings,
        "summary": summary,
        # Tracks present in a window whose latest box is on its output picture.
        "tracks_present": res.tracks_present,
        "tracks_visible": res.tracks_visible,
    }
    if as_json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"wrote {res.out}: {res.frames_out} frames ({res.duration_out_s:.1f} s) from {res.frames_in} source frames; "
        f"{res.real_time_frames} frames at real time; {res.seconds:.1f} s"
    )
    print(f"time map {res.timemap}")
    if not no_clips:
        print(f"crossing clips and contact sheet in {clips_dir}/ ({len(clips)} crossings)")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
