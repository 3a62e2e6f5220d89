"""Where the camera points: the view compared with the one the line was drawn on.

The reference view is the per-pixel median of a few healthy samples a second or more
apart (so a person walking through is not part of it), at about 96 px wide. The
middle of the reference (70 % of each side) is searched for in each later sample by
normalised cross-correlation: the best match gives the shift of the whole view, its
score how much of the view is still recognisable. A knocked camera shows a large
shift with a clear match. (Phase correlation was tried first: it whitens the
spectrum, so sensor noise weighs as much as the scene's structure and the estimate
wandered by several pixels on a still camera.) Day and night have a reference each (an IR switch changes
what edges look bright), and each follows slow changes of the scene (seasons, light)
with a long time constant, only while the view is in place.
"""

from __future__ import annotations

import cv2
import numpy as np

POSE_WIDTH = 96
# Share of each side of the reference left out of the searched template: the largest
# shift that can be measured.
MARGIN = 0.15
# Healthy samples, at least this far apart, whose median is the reference view.
REF_SAMPLES = 6
REF_SPACING_S = 1.0


class ViewReference:
    def __init__(self, full_width: int, alpha: float) -> None:
        self.full_width = full_width
        self.alpha = alpha
        self._size: tuple[int, int] | None = None
        self._ref: np.ndarray | None = None
        self._margin = (0, 0)
        self._learn: list[np.ndarray] = []
        self._last_learn_t = -np.inf

    def image(self, small: np.ndarray) -> np.ndarray:
        """The reduced, zero-mean float image of an analysis image."""
        if self._size is None:
            h, w = small.shape
            pw = min(POSE_WIDTH, w)
            self._size = (pw, max(16, round(h * pw / w)))
            self._margin = (max(1, round(MARGIN * self._size[0])), max(1, round(MARGIN * self._size[1])))
        return cv2.resize(small, self._size, interpolation=cv2.INTER_AREA).astype(np.float32)

    @property
    def ready(self) -> bool:
        return self._ref is not None

    def learn(self, t: float, img: np.ndarray, in_place: bool) -> None:
        """A healthy sample: build the reference, or follow slow change once built."""
        if self._ref is None:
            if t - self._last_learn_t >= REF_SPACING_S:
                self._learn.append(img)
                self._last_learn_t = t
                if len(self._learn) >= REF_SAMPLES:
                    self._ref = np.median(np.stack(self._learn), axis=0).astype(np.float32)
                    self._learn = []
        elif in_place:
            cv2.accumulateWeighted(img, self._ref, self.alpha)

    def shift(self, img: np.ndarray) -> tuple[float, float]:
        """Shift of ``img`` from the reference in full-resolution pixels, and the match
        score (normalised cross-correlation, 1 = identical up to brightness and gain)."""
        assert self._ref is not None and self._size is not None
        mx, my = self._margin
        tmpl = self._ref[my:-my, mx:-mx]
        res = cv2.matchTemplate(img, tmpl, cv2.TM_CCOEFF_NORMED)
        _, score, _, (px, py) = cv2.minMaxLoc(res)
        dx = px + _vertex(res, py, px, axis=1) - mx
        dy = py + _vertex(res, py, px, axis=0) - my
        return float(np.hypot(dx, dy) * self.full_width / self._size[0]), float(score)


def _vertex(res: np.ndarray, y: int, x: int, axis: int) -> float:
    """Sub-pixel offset of the peak along one axis (parabola through three values)."""
    if axis == 1:
        if not 0 < x < res.shape[1] - 1:
            return 0.0
        a, b, c = res[y, x - 1], res[y, x], res[y, x + 1]
    else:
        if not 0 < y < res.shape[0] - 1:
            return 0.0
        a, b, c = res[y - 1, x], res[y, x], res[y + 1, x]
    den = a - 2 * b + c
    return float(0.5 * (a - c) / den) if den < 0 else 0.0
