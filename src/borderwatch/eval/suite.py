"""Accuracy suite: many generated clips, scanned and scored in one table.

Each :class:`Case` is a synth preset with a seed and overrides. Clips are generated
once into a cache directory (generation is deterministic, so a cached clip whose truth
file exists is reused), scanned by any ``scanner`` callable, and scored with
:func:`borderwatch.eval.evaluate`.

>>> [c.name for c in default_cases(seeds=(0,))][:3]
['walk-s0', 'run-s0', 'crawl-s0']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

# The hard cases of the scan-engine issue (night, weather, shake and light switches
# belong to a later issue and are not in the default suite).
HARD_CASES = (
    "walk",
    "run",
    "crawl",
    "vehicle",
    "animal",
    "group",
    "loiter",
    "back_and_forth",
    "along_line",
    "occlusion",
    "fast",
    "trailcam",
    "mixed",
)
# Cases where any predicted crossing is an error.
NO_CROSSING_CASES = ("loiter", "along_line")

# Camera-health suite (issue 3): one clip per synthetic fault, a clip with every fault,
# and clean clips with light drift, swaying vegetation and people (nothing may be flagged).
FAULT_PRESETS = (
    "fault_cover",
    "fault_freeze",
    "fault_defocus",
    "fault_knock",
    "fault_glare",
    "fault_drop",
    "fault_corrupt",
    "faults",
)
CLEAN_PRESETS = ("day", "quiet", "mixed", "group")

Scanner = Callable[[Path, list[str], tuple[str, str], Path], Any]


@dataclass(frozen=True)
class Case:
    """One generated clip of the suite."""

    name: str
    preset: str
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> Any:
        from ..synth import PRESETS

        return PRESETS[self.preset](self.seed, **self.overrides)


def default_cases(seeds: Iterable[int] = (0, 1, 2), presets: Iterable[str] = HARD_CASES, **overrides: Any) -> list[Case]:
    """Every preset in ``presets`` at every seed (13 presets x 3 seeds = 39 clips)."""
    return [Case(f"{p}-s{s}", p, s, dict(overrides)) for s in seeds for p in presets]


def speed_cases(speeds: Iterable[float] = (5.0, 60.0), seeds: Iterable[int] = (0, 1, 2)) -> list[Case]:
    """The same crossing scenes at different speeds (px per frame)."""
    return [
        Case(f"speed{int(v)}-{p}-s{s}", p, s, {"speed": v})
        for v in speeds
        for s in seeds
        for p in ("walk", "vehicle", "mixed")
    ]


def health_cases(seeds: Iterable[int] = (0, 1, 2)) -> list[Case]:
    """Every fault preset and every clean preset at every seed."""
    return [Case(f"{p}-s{s}", p, s) for s in seeds for p in FAULT_PRESETS + CLEAN_PRESETS]


def ensure_clip(case: Case, cache: Path) -> tuple[Path, Path]:
    """Generate the clip of ``case`` into ``cache`` unless it is already there."""
    from ..synth import generate

    cache.mkdir(parents=True, exist_ok=True)
    video = cache / f"{case.name}.mp4"
    truth = cache / f"{case.name}.truth.json"
    if not (video.is_file() and truth.is_file()):
        generate(case.spec(), video)
    return video, truth


def line_args(truth_path: Path) -> tuple[list[str], tuple[str, str]]:
    """``--line`` texts and side names of a truth file's lines."""
    t = json.loads(truth_path.read_text())
    lines = [" ".join(f"{x:g},{y:g}" for x, y in ln["points"]) for ln in t["lines"]]
    return lines, tuple(t["lines"][0].get("sides", ("A", "B")))  # type: ignore[return-value]


def borderwatch_scanner(video: Path, lines: list[str], sides: tuple[str, str], out: Path, **settings: Any) -> Any:
    """Scan with borderwatch's own pipeline: default settings, but for ``settings``
    (top-level ScanConfig keys such as ``fast_decode=True``) and no snapshots."""
    from ..config import line_from_cli, make_config
    from ..scan import run_scan

    cfgs = [line_from_cli(t, ",".join(sides), name="border" if i == 0 else f"border{i + 1}") for i, t in enumerate(lines)]
    return run_scan(video, make_config(cfgs, **{"snapshots": False, **settings}), out)


def run_suite(
    cases: list[Case],
    cache: Path,
    work: Path,
    scanner: Scanner = borderwatch_scanner,
    tolerance_s: float = 1.0,
    on_clip: Callable[[Case, Any], None] | None = None,
) -> list[Any]:
    """Generate (if needed), scan and score every case; returns one EvalResult each."""
    from . import evaluate

    results = []
    for case in cases:
        video, truth = ensure_clip(case, cache)
        lines, sides = line_args(truth)
        out = work / case.name
        scanner(video, lines, sides, out)
        res = evaluate(out, truth, tolerance_s, clip=case.name)
        results.append(res)
        if on_clip is not None:
            on_clip(case, res)
    return results


def run_health_suite(
    cases: list[Case],
    cache: Path,
    work: Path,
    scanner: Scanner = borderwatch_scanner,
    on_clip: Callable[[Case, Any], None] | None = None,
) -> list[Any]:
    """Generate (if needed), scan and score camera health; returns one HealthScore each."""
    from .health import load_scan_coverage, score_health

    scores = []
    for case in cases:
        video, truth = ensure_clip(case, cache)
        lines, sides = line_args(truth)
        out = work / case.name
        scanner(video, lines, sides, out)
        faults = json.loads(truth.read_text()).get("faults") or []
        intervals, duration = load_scan_coverage(out)
        sc = score_health(faults, intervals, duration, case.name)
        scores.append(sc)
        if on_clip is not None:
            on_clip(case, sc)
    return scores
