"""Camera faults drawn into synthetic frames: what each does, in physical order.

Per frame, :class:`FrameFaults` hooks into the scene's finishing steps::

    scene (ground, plants, actors, bushes)
      -> knock    the whole view shifted and rotated (borders reflected)
      -> weather
      -> defocus  Gaussian blur, before the sensor noise (the noise stays sharp)
      -> light
      -> cover    a dark, slightly lit cover replaces the picture (slides on/off)
      -> sensor noise, shake
      -> glare    a washed-out area clipped to 255, after everything else
    then, per frame index:
      freeze      frames in (a, b) repeat frame a exactly, noise included
      drop        frames in [a, b) are not written (a timestamp gap)

``corrupt`` does not touch pixels: the writer forces IDR frames at its boundaries and
afterwards overwrites the payload of the packets in between (:func:`corrupt_packets`).
Every random choice (glare position, knock direction, cover texture, corrupt bytes)
comes from the scene seed and the fault's index, so output stays deterministic.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError, OutputError
from .spec import FAULT_CAUSES, FaultSpec, SceneSpec

#: Faults during which a crossing cannot be seen at all, strongest first: a truth
#: crossing in one of them carries ``during_fault`` = its cause.
HIDING = ("drop", "corrupt", "cover", "freeze")
GLARE_HALO = 1.6  # the washed-out halo reaches this many core radii
GLARE_VEIL = 0.08  # share of the way to white the rest of the picture is lifted


def parse_fault(text: str) -> dict[str, Any]:
    """``"cover:30-45"`` -> ``{"kind": "cover", "start_s": 30.0, "end_s": 45.0}``; ``"knock:60-"``: to the end."""
    m = re.fullmatch(r"\s*([a-z]+)\s*:\s*([0-9.]+)\s*-\s*([0-9.]*)\s*", text)
    if m is None:
        raise ConfigError(f"--fault {text!r}: expected KIND:START-END in seconds, e.g. cover:30-45 (END empty: to the end)")
    kind, start, end = m.groups()
    if kind not in FAULT_CAUSES:
        raise ConfigError(f"--fault {text!r}: unknown kind {kind!r}, use one of {', '.join(FAULT_CAUSES)}")
    try:
        return {"kind": kind, "start_s": float(start), "end_s": float(end) if end else None}
    except ValueError:
        raise ConfigError(f"--fault {text!r}: START and END must be numbers of seconds") from None


def fault_rng(spec: SceneSpec, index: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, 60221, index, purpose])


def truth_intervals(spec: SceneSpec) -> list[dict[str, Any]]:
    """``[{"kind", "cause", "start_s", "end_s"}]`` in source seconds, frame-exact, by start."""
    out = []
    for fault in spec.faults:
        a, b = spec.fault_frames(fault)
        out.append({"kind": fault.kind, "cause": fault.cause, "start_s": float(Fraction(a) / spec.fps), "end_s": float(Fraction(b) / spec.fps)})
    return sorted(out, key=lambda d: (d["start_s"], d["end_s"], d["kind"]))


def hiding_cause(spec: SceneSpec, frame: int) -> str | None:
    """Cause of the strongest fault that hides ``frame`` entirely, if any."""
    for kind in HIDING:
        for fault in spec.faults:
            if fault.kind == kind:
                a, b = spec.fault_frames(fault)
                if a <= frame < b:
                    return fault.cause
    return None


def _cover_image(rng: np.random.Generator, H: int, W: int, night: bool) -> np.ndarray:
    """Near black: a faint light leak from one edge and a little cloth-like structure."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(ang) * (xx / W - 0.5) + np.sin(ang) * (yy / H - 0.5)) + 0.75  # 0 .. 1.5
    small = rng.standard_normal((H // 16 + 2, W // 16 + 2)).astype(np.float32)
    texture = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    level = 6.0 + 6.0 * np.clip(ramp, 0, 1.5) ** 2 + 1.5 * texture
    tint = np.array([1.0, 1.0, 1.0] if night else [0.9, 1.0, 1.15], np.float32)
    return np.clip(level[..., None] * tint, 0, 255).astype(np.uint8)


def _glare_weights(rng: np.random.Generator, H: int, W: int, area: float) -> np.ndarray:
    """Per-pixel share of the way to white (uint8, 255 = clipped): a core of ``area``."""
    cx, cy = rng.uniform(0.2, 0.8) * W, rng.uniform(0.15, 0.45) * H
    aspect = rng.uniform(1.0, 1.5)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r = np.sqrt(((xx - cx) / aspect) ** 2 + (yy - cy) ** 2)
    step = max(1, int(math.sqrt(W * H / 250_000)))
    sample = np.sort(r[step // 2 :: step, step // 2 :: step], axis=None)
    core = float(sample[min(len(sample) - 1, int(area * len(sample)))])  # in-frame core = ``area``
    halo = np.clip((GLARE_HALO * core - r) / ((GLARE_HALO - 1) * core), 0, 1) ** 2
    w = np.where(r <= core, 1.0, GLARE_VEIL + (1 - GLARE_VEIL) * halo)
    return np.repeat(np.rint(w * 255).astype(np.uint8)[..., None], 3, axis=2)


def gaussian_blur(img: np.ndarray, sigma: float) -> None:
    """In-place Gaussian blur; wide ones at 1/2 or 1/4 size (same result within ~0.4 grey
    levels RMS, 4-10x faster: a defocused picture has nothing finer to lose)."""
    k = 4 if sigma >= 8 else 2 if sigma >= 3 else 1
    H, W = img.shape[:2]
    if k == 1 or min(H, W) < 16 * k:
        cv2.GaussianBlur(img, (0, 0), sigma, dst=img, borderType=cv2.BORDER_REFLECT_101)
        return
    small = cv2.resize(img, (W // k, H // k), interpolation=cv2.INTER_AREA)
    # The area shrink and the linear enlargement blur by about 0.25 k^2 px^2 together.
    cv2.GaussianBlur(small, (0, 0), math.sqrt(sigma**2 - 0.25 * k * k) / k, dst=small, borderType=cv2.BORDER_REFLECT_101)
    cv2.resize(small, (W, H), dst=img, interpolation=cv2.INTER_LINEAR)


def keyframes(spec: SceneSpec) -> list[int]:
    """Frames that must start a closed GOP: each corrupt fault's first and end frame
    (the writer forces the first frame it writes at or after each)."""
    spans = [spec.fault_frames(f) for f in spec.faults if f.kind == "corrupt"]
    return sorted({k for a, b in spans for k in (a, b) if k < spec.frames})


def missing_tail(spec: SceneSpec) -> int:
    """Frames at the end of the clip that ``drop`` faults leave unwritten."""
    n, tail = spec.frames, 0
    for a, b in sorted((spec.fault_frames(f) for f in spec.faults if f.kind == "drop"), key=lambda s: -s[1]):
        if b == n - tail:
            tail = n - a
    return tail


class FrameFaults:
    """The pixel work of a spec's faults, prepared once; cheap checks per frame."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec
        H, W = spec.height, spec.width
        fps = float(spec.fps)
        self.span: list[tuple[FaultSpec, int, int]] = [(f, *spec.fault_frames(f)) for f in spec.faults]
        self.knocks: list[tuple[int, int, np.ndarray]] = []
        self.blurs: list[tuple[int, int, float]] = []
        self.covers: list[tuple[int, int, int, np.ndarray, np.ndarray]] = []
        self.glares: list[tuple[int, int, np.ndarray]] = []
        self.freezes: list[tuple[int, int]] = []
        self.drops: list[tuple[int, int]] = []
        for i, (fault, a, b) in enumerate(self.span):
            rng = fault_rng(spec, i, 1)
            if fault.kind == "knock":
                heading = math.radians(fault.direction_deg if fault.direction_deg is not None else float(rng.uniform(0, 360)))
                m = np.asarray(cv2.getRotationMatrix2D((W / 2 - 0.5, H / 2 - 0.5), fault.rotate_deg, 1.0), np.float64)
                m[:, 2] += fault.shift_frac * W * np.array([math.cos(heading), math.sin(heading)])
                self.knocks.append((a, b, m))
            elif fault.kind == "defocus":
                self.blurs.append((a, b, fault.sigma_frac * W))
            elif fault.kind == "cover":
                img = _cover_image(rng, H, W, spec.effects.night)
                # Which way the cover slides on: a coordinate in 0..1 it sweeps along.
                ang = rng.uniform(0, 2 * math.pi)
                yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
                sweep = np.cos(ang) * xx / W + np.sin(ang) * yy / H
                sweep = (sweep - sweep.min()) / (np.ptp(sweep) or 1.0)
                self.covers.append((a, b, round(fault.transition_s * fps), img, sweep))
            elif fault.kind == "glare":
                self.glares.append((a, b, _glare_weights(rng, H, W, fault.area)))
            elif fault.kind == "freeze":
                self.freezes.append((a, b))
            elif fault.kind == "drop":
                self.drops.append((a, b))
            # corrupt leaves the pixels alone: see keyframes() and corrupt_packets().
        self._tmp = np.empty((H, W, 3), np.uint8) if (self.knocks or self.glares or self.covers) else None
        self._frozen: dict[int, np.ndarray] = {}

    # -- frame bookkeeping ----------------------------------------------------------------
    def dropped(self, f: int) -> bool:
        return any(a <= f < b for a, b in self.drops)

    def _freeze_of(self, f: int) -> int | None:
        for a, b in self.freezes:
            if a < f < b:
                return a
        return None

    def needs_render(self, f: int) -> bool:
        """False for frames that are never shown: dropped or replaced by a frozen one."""
        if any(a == f for a, _ in self.freezes):
            return True
        return not self.dropped(f) and self._freeze_of(f) is None

    def output(self, f: int, img: np.ndarray | None) -> np.ndarray | None:
        """The frame to write at ``f`` (None: dropped); keeps the frozen frames' source."""
        if img is not None and any(a == f for a, _ in self.freezes):
            self._frozen[f] = img.copy()
        src = self._freeze_of(f)
        if src is not None:
            img = self._frozen[src]
        if any(b - 1 == f for a, b in self.freezes):
            self._frozen.pop(next(a for a, b in self.freezes if b - 1 == f), None)
        return None if self.dropped(f) else img

    # -- pixel steps (in place) -----------------------------------------------------------
    def knock(self, f: int, img: np.ndarray) -> None:
        for a, b, m in self.knocks:
            if a <= f < b and self._tmp is not None:
                cv2.warpAffine(img, m, (self.spec.width, self.spec.height), dst=self._tmp, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
                np.copyto(img, self._tmp)

    def defocus(self, f: int, img: np.ndarray) -> None:
        for a, b, sigma in self.blurs:
            if a <= f < b:
                gaussian_blur(img, sigma)

    def cover(self, f: int, img: np.ndarray) -> None:
        for a, b, steps, dark, sweep in self.covers:
            if a <= f < b:
                np.copyto(img, dark)
            elif a - steps <= f < a or b <= f < b + steps:
                # Sliding on (before a) or off (from b): the covered share grows/shrinks.
                k = f - (a - steps) + 1 if f < a else steps - (f - b)
                p = k / (steps + 1)
                edge = 0.04
                alpha = np.clip((p * (1 + 2 * edge) - edge - sweep) / edge + 0.5, 0, 1)[..., None]
                np.copyto(img, np.rint(dark * alpha + img * (1 - alpha)).astype(np.uint8))

    def glare(self, f: int, img: np.ndarray) -> None:
        for a, b, w in self.glares:
            if a <= f < b and self._tmp is not None:
                cv2.bitwise_not(img, dst=self._tmp)  # 255 - img
                cv2.multiply(self._tmp, w, dst=self._tmp, scale=1 / 255)
                cv2.add(img, self._tmp, dst=img)


def corrupt_packets(path: Path, spec: SceneSpec) -> int:
    """Overwrite the payload of every video packet with pts in a corrupt fault's frames.

    The container (boxes, sample tables, block headers) is untouched, so demuxing still
    works; only the coded pictures are replaced by seeded random bytes. Each payload is
    located by its own bytes at or just after the packet's ``pos`` (MP4: at it; Matroska:
    after the block header). Returns the number of packets changed.
    """
    import av

    spans = [(i, *spec.fault_frames(f)) for i, f in enumerate(spec.faults) if f.kind == "corrupt"]
    if not spans:
        return 0
    todo: list[tuple[int, int, int]] = []  # (fault index, offset, size)
    with av.open(str(path)) as c, open(path, "rb") as fh:
        st = c.streams.video[0]
        tb = st.time_base
        assert tb is not None
        for pkt in c.demux(st):
            if pkt.size == 0 or pkt.pts is None:
                continue
            frame = round(Fraction(pkt.pts * tb.numerator, tb.denominator) * spec.fps)
            hit = next((i for i, a, b in spans if a <= frame < b), None)
            if hit is None:
                continue
            payload = bytes(pkt)
            fh.seek(max(0, pkt.pos or 0))
            off = fh.read(len(payload) + 64).find(payload) if pkt.pos is not None and pkt.pos >= 0 else -1
            if off < 0:
                raise OutputError(f"cannot locate the coded picture at {float(frame / spec.fps):g} s in {path.name} to corrupt it")
            todo.append((hit, int(pkt.pos or 0) + off, len(payload)))
    rngs = {i: fault_rng(spec, i, 2) for i, _, _ in spans}
    with open(path, "r+b") as fh:
        for i, pos, size in todo:
            fh.seek(pos)
            fh.write(rngs[i].bytes(size))
    return len(todo)
