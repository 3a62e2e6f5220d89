"""Drawing movers with OpenCV so that each shape's bottom centre is its ground point.

Every shape is left/right symmetric in extent (legs spread equally, a head at one end
balanced by a tail at the other), so the bounding box's bottom centre is exactly the
trajectory point, to the 1/16 px the sub-pixel drawing allows. Colours are chosen to
differ from the ground by at least ~40 grey levels of luma (the ground stays within
~95..160), so a background subtractor on the luma plane can see every actor.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .paths import ActorPlan

_SHIFT = 4
_ONE = 1 << _SHIFT

# BGR; luma (BT.601) of the dark ones <= 56, of the bright ones >= 189.
DARK = [(60, 30, 20), (25, 25, 25), (30, 50, 40), (30, 30, 110), (30, 50, 80), (70, 40, 40)]
BRIGHT = [(235, 235, 235), (60, 220, 240), (240, 200, 150), (215, 215, 215), (80, 255, 200)]
ANIMAL = [(30, 45, 70), (35, 35, 40), (40, 60, 85)]
PANTS = (35, 30, 30)
HEAD = (30, 35, 45)
WHEEL = (20, 20, 20)
WINDOW = (70, 55, 45)
NIGHT_GLOW = [(205, 205, 205), (220, 220, 220), (190, 190, 190)]


def luma(bgr: tuple[int, int, int]) -> float:
    return 0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2]


def pick_colors(plans: list[ActorPlan], seed: int, night: bool) -> None:
    """Give every plan a colour (the spec's, or one drawn from the seed)."""
    for p in plans:
        if p.spec.color is not None:
            p.color = tuple(int(c) for c in p.spec.color)  # type: ignore[assignment]
            continue
        rng = np.random.default_rng([seed, 104729, p.actor_id])
        if night:
            pal = NIGHT_GLOW
        elif p.spec.kind == "animal":
            pal = ANIMAL
        else:
            pal = DARK if rng.random() < 0.65 else BRIGHT
        p.color = pal[int(rng.integers(len(pal)))]


def _fx(v: float) -> int:
    return int(round(v * _ONE))


def _poly(img: np.ndarray, pts: list[tuple[float, float]], color: tuple[int, int, int]) -> None:
    arr = np.array([[_fx(x), _fx(y)] for x, y in pts], dtype=np.int32)
    cv2.fillPoly(img, [arr], color, cv2.LINE_8, _SHIFT)


def _ellipse(img: np.ndarray, cx: float, cy: float, ax: float, ay: float, color: tuple[int, int, int]) -> None:
    cv2.ellipse(img, (_fx(cx), _fx(cy)), (max(1, _fx(ax)), max(1, _fx(ay))), 0, 0, 360, color, -1, cv2.LINE_8, _SHIFT)


def _rect(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color: tuple[int, int, int]) -> None:
    _poly(img, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color)


def _person(img: np.ndarray, x: float, y: float, w: float, h: float, phase: float, color: tuple, night: bool, run: bool) -> None:
    swing = abs(math.sin(phase))
    spread = (0.03 + 0.13 * swing) * h if run else (0.02 + 0.11 * swing) * h
    spread = min(spread, w / 2 - 0.035 * h)
    foot = 0.035 * h
    hip = y - 0.47 * h
    shoulder = y - 0.80 * h
    pants = color if night else PANTS
    head = color if night else HEAD
    for d in (-1.0, 1.0):  # legs: equal spread both sides keeps the bottom centre on x
        _poly(img, [(x + d * 0.075 * h, hip), (x, hip), (x + d * (spread - foot), y), (x + d * (spread + foot), y)], pants)
    arm = (0.02 + 0.02 * swing) * h
    for d in (-1.0, 1.0):
        _poly(
            img,
            [(x + d * 0.09 * h, shoulder), (x + d * 0.125 * h, shoulder + 0.01 * h),
             (x + d * (0.12 * h + arm), y - 0.5 * h), (x + d * (0.08 * h + arm), y - 0.5 * h)],
            color,
        )
    _poly(img, [(x - 0.11 * h, shoulder), (x + 0.11 * h, shoulder), (x + 0.09 * h, hip + 0.03 * h), (x - 0.09 * h, hip + 0.03 * h)], color)
    _ellipse(img, x, y - 0.895 * h, 0.065 * h, 0.075 * h, head)


def _crawler(img: np.ndarray, x: float, y: float, w: float, h: float, facing: int, color: tuple, night: bool) -> None:
    _ellipse(img, x, y - 0.5 * h, 0.45 * w, 0.5 * h, color)
    _ellipse(img, x + facing * 0.3 * w, y - 0.8 * h, 0.3 * h, 0.28 * h, color if night else HEAD)


def _vehicle(img: np.ndarray, x: float, y: float, w: float, h: float, color: tuple, night: bool) -> None:
    _poly(img, [(x - 0.32 * w, y - h), (x + 0.32 * w, y - h), (x + 0.42 * w, y - 0.70 * h), (x - 0.42 * w, y - 0.70 * h)], color)
    _rect(img, x - 0.5 * w, y - 0.72 * h, x + 0.5 * w, y - 0.14 * h, color)
    window = color if night else WINDOW
    _poly(img, [(x - 0.27 * w, y - 0.94 * h), (x + 0.27 * w, y - 0.94 * h), (x + 0.35 * w, y - 0.74 * h), (x - 0.35 * w, y - 0.74 * h)], window)
    wheel = color if night else WHEEL
    for d in (-1.0, 1.0):
        _rect(img, x + d * 0.24 * w, y - 0.22 * h, x + d * 0.44 * w, y, wheel)
    lamp = (250, 250, 250) if night else (120, 210, 235)
    for d in (-1.0, 1.0):
        _ellipse(img, x + d * 0.36 * w, y - 0.45 * h, 0.05 * w, 0.05 * h, lamp)


def _animal(img: np.ndarray, x: float, y: float, w: float, h: float, phase: float, facing: int, color: tuple) -> None:
    step = 0.03 * w * math.sin(phase)
    for d in (-1.0, 1.0):
        for base, sw in ((0.28, step), (0.14, -step)):
            fx = x + d * (base * w + sw)
            _poly(img, [(fx - 0.025 * w, y - 0.58 * h), (fx + 0.025 * w, y - 0.58 * h), (fx + 0.025 * w, y), (fx - 0.025 * w, y)], color)
    _ellipse(img, x, y - 0.62 * h, 0.36 * w, 0.2 * h, color)
    _ellipse(img, x + facing * 0.4 * w, y - 0.82 * h, 0.1 * w, 0.09 * h, color)
    tail = x - facing * 0.5 * w
    _poly(img, [(x - facing * 0.33 * w, y - 0.74 * h), (tail, y - 0.62 * h), (tail, y - 0.56 * h), (x - facing * 0.33 * w, y - 0.66 * h)], color)


def draw(img: np.ndarray, plan: ActorPlan, k: int, night: bool) -> None:
    """Draw ``plan`` at trajectory index ``k`` into ``img`` (BGR, in place)."""
    x, y = float(plan.pos[k, 0]), float(plan.pos[k, 1])
    w, h = plan.width, plan.height
    kind = plan.spec.kind
    phase = math.pi * float(plan.travelled[k]) / (0.5 * h)
    facing = int(plan.facing[k])
    if kind in ("walk", "group", "run"):
        _person(img, x, y, w, h, phase, plan.color, night, kind == "run")
    elif kind == "crawl":
        _crawler(img, x, y, w, h, facing, plan.color, night)
    elif kind == "vehicle":
        _vehicle(img, x, y, w, h, plan.color, night)
    else:
        _animal(img, x, y, w, h, phase, facing, plan.color)
