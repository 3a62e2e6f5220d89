"""The static and slowly changing parts of a scene, built once and reused every frame.

Speed comes from doing the expensive work up front: the ground texture, the cleared
strip and the occluding bushes are baked into one base image; each swaying plant is
pre-rendered at a few sway phases (a frame copies one small patch per plant); sensor
noise is a small bank of frames cropped at a moving offset; light changes are one
256-entry lookup table per frame.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..geometry import Polyline
from .paths import point_at
from .spec import SceneSpec

if TYPE_CHECKING:
    from .faults import FrameFaults

N_PHASES = 16  # sway phases per plant
NOISE_PAD = 16  # noise bank is this much larger than the frame, cropped at a moving offset
SWITCH_GAIN = 1.4  # brightness factor of a sudden light change (IR switch, headlights)

Rect = tuple[int, int, int, int]


def _field(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth random field in roughly [-1, 1] with features about ``cell`` px wide."""
    small = rng.standard_normal((h // cell + 3, w // cell + 3)).astype(np.float32)
    big = cv2.resize(small, (w + 3 * cell, h + 3 * cell), interpolation=cv2.INTER_CUBIC)
    return big[cell : cell + h, cell : cell + w] / 1.5


class Scene:
    """Background, vegetation, occluders, light, weather, noise and shake for one spec."""

    def __init__(self, spec: SceneSpec, line: Polyline, occluders: list[Rect]) -> None:
        self.spec = spec
        self.H, self.W = spec.height, spec.width
        fx = spec.effects
        self.night = fx.night
        root = np.random.SeedSequence([spec.seed, 31337])
        r_ground, r_plants, r_occ, r_noise, r_weather, r_light = (np.random.default_rng(s) for s in root.spawn(6))
        self.base = self._ground(r_ground, line)
        self.occ: list[tuple[Rect, np.ndarray, np.ndarray]] = []
        for rect in occluders:
            self._bake_bush(r_occ, rect)
        self.plants = self._plants(r_plants, line, occluders)
        self._noise(r_noise, fx.noise)
        self._weather(r_weather, fx.weather)
        self.light_phase = float(r_light.uniform(0, 2 * math.pi))
        self.shake = r_light.standard_normal((997, 2)) * fx.shake_px if fx.shake_px > 0 else None
        self._lut_cache: dict[int, np.ndarray] = {}

    # -- construction -------------------------------------------------------------------
    def _ground(self, rng: np.random.Generator, line: Polyline) -> np.ndarray:
        H, W = self.H, self.W
        tex = 11 * _field(rng, H, W, max(8, W // 12)) + 5 * _field(rng, H, W, max(3, W // 80))
        tex += rng.normal(0, 2.5, (H, W)).astype(np.float32)
        mix = np.clip(0.5 + 0.6 * _field(rng, H, W, max(8, W // 6)), 0, 1)[..., None]
        grass = np.array([60, 122, 100], np.float32)  # BGR, luma ~110
        soil = np.array([80, 110, 132], np.float32)  # luma ~113
        img = grass * mix + soil * (1 - mix) + tex[..., None]
        # Cleared strip along the border: lighter sand, luma ~140 (still >= 40 from actors).
        strip = np.zeros((H, W), np.uint8)
        pts = np.round(line.points * 16).astype(np.int32)
        cv2.polylines(strip, [pts], False, 255, max(2, round(0.075 * H)), cv2.LINE_AA, 4)
        a = cv2.GaussianBlur(strip, (0, 0), max(1.0, 0.006 * H)).astype(np.float32)[..., None] / 255
        sand = np.array([118, 140, 152], np.float32) + 0.5 * tex[..., None]
        img = img * (1 - a) + sand * a
        if self.night:
            g = img @ np.array([0.114, 0.587, 0.299], np.float32)
            img = np.repeat((g * 0.45 + 8)[..., None], 3, axis=2)
        base = np.clip(img, 0, 255).astype(np.uint8)
        # Boundary posts every ~15 % of the frame width, just off the strip on side A.
        for s in np.arange(0.1, 1.0, 0.15):
            p, _, n_b = point_at(line, float(s))
            q = p - n_b * 0.05 * H
            ph, pw = 0.05 * H, max(2.0, 0.008 * H)
            col = (95, 95, 95) if self.night else (200, 205, 210)
            cv2.rectangle(base, (int(q[0] - pw / 2), int(q[1] - ph)), (int(q[0] + pw / 2), int(q[1])), col, -1)
        return base

    def _bush_sprite(self, rng: np.random.Generator, w: int, h: int, solid: Rect | None) -> tuple[np.ndarray, np.ndarray]:
        """A bush of overlapping ellipses: colour and alpha (uint8 0/255), size h x w."""
        col = np.zeros((h, w, 3), np.uint8)
        alpha = np.zeros((h, w), np.uint8)
        if solid is not None:
            x0, y0, x1, y1 = solid
            cv2.rectangle(alpha, (x0, y0), (x1, y1), 255, -1)
        for _ in range(int(12 + w * h / 900)):
            cx, cy = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.15 * h, 0.9 * h)
            ax, ay = rng.uniform(0.12, 0.3) * w, rng.uniform(0.12, 0.3) * h
            cv2.ellipse(alpha, (int(cx), int(cy)), (int(ax), int(ay)), 0, 0, 360, 255, -1)
        shade = 18 * _field(rng, h, w, max(3, min(w, h) // 8))
        green = np.array([40, 85, 55], np.float32) if not self.night else np.array([38, 38, 38], np.float32)
        col[:] = np.clip(green + shade[..., None], 0, 255).astype(np.uint8)
        return col, alpha

    def _bake_bush(self, rng: np.random.Generator, rect: Rect) -> None:
        x0, y0, x1, y1 = rect
        bw, bh = x1 - x0, y1 - y0
        m = max(4, int(0.15 * min(bw, bh)))
        # The sprite extends past the rectangle; the rectangle itself is always solid.
        sx0, sy0 = max(0, x0 - m), max(0, y0 - m)
        sx1, sy1 = min(self.W, x1 + m), min(self.H, y1 + m // 2)
        if sx1 <= sx0 or sy1 <= sy0:
            return
        col, alpha = self._bush_sprite(rng, sx1 - sx0, sy1 - sy0, (x0 - sx0, y0 - sy0, x1 - sx0, y1 - sy0))
        mask = alpha > 0
        region = self.base[sy0:sy1, sx0:sx1]
        region[mask] = col[mask]
        self.occ.append(((sx0, sy0, sx1, sy1), region.copy(), mask))

    def _plants(self, rng: np.random.Generator, line: Polyline, avoid: list[Rect]) -> list[tuple[Rect, np.ndarray, float, float]]:
        H, W = self.H, self.W
        count = self.spec.effects.vegetation
        if count is None:
            count = max(3, round(7 * math.sqrt(W * H / (640 * 360))))
        taken: list[Rect] = [(x0 - 4, y0 - 4, x1 + 4, y1 + 4) for (x0, y0, x1, y1), _, _ in self.occ]
        plants: list[tuple[Rect, np.ndarray, float, float]] = []
        for _ in range(count * 20):
            if len(plants) >= count:
                break
            tree = rng.random() < 0.45
            ph = int((rng.uniform(0.22, 0.42) if tree else rng.uniform(0.07, 0.14)) * H)
            pw = int(ph * (rng.uniform(0.5, 0.75) if tree else rng.uniform(1.2, 2.0)))
            if pw < 6 or ph < 6 or pw >= W or ph >= H:
                continue
            x0, y0 = int(rng.uniform(0, W - pw)), int(rng.uniform(0, H - ph))
            rect = (x0, y0, x0 + pw, y0 + ph)
            corners = np.array([[x0, y0], [x0 + pw, y0], [x0, y0 + ph], [x0 + pw, y0 + ph], [x0 + pw / 2, y0 + ph / 2]], float)
            # Keep vegetation off the cleared strip: the border itself stays open ground.
            if (np.abs(line.signed_distance(corners)) < 0.08 * H).any() or line.intersections(corners[0], corners[3]) or line.intersections(corners[1], corners[2]):
                continue
            if any(not (rect[2] <= t[0] or t[2] <= rect[0] or rect[3] <= t[1] or t[3] <= rect[1]) for t in taken):
                continue
            taken.append(rect)
            plants.append((rect, self._sway_bank(rng, rect, tree), float(rng.uniform(0.25, 0.7)), float(rng.random())))
        return plants

    def _sway_bank(self, rng: np.random.Generator, rect: Rect, tree: bool) -> np.ndarray:
        x0, y0, x1, y1 = rect
        w, h = x1 - x0, y1 - y0
        if tree:
            col, alpha = self._bush_sprite(rng, w, int(h * 0.7), None)
            scol = np.zeros((h, w, 3), np.uint8)
            salpha = np.zeros((h, w), np.uint8)
            scol[: col.shape[0]], salpha[: col.shape[0]] = col, alpha
            tw = max(2, w // 10)
            trunk = (30, 45, 60) if not self.night else (30, 30, 30)
            cv2.rectangle(scol, (w // 2 - tw // 2, int(h * 0.55)), (w // 2 + tw // 2, h - 1), trunk, -1)
            cv2.rectangle(salpha, (w // 2 - tw // 2, int(h * 0.55)), (w // 2 + tw // 2, h - 1), 255, -1)
            col, alpha = scol, salpha
        else:
            col, alpha = self._bush_sprite(rng, w, h, None)
        amp = self.spec.effects.sway * (1.0 + 0.012 * h)
        bank = np.empty((N_PHASES, h, w, 3), np.uint8)
        under = self.base[y0:y1, x0:x1].astype(np.float32)
        fcol = col.astype(np.float32)
        for k in range(N_PHASES):
            d = amp * math.sin(2 * math.pi * k / N_PHASES)
            # Shear: the top moves by d, the base stays rooted.
            m = np.array([[1.0, -d / h, d], [0.0, 1.0, 0.0]], np.float32)
            c = cv2.warpAffine(fcol, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            a = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)[..., None] / 255
            bank[k] = np.clip(c * a + under * (1 - a), 0, 255).astype(np.uint8)
        return bank

    def _noise(self, rng: np.random.Generator, sigma: float) -> None:
        self.noise_pos: list[np.ndarray] = []
        self.noise_neg: list[np.ndarray] = []
        if sigma <= 0:
            return
        banks = 6 if self.W * self.H <= 1_000_000 else 3
        shape = (self.H + NOISE_PAD, self.W + NOISE_PAD, 3)
        for _ in range(banks):
            if self.night:  # a monochrome IR sensor: the same noise in every channel
                n = np.repeat(np.rint(rng.normal(0, sigma, shape[:2] + (1,))).astype(np.int16), 3, axis=2)
            else:
                n = np.rint(rng.normal(0, sigma, shape)).astype(np.int16)
            self.noise_pos.append(np.clip(n, 0, 255).astype(np.uint8))
            self.noise_neg.append(np.clip(-n, 0, 255).astype(np.uint8))

    def _weather(self, rng: np.random.Generator, kind: str) -> None:
        self.weather: list[np.ndarray] = []
        self.weather_kind = kind
        if kind == "none":
            return
        H, W = self.H, self.W
        for _ in range(4):
            layer = np.zeros((2 * H, W), np.uint8)
            n = int(W * H / (350 if kind == "rain" else 200))
            xs, ys = rng.uniform(0, W, n).astype(int), rng.uniform(0, 2 * H, n).astype(int)
            if kind == "rain":
                ln = max(4, H // 25)
                for x, y in zip(xs, ys):
                    cv2.line(layer, (x, y), (x + ln // 4, y + ln), 45, 1, cv2.LINE_AA)
            else:
                for x, y in zip(xs, ys):
                    cv2.circle(layer, (x, y), max(1, H // 300), 230, -1, cv2.LINE_AA)
            self.weather.append(cv2.merge([layer, layer, layer]))

    # -- per frame ----------------------------------------------------------------------
    def background(self, f: int, t: float, out: np.ndarray) -> None:
        """Write the frame's background (ground, swaying plants, bushes) into ``out``."""
        np.copyto(out, self.base)
        for (x0, y0, x1, y1), bank, freq, phase in self.plants:
            k = int(N_PHASES * ((t * freq + phase) % 1.0)) % N_PHASES
            out[y0:y1, x0:x1] = bank[k]

    def occlude(self, out: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> None:
        """Redraw foreground bushes over any actor box that touches them."""
        for (x0, y0, x1, y1), patch, mask in self.occ:
            if any(b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0 for b in boxes):
                np.copyto(out[y0:y1, x0:x1], patch, where=mask[..., None])

    def gain(self, t: float) -> float:
        fx = self.spec.effects
        g = 1.0 + fx.light_drift * math.sin(2 * math.pi * t / fx.light_period_s + self.light_phase)
        if sum(1 for s in fx.light_switch_s if t >= s) % 2:
            g *= SWITCH_GAIN
        return g

    def finish(self, f: int, t: float, img: np.ndarray, spare: np.ndarray, faults: FrameFaults | None = None) -> np.ndarray:
        """Weather, light, noise and shake (and faults), in place where possible; returns the frame."""
        if faults is not None:
            faults.knock(f, img)
        if self.weather:
            layer = self.weather[f % len(self.weather)]
            off = (f * max(2, self.H // 30) if self.weather_kind == "rain" else f * max(1, self.H // 150)) % self.H
            win = layer[self.H - off : 2 * self.H - off]
            (cv2.add if self.weather_kind == "rain" else cv2.max)(img, win, dst=img)
        if faults is not None:
            faults.defocus(f, img)
        key = round(self.gain(t) * 1024)
        if key != 1024:
            lut = self._lut_cache.get(key)
            if lut is None:
                lut = np.clip(np.arange(256) * (key / 1024), 0, 255).astype(np.uint8)
                if len(self._lut_cache) < 4096:
                    self._lut_cache[key] = lut
            cv2.LUT(img, lut, dst=img)
        if faults is not None:
            faults.cover(f, img)
        if self.noise_pos:
            b = (f * 7 + self.spec.seed) % len(self.noise_pos)
            oy, ox = (f * 5) % NOISE_PAD, (f * 11 + 3) % NOISE_PAD
            cv2.add(img, self.noise_pos[b][oy : oy + self.H, ox : ox + self.W], dst=img)
            cv2.subtract(img, self.noise_neg[b][oy : oy + self.H, ox : ox + self.W], dst=img)
        if self.shake is not None:
            dx, dy = self.shake[f % len(self.shake)]
            m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32)
            cv2.warpAffine(img, m, (self.W, self.H), dst=spare, borderMode=cv2.BORDER_REFLECT)
            img = spare
        if faults is not None:
            faults.glare(f, img)
        return img
