"""Match predicted crossings to ground truth and score them.

Rules (see :func:`match`):

* A prediction can only match a truth crossing on the **same line** with the **same
  direction** (``from_side``/``to_side``) and ``|Δt| <= tolerance_s``.
* The assignment is one-to-one and optimal: it maximises the number of matches and,
  among those, minimises the total ``|Δt|`` (``scipy.optimize.linear_sum_assignment``).
* Left-over predictions that sit within tolerance of a left-over truth crossing on the
  same line but in the *opposite* direction are **direction errors** (paired one-to-one,
  again optimally). Each is still one FP and one FN; the pairing is reported separately
  because "we saw it but got the direction wrong" is a different defect from a miss.
* Remaining left-over predictions within tolerance of an already matched truth crossing
  (same line and direction) are **duplicates** (double counts). They are FPs too.
  Direction errors are assigned before duplicates so that a prediction that explains a
  miss is reported as such.

Zero denominators: precision with no predictions is 1.0 (nothing false was claimed),
recall with no truth is 1.0 (nothing was missed), F1 follows from those (so an empty
scene with no predictions scores 1/1/1, and either side being empty against a non-empty
other side scores F1 = 0). This matters for borders: "no crossings, none reported" is a
correct result, not an undefined one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

DEFAULT_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Event:
    """One crossing, truth or prediction, reduced to what matching needs."""

    id: int | str
    line: str
    from_side: str
    to_side: str
    time_s: float
    label: str = ""
    frame: int | None = None

    @property
    def direction(self) -> str:
        return f"{self.from_side}->{self.to_side}"

    @property
    def key(self) -> str:
        """Line and direction, the unit of the per-direction breakdown."""
        return f"{self.line}:{self.direction}"


@dataclass(frozen=True)
class MatchedPair:
    clip: str
    truth_id: int | str
    pred_id: int | str
    key: str
    dt_s: float  # prediction time minus truth time
    dt_frames: float | None  # None when the truth's frame rate is unknown
    truth_label: str
    pred_label: str


@dataclass
class Counts:
    """Counts for one slice (a label, a direction, a clip); rates are derived."""

    truth: int = 0
    pred: int = 0
    tp: int = 0  # matched truth crossings in this slice
    tp_pred: int = 0  # matched predictions in this slice (differs from tp only by label)

    @property
    def fp(self) -> int:
        return self.pred - self.tp_pred

    @property
    def fn(self) -> int:
        return self.truth - self.tp

    def add(self, other: Counts) -> None:
        self.truth += other.truth
        self.pred += other.pred
        self.tp += other.tp
        self.tp_pred += other.tp_pred

    def to_dict(self) -> dict[str, Any]:
        p, r, f = rates(self.tp_pred, self.pred, self.tp, self.truth)
        return {
            "truth": self.truth,
            "pred": self.pred,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "recall": r,
            "precision": p,
            "f1": f,
        }


def rates(tp_pred: int, pred: int, tp_truth: int, truth: int) -> tuple[float, float, float]:
    """(precision, recall, F1) with the zero-denominator rules of the module docstring."""
    precision = tp_pred / pred if pred else 1.0
    recall = tp_truth / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


@dataclass
class EvalResult:
    """Score of one clip (or, from :func:`aggregate`, of many)."""

    clip: str
    tolerance_s: float
    fps: float | None  # None for an aggregate of clips with different rates
    truth: int = 0
    pred: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    duplicates: int = 0  # subset of fp
    direction_errors: int = 0  # each is one fp and one fn
    label_mismatches: int = 0  # matched pairs whose labels differ (still TPs)
    clips: int = 1
    matches: list[MatchedPair] = field(default_factory=list)
    per_label: dict[str, Counts] = field(default_factory=dict)
    per_direction: dict[str, Counts] = field(default_factory=dict)
    # Ids for inspection; left empty in aggregates, where ids are not unique.
    false_positive_ids: list[int | str] = field(default_factory=list)
    false_negative_ids: list[int | str] = field(default_factory=list)
    duplicate_ids: list[int | str] = field(default_factory=list)
    direction_error_pairs: list[tuple[int | str, int | str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return rates(self.tp, self.pred, self.tp, self.truth)[0]

    @property
    def recall(self) -> float:
        return rates(self.tp, self.pred, self.tp, self.truth)[1]

    @property
    def f1(self) -> float:
        return rates(self.tp, self.pred, self.tp, self.truth)[2]

    def _abs(self, frames: bool) -> list[float] | None:
        if not frames:
            return [abs(m.dt_s) for m in self.matches]
        v = [m.dt_frames for m in self.matches]
        return None if any(x is None for x in v) else [abs(x) for x in v if x is not None]

    @property
    def time_error_mean_s(self) -> float | None:
        v = self._abs(False)
        return float(np.mean(v)) if v else None

    @property
    def time_error_max_s(self) -> float | None:
        v = self._abs(False)
        return max(v) if v else None

    @property
    def time_error_mean_frames(self) -> float | None:
        v = self._abs(True)
        return float(np.mean(v)) if v else None

    @property
    def time_error_max_frames(self) -> float | None:
        v = self._abs(True)
        return max(v) if v else None

    def to_dict(self, with_matches: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "clip": self.clip,
            "clips": self.clips,
            "tolerance_s": self.tolerance_s,
            "fps": self.fps,
            "truth": self.truth,
            "pred": self.pred,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "duplicates": self.duplicates,
            "direction_errors": self.direction_errors,
            "label_mismatches": self.label_mismatches,
            "recall": self.recall,
            "precision": self.precision,
            "f1": self.f1,
            "time_error_mean_s": self.time_error_mean_s,
            "time_error_max_s": self.time_error_max_s,
            "time_error_mean_frames": self.time_error_mean_frames,
            "time_error_max_frames": self.time_error_max_frames,
            "per_label": {k: v.to_dict() for k, v in sorted(self.per_label.items())},
            "per_direction": {k: v.to_dict() for k, v in sorted(self.per_direction.items())},
            "false_positive_ids": list(self.false_positive_ids),
            "false_negative_ids": list(self.false_negative_ids),
            "duplicate_ids": list(self.duplicate_ids),
            "direction_error_pairs": [list(p) for p in self.direction_error_pairs],
            "warnings": list(self.warnings),
        }
        if with_matches:
            d["matches"] = [asdict(m) for m in self.matches]
        return d


def _assign(cost: np.ndarray, feasible: np.ndarray) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs among feasible entries: most pairs, then least cost."""
    if not feasible.any():
        return []
    from scipy.optimize import linear_sum_assignment

    # An infeasible pair costs more than any full set of feasible ones, so the solver
    # first maximises the number of feasible pairs and only then their total cost.
    big = float(cost[feasible].sum()) + 1.0 + feasible.sum()
    c = np.where(feasible, cost, big)
    rows, cols = linear_sum_assignment(c)
    return [(int(r), int(k)) for r, k in zip(rows, cols) if feasible[r, k]]


