"""Crossing snapshots: the frame with the line, the track box and the crossing label."""

from __future__ import annotations

import cv2
import numpy as np

from ..geometry import Polyline
from ..records import Crossing, Frame


def draw_snapshot(frame: Frame, lines: list[Polyline], box: np.ndarray, c: Crossing) -> np.ndarray:
    """A BGR image of ``frame`` annotated for crossing ``c`` (the source is not altered)."""
    if frame.to_bgr is not None:
        img = np.ascontiguousarray(frame.to_bgr()).copy()
    else:
        img = cv2.cvtColor(frame.luma, cv2.COLOR_GRAY2BGR)
    h = img.shape[0]
    thick = max(1, h // 240)
    for ln in lines:
        pts = ln.points.round().astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [pts], False, (0, 200, 255), thick, cv2.LINE_AA)
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 255), thick)
    text = f"#{c.id} {c.label} {c.from_side}->{c.to_side} t={c.time_s:.3f}s f={c.frame}"
    scale = max(0.4, h / 900)
    cv2.putText(img, text, (8, int(24 * scale / 0.6)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, (8, int(24 * scale / 0.6)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return img
