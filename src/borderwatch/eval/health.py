"""Score a scan's camera-health verdicts against synthetic fault truth, time-weighted.

For each cause the truth has, over the clip:

* recall = seconds flagged with that cause inside the true intervals / true seconds;
* precision = seconds flagged with that cause inside the true intervals / seconds
  flagged with that cause.

Seconds flagged with a cause the truth never has on that clip (a light change at the
moment a lens is covered, say) are reported as ``other_s`` per cause: they are not
hidden, but they do not count against the causes that are scored. On a clean clip
every flagged second is ``other_s`` (the "no impaired time on clean clips" check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..coverage.intervals import difference, intersection_length, union_length
from ..errors import TruthError


@dataclass
class CauseScore:
    cause: str
    truth_s: float = 0.0
    pred_s: float = 0.0
    hit_s: float = 0.0

    @property
    def recall(self) -> float:
        return self.hit_s / self.truth_s if self.truth_s > 0 else 1.0

    @property
    def precision(self) -> float:
        return self.hit_s / self.pred_s if self.pred_s > 0 else 1.0

    def add(self, other: CauseScore) -> None:
        self.truth_s += other.truth_s
        self.pred_s += other.pred_s
        self.hit_s += other.hit_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "truth_s": round(self.truth_s, 3),
            "pred_s": round(self.pred_s, 3),
            "hit_s": round(self.hit_s, 3),
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
        }


@dataclass
class HealthScore:
    clip: str
    duration_s: float
    causes: dict[str, CauseScore] = field(default_factory=dict)
    other_s: dict[str, float] = field(default_factory=dict)  # flagged time of causes absent from the truth

    @property
    def clean(self) -> bool:
        return not self.causes

    def to_dict(self) -> dict[str, Any]:
        return {
            "clip": self.clip,
            "duration_s": round(self.duration_s, 3),
            "causes": [c.to_dict() for c in self.causes.values()],
            "other_s": {k: round(v, 3) for k, v in self.other_s.items()},
        }


def _by_cause(items: list[dict[str, Any]], where: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for i, iv in enumerate(items):
        try:
            cause, s, e = str(iv["cause"]), float(iv["start_s"]), float(iv["end_s"])
        except (KeyError, TypeError, ValueError):
            raise TruthError(f"{where}[{i}]: needs 'cause', 'start_s' and 'end_s'") from None
        if e < s:
            raise TruthError(f"{where}[{i}]: ends ({e}) before it starts ({s})")
        out.setdefault(cause, []).append((s, e))
    return out


def score_health(
    truth_faults: list[dict[str, Any]], pred_intervals: list[dict[str, Any]], duration_s: float, clip: str = ""
) -> HealthScore:
    """Score predicted impaired intervals against true fault intervals (both lists of
    ``{"cause", "start_s", "end_s"}``), per cause, time-weighted."""
    truth = _by_cause(truth_faults, "truth faults")
    pred = _by_cause(pred_intervals, "predicted intervals")
    score = HealthScore(clip, duration_s)
    for cause, t_iv in truth.items():
        p_iv = pred.get(cause, [])
        score.causes[cause] = CauseScore(cause, union_length(t_iv), union_length(p_iv), intersection_length(t_iv, p_iv))
    for cause, p_iv in pred.items():
        if cause not in truth:
            score.other_s[cause] = union_length(p_iv)
    return score


def load_scan_coverage(pred_dir: str | Path) -> tuple[list[dict[str, Any]], float]:
    """The impaired intervals and the duration from a scan output's summary.json."""
    p = Path(pred_dir)
    f = p / "summary.json" if p.is_dir() else p.parent / "summary.json"
    try:
        summary = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TruthError(f"{f}: no such file (health is scored from a scan's summary.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TruthError(f"{f}: cannot read: {exc}") from None
    cov = summary.get("coverage") if isinstance(summary, dict) else None
    if not isinstance(cov, dict):
        raise TruthError(f"{f}: the scan has no coverage (scanned with --no-health, or by an older borderwatch)")
    return list(cov.get("impaired_intervals") or []), float(cov.get("duration_s") or 0.0)


def total(scores: list[HealthScore]) -> HealthScore:
    """All clips together: seconds summed per cause, rates recomputed."""
    out = HealthScore("total", sum(s.duration_s for s in scores))
    for s in scores:
        for cause, c in s.causes.items():
            out.causes.setdefault(cause, CauseScore(cause)).add(c)
        for cause, v in s.other_s.items():
            out.other_s[cause] = out.other_s.get(cause, 0.0) + v
    return out


def clean_impaired_s(scores: list[HealthScore]) -> float:
    """Impaired seconds flagged on clips whose truth has no fault at all."""
    return sum(sum(s.other_s.values()) for s in scores if s.clean)


def unexplained(truth_faults: list[dict[str, Any]], pred_intervals: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Predicted impaired time outside every true fault interval (any cause)."""
    t = [(float(f["start_s"]), float(f["end_s"])) for f in truth_faults]
    p = [(float(f["start_s"]), float(f["end_s"])) for f in pred_intervals]
    return difference(p, t)