def match(
    truth: Sequence[Event],
    pred: Sequence[Event],
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    fps: float | Fraction | None = None,
    clip: str = "",
) -> EvalResult:
    """Score predictions against truth for one clip.

    ``fps`` (the truth's frame rate) converts time errors to frames; without it the
    time errors in frames are None.

    >>> t = [Event(1, "border", "A", "B", 10.0)]
    >>> p = [Event(7, "border", "A", "B", 10.4), Event(8, "border", "A", "B", 10.6)]
    >>> r = match(t, p, fps=25)
    >>> (r.tp, r.fp, r.fn, r.duplicates, round(r.time_error_max_frames, 6))
    (1, 1, 0, 1, 10.0)
    """
    if tolerance_s < 0:
        raise ValueError("tolerance_s must be >= 0")
    rate = float(fps) if fps else None
    res = EvalResult(clip=clip, tolerance_s=tolerance_s, fps=rate, truth=len(truth), pred=len(pred))
    t_time = np.array([e.time_s for e in truth], dtype=np.float64)
    p_time = np.array([e.time_s for e in pred], dtype=np.float64)
    dt = np.abs(p_time[None, :] - t_time[:, None])  # (truth, pred); empty shapes work too
    within = dt <= tolerance_s + 1e-9  # float times written as decimals must not miss by 1 ulp
    same_line = np.array([[t.line == p.line for p in pred] for t in truth], dtype=bool).reshape(dt.shape)
    same_dir = np.array(
        [[(t.from_side, t.to_side) == (p.from_side, p.to_side) for p in pred] for t in truth], dtype=bool
    ).reshape(dt.shape)
    opposite = np.array(
        [[(t.from_side, t.to_side) == (p.to_side, p.from_side) for p in pred] for t in truth], dtype=bool
    ).reshape(dt.shape)

    pairs = _assign(dt, within & same_line & same_dir)
    t_matched = np.zeros(len(truth), dtype=bool)
    p_matched = np.zeros(len(pred), dtype=bool)
    for i, j in pairs:
        t_matched[i] = p_matched[j] = True
        te, pe = truth[i], pred[j]
        d = pe.time_s - te.time_s
        res.matches.append(
            MatchedPair(clip, te.id, pe.id, te.key, d, d * rate if rate else None, te.label, pe.label)
        )
        if te.label != pe.label:
            res.label_mismatches += 1

    # Direction errors: left-over predictions explaining left-over truth, reversed.
    free = (~t_matched)[:, None] & (~p_matched)[None, :]
    dir_pairs = _assign(dt, within & same_line & opposite & free)
    p_direrr = np.zeros(len(pred), dtype=bool)
    for i, j in dir_pairs:
        p_direrr[j] = True
        res.direction_error_pairs.append((truth[i].id, pred[j].id))

    # Duplicates: further predictions near a truth crossing that is already matched.
    near_matched = (within & same_line & same_dir & t_matched[:, None]).any(axis=0)
    dup = ~p_matched & ~p_direrr & near_matched

    res.tp = len(pairs)
    res.fp = res.pred - res.tp
    res.fn = res.truth - res.tp
    res.duplicates = int(dup.sum())
    res.direction_errors = len(dir_pairs)
    res.false_positive_ids = [pred[int(j)].id for j in np.flatnonzero(~p_matched)]
    res.false_negative_ids = [truth[int(i)].id for i in np.flatnonzero(~t_matched)]
    res.duplicate_ids = [pred[int(j)].id for j in np.flatnonzero(dup)]
    _breakdowns(res, truth, pred, t_matched, p_matched)
    return res


