"""A camera's own normal: learned from its healthy samples, slow to forget.

Relative signals (sharpness, the noise floor of the picture's change) mean nothing in
absolute terms: a wide grassy view is sharper than a foggy road, a cheap sensor noisier
than a good one. Each is compared with the same camera's baseline, learned separately
for day and night. The baseline is the median of the first healthy samples, then an
exponential average with a long time constant, so that a fault that comes on slowly
(focus drifting over minutes) is not learned as normal.
"""

from __future__ import annotations

import numpy as np

from ..config import HealthConfig

# Healthy samples that establish a baseline (and before which it is unknown).
LEARN_SAMPLES = 12


class Baseline:
    def __init__(self, cfg: HealthConfig, sample_s: float) -> None:
        self._first: list[float] = []
        self._value: float | None = None
        self._alpha = min(1.0, sample_s / cfg.baseline_seconds)

    @property
    def value(self) -> float | None:
        return self._value

    def add(self, x: float) -> None:
        if self._value is None:
            self._first.append(x)
            if len(self._first) >= LEARN_SAMPLES:
                self._value = float(np.median(self._first))
                self._first = []
        else:
            self._value += self._alpha * (x - self._value)
