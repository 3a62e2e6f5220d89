"""Per-sample camera-health measurements, from the luma plane only.

A *sample* is taken a few times a second of source time (not every frame: health changes
over seconds, and the scan's budget is per frame). Everything is measured on small
images so a sample costs well under a millisecond:

* the analysis image the motion model already uses (luma subsampled to ~320 px wide):
  its histogram (dark, clipped, spread, percentiles) and its change since the previous
  sample (a frozen picture does not change above the sensor's noise);
* a handful of full-resolution rows, for sharpness: subsampling would alias away the
  fine detail that defocus removes;
* a further reduced copy (~96 px wide) for the camera's position, matched against a
  reference view (:mod:`.pose`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Bands of full-resolution luma rows used for sharpness, and rows averaged per band
# (averaging 4 rows halves the sensor noise, which otherwise hides a loss of detail).
SHARP_BANDS = 32
BAND_ROWS = 4


@dataclass(frozen=True)
class Sample:
    """What one health sample measured."""

    time_s: float
    mean: float  # mean luma
    p05: float
    p50: float
    p95: float
    dark_frac: float  # share of samples at or below the dark level
    clipped_frac: float  # share at or above the clip level
    spread: float  # p99 - p01: near 0 for a flat "no video" screen
    change: float | None  # mean |difference| from the previous sample (None for the first)
    sharpness: float  # mean |horizontal gradient| of full-resolution rows / contrast
    shift_px: float | None  # shift from the reference view, full-resolution px (None: no reference yet)
    response: float | None  # phase-correlation peak against the reference (0..1)

    def signals(self) -> dict[str, float | None]:
        return {
            "mean_luma": self.mean,
            "dark_frac": self.dark_frac,
            "clipped_frac": self.clipped_frac,
            "spread": self.spread,
            "change": self.change,
            "sharpness": self.sharpness,
            "shift_px": self.shift_px,
        }


def _percentiles(hist: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    cdf = np.cumsum(hist)
    total = float(cdf[-1]) or 1.0
    return [float(np.searchsorted(cdf, q * total)) for q in qs]


class SampleMeter:
    """Measures samples of one source (keeps the previous image and the reference view)."""

    def __init__(self, width: int, height: int, dark_level: int, clip_level: int) -> None:
        self.width, self.height = width, height
        self.dark_level, self.clip_level = dark_level, clip_level
        starts = np.linspace(0, max(0, height - BAND_ROWS), SHARP_BANDS).astype(np.intp)
        self._rows = np.minimum(np.add.outer(starts, np.arange(BAND_ROWS)).ravel(), height - 1)
        self._prev: np.ndarray | None = None

    def measure(self, time_s: float, small: np.ndarray, luma: np.ndarray) -> Sample:
        """Measure one sample: ``small`` is the analysis image, ``luma`` the full plane."""
        hist = cv2.calcHist([small], [0], None, [256], [0, 256]).ravel()
        n = float(hist.sum()) or 1.0
        p01, p05, p50, p95, p99 = _percentiles(hist, (0.01, 0.05, 0.5, 0.95, 0.99))
        dark = float(hist[: self.dark_level + 1].sum()) / n
        clipped = float(hist[self.clip_level :].sum()) / n
        mean = float(np.dot(hist, np.arange(256, dtype=np.float64))) / n
        change = None
        if self._prev is not None and self._prev.shape == small.shape:
            change = float(cv2.mean(cv2.absdiff(small, self._prev))[0])
        self._prev = small.copy()
        return Sample(
            time_s=time_s,
            mean=round(mean, 2),
            p05=p05,
            p50=p50,
            p95=p95,
            dark_frac=round(dark, 4),
            clipped_frac=round(clipped, 4),
            spread=p99 - p01,
            change=None if change is None else round(change, 3),
            sharpness=round(self._sharpness(luma, max(1.0, p95 - p05)), 4),
            shift_px=None,
            response=None,
        )

    def _sharpness(self, luma: np.ndarray, contrast: float) -> float:
        """Mean absolute 2-pixel horizontal difference on bands of full-resolution rows
        (each band averaged over 4 rows), per unit of contrast, so that a change of light
        or exposure does not read as blur. Defocus removes exactly this fine detail."""
        rows = luma[self._rows]
        # Average 4 consecutive rows in two halving steps (cheaper than a resize).
        pairs = cv2.addWeighted(rows[0::2], 0.5, rows[1::2], 0.5, 0.0)
        bands = cv2.addWeighted(pairs[0::2], 0.5, pairs[1::2], 0.5, 0.0)
        d = cv2.absdiff(bands[:, 2:], bands[:, :-2])
        return float(cv2.mean(d)[0]) / contrast