def _breakdowns(
    res: EvalResult, truth: Sequence[Event], pred: Sequence[Event], t_ok: np.ndarray, p_ok: np.ndarray
) -> None:
    # Labels come from different vocabularies (a motion-only scan may say "object"), so
    # truth-side and prediction-side counts are kept apart within each label.
    for slices, attr in ((res.per_label, "label"), (res.per_direction, "key")):
        for e, ok in zip(truth, t_ok):
            c = slices.setdefault(getattr(e, attr), Counts())
            c.truth += 1
            c.tp += int(ok)
        for e, ok in zip(pred, p_ok):
            c = slices.setdefault(getattr(e, attr), Counts())
            c.pred += 1
            c.tp_pred += int(ok)


def aggregate(results: Iterable[EvalResult], clip: str = "total") -> EvalResult:
    """Sum counts over clips and recompute the rates (micro-average).

    >>> a = match([Event(1, "l", "A", "B", 1.0)], [], clip="a")
    >>> b = match([], [Event(1, "l", "A", "B", 1.0)], clip="b")
    >>> t = aggregate([a, b])
    >>> (t.truth, t.pred, t.tp, t.recall, t.precision, t.clips)
    (1, 1, 0, 0.0, 0.0, 2)
    """
    results = list(results)
    tols = {r.tolerance_s for r in results}
    rates_ = {r.fps for r in results}
    out = EvalResult(
        clip=clip,
        # Clips scored at different tolerances: report the loosest (NaN is not valid JSON).
        tolerance_s=max(tols) if tols else DEFAULT_TOLERANCE_S,
        fps=rates_.pop() if len(rates_) == 1 else None,
        clips=0,
    )
    for r in results:
        out.clips += r.clips
        for name in ("truth", "pred", "tp", "fp", "fn", "duplicates", "direction_errors", "label_mismatches"):
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.matches.extend(r.matches)
        for mine, theirs in ((out.per_label, r.per_label), (out.per_direction, r.per_direction)):
            for k, c in theirs.items():
                mine.setdefault(k, Counts()).add(c)
        out.warnings.extend(f"{r.clip}: {w}" for w in r.warnings)
    return out
