"""The scan summary: counts are views of the crossing records."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import ScanConfig
from ..geometry import Polyline
from ..records import Crossing


def counts(crossings: list[Crossing], lines: list[Polyline]) -> dict[str, Any]:
    """Counts by line, then by direction and by label; every direction listed, even at 0."""
    out: dict[str, Any] = {}
    for ln in lines:
        a, b = ln.side_names
        mine = [c for c in crossings if c.line == ln.name]
        by_dir = Counter(c.direction for c in mine)
        by_label = Counter(c.label for c in mine)
        by_dir_label: dict[str, dict[str, int]] = {}
        for c in mine:
            by_dir_label.setdefault(c.direction, {}).setdefault(c.label, 0)
            by_dir_label[c.direction][c.label] += 1
        out[ln.name] = {
            "total": len(mine),
            "by_direction": {f"{a}->{b}": by_dir.get(f"{a}->{b}", 0), f"{b}->{a}": by_dir.get(f"{b}->{a}", 0)},
            "by_label": dict(sorted(by_label.items())),
            "by_direction_and_label": by_dir_label,
            "inferred": sum(1 for c in mine if c.inferred),
        }
    return out


def build_summary(
    *,
    status: str,
    source: str | Path,
    info: Any,
    src: Any,
    cfg: ScanConfig,
    lines: list[Polyline],
    frames_analysed: int,
    crossings: list[Crossing],
    started: datetime,
    elapsed: float,
    threads: int,
    version: str,
    coverage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    frames = int(src.frames_decoded)
    duration = float(src.last_time_s or 0.0)
    fps = f"{info.fps.numerator}/{info.fps.denominator}" if info.fps else None
    gaps = [g.to_dict() for g in src.gaps]
    return {
        "status": status,
        "partial": status != "complete",
        "software": {"name": "borderwatch", "version": version},
        "source": {
            "path": str(source),
            "kind": info.kind,
            "files": [str(f.path) for f in info.files],
            "width": info.width,
            "height": info.height,
            "fps": fps,
            "wallclock_start": info.wallclock_start.isoformat() if info.wallclock_start else None,
            "expected_duration_s": info.duration_s,
        },
        "frames_decoded": frames,
        "frames_analysed": frames_analysed,
        "duration_s": round(duration, 6),
        "undecodable": gaps,
        "undecodable_s": round(sum(g["end_s"] - g["start_s"] for g in gaps), 6),
        "lines": [
            {"name": p.name, "sides": list(p.side_names), "points_px": p.points.round(2).tolist()} for p in lines
        ],
        "crossings": len(crossings),
        "counts": counts(crossings, lines),
        "coverage": coverage,
        "settings": cfg.model_dump(mode="json"),
        "processing": {
            "started": started.isoformat(),
            "seconds": round(elapsed, 3),
            "frames_per_second": round(frames / elapsed, 1) if elapsed > 0 else None,
            "threads": threads,
        },
    }
