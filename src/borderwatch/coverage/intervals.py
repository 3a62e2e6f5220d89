"""Sets of time intervals: merge, length, intersection, difference.

An interval is a pair ``(start, end)`` of seconds with ``start <= end``; a list of them
stands for their union. Every function accepts intervals in any order, overlapping or
not (except :func:`contains`, which wants :func:`merge`'s output), and returns the
canonical form: sorted, pairwise disjoint, not touching, every interval of positive
length. Zero-length intervals are points, which have no length and are dropped.

Time-weighted scoring of one interval set against another (for example predicted
impairments against synthetic truth)::

    hit = intersection_length(pred, truth)
    precision = hit / union_length(pred)  # if union_length(pred) else 1.0
    recall = hit / union_length(truth)    # if union_length(truth) else 1.0

A start after its end, NaN or an infinite bound is a ``ValueError``: it is always a bug
upstream, and silently dropping it would understate impaired time.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence

Interval = tuple[float, float]

__all__ = [
    "Interval",
    "clip",
    "contains",
    "difference",
    "intersection",
    "intersection_length",
    "merge",
    "union_length",
]


def _checked(intervals: Iterable[Sequence[float]]) -> list[Interval]:
    out: list[Interval] = []
    for iv in intervals:
        if len(iv) != 2:
            raise ValueError(f"an interval is a (start, end) pair, got {iv!r}")
        s, e = float(iv[0]), float(iv[1])
        if not (math.isfinite(s) and math.isfinite(e)):
            raise ValueError(f"interval bounds must be finite, got ({s}, {e})")
        if e < s:
            raise ValueError(f"interval ends before it starts: ({s}, {e})")
        if e > s:
            out.append((s, e))
    return out


def merge(intervals: Iterable[Sequence[float]], *, gap: float = 0.0) -> list[Interval]:
    """The union as sorted, disjoint intervals; touching ones (and, with ``gap``, ones at
    most ``gap`` seconds apart) are joined; zero-length ones are dropped."""
    if gap < 0 or not math.isfinite(gap):
        raise ValueError(f"gap must be finite and >= 0, got {gap}")
    out: list[Interval] = []
    for s, e in sorted(_checked(intervals)):
        if out and s <= out[-1][1] + gap:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def union_length(intervals: Iterable[Sequence[float]]) -> float:
    """Seconds covered by at least one interval (overlaps count once)."""
    return math.fsum(e - s for s, e in merge(intervals))


def intersection(a: Iterable[Sequence[float]], b: Iterable[Sequence[float]]) -> list[Interval]:
    """The intervals covered by both ``a`` and ``b`` (each taken as a union)."""
    ma, mb = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(ma) and j < len(mb):
        s = max(ma[i][0], mb[j][0])
        e = min(ma[i][1], mb[j][1])
        if e > s:
            out.append((s, e))
        # Advance whichever ends first; on a tie both are done.
        if ma[i][1] < mb[j][1]:
            i += 1
        elif mb[j][1] < ma[i][1]:
            j += 1
        else:
            i += 1
            j += 1
    return out


def intersection_length(a_intervals: Iterable[Sequence[float]], b_intervals: Iterable[Sequence[float]]) -> float:
    """Seconds covered by both sets (symmetric in its arguments)."""
    return math.fsum(e - s for s, e in intersection(a_intervals, b_intervals))


def difference(a: Iterable[Sequence[float]], b: Iterable[Sequence[float]]) -> list[Interval]:
    """The intervals covered by ``a`` but not by ``b``."""
    mb = merge(b)
    out: list[Interval] = []
    j = 0
    for s, e in merge(a):
        cur = s
        while j < len(mb) and mb[j][1] <= cur:
            j += 1
        k = j
        while k < len(mb) and mb[k][0] < e:
            if mb[k][0] > cur:
                out.append((cur, mb[k][0]))
            cur = max(cur, mb[k][1])
            if cur >= e:
                break
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def clip(intervals: Iterable[Sequence[float]], start: float, end: float) -> list[Interval]:
    """The parts of the intervals inside ``[start, end]``."""
    return intersection(intervals, [(start, end)]) if end > start else []


def contains(merged: Sequence[Interval], t: float) -> bool:
    """Whether ``t`` lies in one of the intervals, ends included.

    ``merged`` must be sorted and disjoint, as :func:`merge` returns it (this is a
    binary search, so a long list can be queried for many instants cheaply).
    """
    i = bisect_right(merged, (t, math.inf)) - 1
    return i >= 0 and merged[i][0] <= t <= merged[i][1]
