"""The peer pipeline: what a user would write today with OpenCV + supervision.

OpenCV decode -> MOG2 background subtraction on the grey frame -> morphology ->
contours -> boxes -> ByteTrack -> ``supervision.LineZone`` on the bottom centre of each
box. It writes ``crossings.jsonl`` and ``summary.json`` in borderwatch's format so that
``borderwatch eval`` can score it and ``benchmarks/throughput.py`` can time it.

Deliberately independent of borderwatch (no shared code) so that the comparison is fair.

Notes on choices a user would meet:

* supervision 0.31 no longer ships ``sv.ByteTrack``; its docs point to roboflow's
  ``trackers`` package, so this uses ``trackers.ByteTrackTracker`` with its defaults and
  the video's frame rate.
* ``sv.LineZone`` takes one segment. For a polyline we use its first and last point
  (a user cannot do better without writing their own counter).
* Sides: LineZone calls a detection "in" when ``(end - start) x (anchor - start) < 0``,
  which in image coordinates (y down) is borderwatch's side A (on your left walking from
  the first point to the last as seen on screen). So ``crossed_in`` is B -> A and
  ``crossed_out`` is A -> B. ``tests/test_eval.py`` checks this on a generated clip.
* Time is ``frame index / CAP_PROP_FPS``, as users do; it drifts on variable-frame-rate
  sources, which is one of the things borderwatch fixes.

Usage::

    python benchmarks/peer.py VIDEO --line "0,0.5 1,0.5" --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

DEFAULT_MIN_AREA_FRAC = 0.001  # of the frame area: ~920 px at 720p, ~330 px at 768x432


def parse_line(text: str) -> list[tuple[float, float]]:
    """``"x1,y1 x2,y2 ..."`` (fractions of width/height) -> list of points."""
    pts: list[tuple[float, float]] = []
    for tok in text.replace(";", " ").split():
        x, y = tok.split(",")
        pts.append((float(x), float(y)))
    if len(pts) < 2:
        raise ValueError(f"line {text!r}: needs at least two points")
    return pts


def _boxes(mask: np.ndarray, min_area: float) -> np.ndarray:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w * h >= min_area:
            out.append((x, y, x + w, y + h))
    return np.array(out, dtype=np.float32).reshape(-1, 4)


def run_peer(
    video: str | Path,
    line_points_frac: Sequence[Sequence[float]],
    out_dir: str | Path,
    sides: tuple[str, str] = ("A", "B"),
    line_name: str = "border",
    min_area_frac: float = DEFAULT_MIN_AREA_FRAC,
) -> dict[str, Any]:
    """Run the peer pipeline on ``video``; write crossings.jsonl and summary.json.

    Returns the summary dict.
    """
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    pts = [(float(x) * width, float(y) * height) for x, y in line_points_frac]
    if len(pts) > 2:
        warnings.warn("sv.LineZone takes one segment: using the polyline's first and last point", stacklevel=2)
    start, end = sv.Point(*pts[0]), sv.Point(*pts[-1])
    zone = sv.LineZone(start=start, end=end, triggering_anchors=[sv.Position.BOTTOM_CENTER])
    tracker = ByteTrackTracker(frame_rate=fps)
    mog = cv2.createBackgroundSubtractorMOG2(detectShadows=False)
    # np.ones kernels, as in most tutorials; a large closing joins a car's pieces.
    open_k = np.ones((3, 3), np.uint8)
    close_k = np.ones((15, 15), np.uint8)
    min_area = min_area_frac * width * height

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_cross = 0
    frame_idx = -1
    with (out / "crossings.jsonl").open("w", encoding="utf-8") as fh:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frame_idx += 1
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            mask = mog.apply(grey)
            # Opening removes speckle; closing merges the pieces of one object.
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, open_k)
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close_k)
            xyxy = _boxes(mask, min_area)
            dets = sv.Detections(
                xyxy=xyxy,
                confidence=np.ones(len(xyxy), dtype=np.float32),
                class_id=np.zeros(len(xyxy), dtype=int),
            )
            tracked = tracker.update(dets)
            crossed_in, crossed_out = zone.trigger(tracked)
            anchors = tracked.get_anchors_coordinates(sv.Position.BOTTOM_CENTER) if len(tracked) else None
            for i in np.flatnonzero(crossed_in | crossed_out):
                # crossed_in: onto LineZone's "left" = borderwatch side A (see module doc).
                frm, to = (sides[1], sides[0]) if crossed_in[i] else (sides[0], sides[1])
                n_cross += 1
                rec = {
                    "id": n_cross,
                    "time_s": frame_idx / fps,
                    "frame": frame_idx,
                    "line": line_name,
                    "from_side": frm,
                    "to_side": to,
                    "track_id": int(tracked.tracker_id[i]),  # type: ignore[index]
                    "label": "object",
                    "score": 1.0,
                    "inferred": False,
                    "direction": f"{frm}->{to}",
                    "point": [float(anchors[i][0]), float(anchors[i][1])] if anchors is not None else None,
                }
                fh.write(json.dumps(rec) + "\n")
    cap.release()
    elapsed = time.perf_counter() - t0
    frames = frame_idx + 1
    summary = {
        "tool": "peer (opencv MOG2 + trackers ByteTrack + supervision LineZone)",
        "video": str(video),
        "width": width,
        "height": height,
        "fps": fps,
        "frames": frames,
        "frames_decoded": frames,
        "elapsed_s": elapsed,
        "frames_per_s": frames / elapsed if elapsed > 0 else None,
        "line": {"name": line_name, "points_frac": [list(p) for p in line_points_frac], "sides": list(sides)},
        "crossings": n_cross,
        # LineZone's own counters, for cross-checking the mapping above.
        "linezone_in_count": zone.in_count,
        "linezone_out_count": zone.out_count,
        "counts": {f"{sides[0]}->{sides[1]}": zone.out_count, f"{sides[1]}->{sides[0]}": zone.in_count},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="example: %(prog)s clip.mp4 --line '0,0.5 1,0.5' --out peer-out"
    )
    ap.add_argument("video")
    ap.add_argument("--line", required=True, help='points as fractions of W,H: "x1,y1 x2,y2"')
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--sides", default="A,B", help="names of the sides (left, right of the line): A,B")
    ap.add_argument("--line-name", default="border")
    ap.add_argument(
        "--min-area-frac", type=float, default=DEFAULT_MIN_AREA_FRAC, help="smallest box, fraction of frame area"
    )
    args = ap.parse_args(argv)
    a, b = args.sides.split(",")
    summary = run_peer(args.video, parse_line(args.line), args.out, (a, b), args.line_name, args.min_area_frac)
    print(json.dumps({k: summary[k] for k in ("frames", "elapsed_s", "frames_per_s", "crossings", "counts")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
