"""From per-sample verdicts to impaired intervals: debounced runs with fair edges.

A cause is impaired over a run of consecutive flagged samples at least ``min_samples``
long (one dark sample is a person passing close to the lens, not a covered lens). The
run's edges are put half-way between the last clean sample and the first flagged one
(and back), so the expected edge error is a quarter of the sampling step, not half.
A run is *confirmed* once long enough: from then on its start is certain and the
buckets it covers can be written before it ends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class _Run:
    start: float  # interval start (already placed half-way to the previous sample)
    first_t: float  # time of its first flagged sample
    last_t: float  # time of its latest flagged sample
    n: int


class RunTracker:
    """Debounced runs of one cause."""

    def __init__(self, cause: str, min_samples: int, max_step_s: float) -> None:
        self.cause = cause
        self.min_samples = max(1, min_samples)
        self.max_step_s = max_step_s  # edges are never placed further than this from a sample
        self._run: _Run | None = None
        self._times: deque[float] = deque(maxlen=8)  # times of the latest samples (any verdict)

    def update(self, t: float, flagged: bool, start_t: float | None = None) -> tuple[float, float] | None:
        """Feed one sample's verdict; returns a finished interval when a run ends.

        ``start_t`` is the time the evidence starts, when earlier than ``t`` (a frozen
        picture is seen by comparing with the previous sample: it was already frozen then).
        """
        done = None
        r = self._run
        if flagged:
            if r is None:
                first = start_t if start_t is not None else t
                start = self._edge_before(first)
                self._run = _Run(start, first, t, 1)
            else:
                r.last_t, r.n = t, r.n + 1
        elif r is not None:
            if r.n >= self.min_samples:
                done = (r.start, min((r.last_t + t) / 2.0, r.last_t + self.max_step_s))
            self._run = None
        self._times.append(t)
        return done

    def _edge_before(self, first: float) -> float:
        """Half-way between ``first`` and the latest sample before it."""
        before = [p for p in self._times if p < first]
        if not before:
            return first
        return max((before[-1] + first) / 2.0, first - self.max_step_s)

    def confirmed(self) -> tuple[float, float] | None:
        """The open run, if long enough to count: (start, time of its latest sample)."""
        r = self._run
        if r is not None and r.n >= self.min_samples:
            return r.start, r.last_t
        return None

    def finish(self, end_s: float) -> tuple[float, float] | None:
        """Close the open run at the end of the source."""
        r = self._run
        self._run = None
        if r is not None and r.n >= self.min_samples:
            return r.start, min(end_s, r.last_t + self.max_step_s)
        return None

    def break_run(self) -> tuple[float, float] | None:
        """No information for a while (a decode gap): end the run at its last sample."""
        r = self._run
        self._run = None
        self._times.clear()
        if r is not None and r.n >= self.min_samples:
            return r.start, r.last_t + self.max_step_s / 2.0
        return None
