"""Background/motion model on the subsampled luma plane.

Cheap by design: the luma plane is subsampled by an integer stride (a strided view
copy, no colour conversion, no resize), and every per-pixel step is one OpenCV call.

* Background: a per-pixel running mean, updated only where nothing moves (so a slow
  walker is not absorbed), with a time constant in *seconds* (frames may be unevenly
  spaced: idle striding, trail cameras).
* Noise: a per-pixel running variance of the background residual, so pixels that keep
  changing (swaying branches, flicker) need a larger difference to count.
* Slow light drift: the median residual over a sparse grid is removed every frame.
* A **sudden whole-image change** (IR switch, headlights, lightning, exposure jump) is
  reported as a :class:`LightChange` event of its own and the model re-learns; it
  produces no detections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..config import MotionConfig


@dataclass(frozen=True)
class MotionResult:
    """Blobs of one analysed frame, in full-resolution pixel coordinates."""

    xyxy: np.ndarray  # (n, 4) float32
    area: np.ndarray  # (n,) foreground pixels of each blob (analysis scale)
    fg_frac: float  # share of the image flagged as foreground
    light_change: bool  # this frame is part of a whole-image change
    learning: bool  # still learning the background (no detections)


_NO_BOXES = np.zeros((0, 4), dtype=np.float32)
_NO_AREA = np.zeros((0,), dtype=np.int32)
_EMPTY = MotionResult(_NO_BOXES, _NO_AREA, 0.0, False, False)


class MotionDetector:
    """Foreground blobs from luma frames of a fixed camera."""

    def __init__(self, cfg: MotionConfig, width: int, height: int) -> None:
        self.cfg = cfg
        self.step = max(1, int(round(width / cfg.analysis_width)))
        self.width, self.height = width, height
        self.sw = math.ceil(width / self.step)
        self.sh = math.ceil(height / self.step)
        self.min_area = max(3, int(round(cfg.min_area_frac * self.sw * self.sh)))
        # A box's bottom edge is the row after its last sampled foreground row; the
        # object's true lowest row lies anywhere in the ``step`` rows from that sample
        # on, so the unbiased ground-contact y is this much above the box bottom.
        self.ground_bias = (self.step + 1) / 2.0
        # Boxes this close to the left, right or bottom border may be cut by it.
        self.edge_px = 1.5 * self.step
        self._bg: np.ndarray | None = None
        self._var: np.ndarray | None = None
        self._thr2: np.ndarray | None = None
        self._quick: tuple[np.ndarray, np.ndarray] | None = None  # half-resolution bg, thr^2
        self._t0: float | None = None
        self._last_t: float | None = None
        self._n = 0
        # 2x2: removes single-sample speckle but keeps limbs two samples wide.
        self._k_open = np.ones((2, 2), np.uint8)
        self._k_join = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
        self._grid = (slice(2, None, 7), slice(3, None, 7))  # sparse sample for the drift estimate

    def subsample(self, luma: np.ndarray) -> np.ndarray:
        """The analysis image: every ``step``-th luma sample, contiguous uint8."""
        s = self.step
        return np.ascontiguousarray(luma[::s, ::s]) if s > 1 else np.ascontiguousarray(luma)

    def changed(self, luma: np.ndarray) -> bool:
        """Whether anything may have moved, from a cheap look at half resolution.

        Compares every second analysis sample with the model as of its last update,
        without updating it: a quarter of the work of :meth:`apply`, for frames of a
        quiet scene. Anything that survives the same 2x2 opening counts, as does a
        model not yet learned.
        """
        if self._bg is None or self._thr2 is None:
            return True
        if self._quick is None:
            # Made on demand: frames analysed in full one after another never need it.
            self._quick = (np.ascontiguousarray(self._bg[::2, ::2]), np.ascontiguousarray(self._thr2[::2, ::2]))
        bg_q, thr2_q = self._quick
        s = 2 * self.step
        q = np.ascontiguousarray(luma[::s, ::s]).astype(np.float32)
        r = cv2.subtract(q, bg_q)
        fg = cv2.compare(cv2.multiply(r, r), thr2_q, cv2.CMP_GT)
        if cv2.countNonZero(fg) == 0:
            return False
        return cv2.countNonZero(cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._k_open)) > 0

    def apply(self, small: np.ndarray, time_s: float) -> MotionResult:
        """Update the model with one analysis image and return its blobs."""
        cfg = self.cfg
        cur = small.astype(np.float32)
        if self._bg is None:
            self._bg = cur.copy()
            self._var = np.full_like(cur, 4.0**2)
            self._thr2 = np.full_like(cur, max(cfg.threshold, cfg.noise_k * 4.0) ** 2)
            self._t0 = self._last_t = time_s
            return MotionResult(_NO_BOXES, _NO_AREA, 0.0, False, True)
        assert self._var is not None and self._thr2 is not None and self._t0 is not None
        dt = max(0.0, time_s - (self._last_t if self._last_t is not None else time_s))
        self._last_t = time_s
        learning = (time_s - self._t0) < cfg.warmup_seconds
        tau = cfg.learn_seconds / 4 if learning else cfg.learn_seconds
        alpha = float(1.0 - math.exp(-max(dt, 1e-3) / tau))

        resid = cv2.subtract(cur, self._bg)
        sample = resid[self._grid].ravel()
        half = sample.size // 2
        offset = float(np.partition(sample, half)[half])  # median, without np.median's overhead
        if offset:
            np.subtract(resid, np.float32(offset), out=resid)
        r2 = cv2.multiply(resid, resid)
        fg = cv2.compare(r2, self._thr2, cv2.CMP_GT)
        fg_frac = cv2.countNonZero(fg) / fg.size
        if fg_frac > cfg.light_change_frac or abs(offset) > 3 * cfg.threshold:
            # The whole picture changed at once: not objects. Re-learn from here.
            self._bg = cur.copy()
            self._quick = None
            self._t0 = time_s - cfg.warmup_seconds / 2  # short settling period
            return MotionResult(_NO_BOXES, _NO_AREA, fg_frac, True, True)

        # Drift follows everywhere; the mean learns only where nothing moves.
        if offset:
            self._bg += offset
        still = cv2.bitwise_not(fg)
        cv2.accumulateWeighted(cur, self._bg, alpha, mask=still)
        cv2.accumulateWeighted(r2, self._var, alpha, mask=still)
        self._n += 1
        if self._n % 8 == 1 or learning:
            # Threshold map: max(threshold, noise_k * sigma)^2, refreshed now and then.
            np.maximum(self._var * (cfg.noise_k**2), cfg.threshold**2, out=self._thr2)
        self._quick = None  # the model moved on
        if learning:
            return MotionResult(_NO_BOXES, _NO_AREA, fg_frac, False, True)
        return self._blobs(fg, fg_frac)

    def _blobs(self, fg: np.ndarray, fg_frac: float) -> MotionResult:
        """Blobs: found on the opened mask, measured on the raw one.

        The opening removes speckle so that noise never makes a blob, but it also eats
        one-sample-thin parts such as the feet row; the box of each blob is therefore
        measured on the raw foreground inside the (dilated) blob.
        """
        if fg_frac == 0.0:
            return _EMPTY
        clean = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._k_open)
        # Label only the bounding box of what survived the opening: usually a small
        # part of the picture, and labelling is the costliest step of the model.
        rx, ry, rw, rh = cv2.boundingRect(clean)
        if rw == 0 or rh == 0:
            return _EMPTY
        x0, y0 = max(0, rx - 2), max(0, ry - 2)
        x1, y1 = min(self.sw, rx + rw + 2), min(self.sh, ry + rh + 2)
        roi_clean = clean[y0:y1, x0:x1]
        n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(roi_clean, self._k_join), connectivity=8)
        if n <= 1:
            return _EMPTY
        area = np.bincount(labels[roi_clean > 0], minlength=n)
        area[0] = 0  # the background
        idx = np.flatnonzero(area >= self.min_area)
        if not len(idx):
            return _EMPTY
        roi_fg = fg[y0:y1, x0:x1]
        s = float(self.step)
        rows = []
        for k in idx:
            bx, by, bw, bh = (int(v) for v in stats[k, :4])
            # The raw foreground of this blob only (a neighbour may share its box).
            mine = cv2.bitwise_and(roi_fg[by : by + bh, bx : bx + bw], (labels[by : by + bh, bx : bx + bw] == k).view(np.uint8))
            rx, ry, rw, rh = cv2.boundingRect(mine)
            lx, ly = x0 + bx + rx, y0 + by + ry
            rows.append((lx * s, ly * s, min((lx + rw) * s, self.width), min((ly + rh) * s, self.height)))
        xyxy = np.array(rows, dtype=np.float32)
        boxes, areas = _absorb_fragments(xyxy, area[idx].astype(np.int32))
        return MotionResult(boxes, areas, fg_frac, False, False)


def _absorb_fragments(xyxy: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold blobs lying mostly inside a larger blob's box into that blob.

    A person on a low-contrast floor often breaks into a body plus pieces (feet, a
    hem, a reflection) within the body's box; each piece would become a track of its
    own and cross the line with the body. Pieces with at least half their box inside
    a bigger box are merged into it (the union of the boxes).
    """
    if len(xyxy) < 2:
        return xyxy, area
    order = np.argsort(-(xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]))
    boxes = xyxy[order].copy()
    areas = area[order].copy()
    alive = np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        for j in range(i + 1, len(boxes)):
            if not alive[j]:
                continue
            a, b = boxes[i], boxes[j]
            iw = min(a[2], b[2]) - max(a[0], b[0])
            ih = min(a[3], b[3]) - max(a[1], b[1])
            if iw <= 0 or ih <= 0:
                continue
            if iw * ih >= 0.5 * (b[2] - b[0]) * (b[3] - b[1]):
                boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                areas[i] += areas[j]
                alive[j] = False
    return boxes[alive], areas[alive]
