"""Shared test fixtures: small synthetic video clips written with PyAV."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest


def write_clip(
    path: Path,
    *,
    frames: int = 50,
    size: tuple[int, int] = (160, 120),
    rate: Fraction | int = 25,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    gop: int = 10,
    bframes: int = 2,
    faststart: bool = False,
) -> Path:
    """Write a deterministic H.264 clip (a square moving over a gradient).

    ``pts``/``time_base`` give explicit (e.g. variable-rate) timestamps; otherwise frame
    ``i`` has pts ``i`` in ``1/rate``. x264 runs single-threaded so bytes are reproducible.
    """
    w, h = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"g": str(gop), "bf": str(bframes), "threads": "1", "preset": "veryfast"}
        tb = time_base or Fraction(1) / Fraction(rate)
        stream.codec_context.time_base = tb
        yy, xx = np.mgrid[0:h, 0:w]
        base = ((xx * 2 + yy) % 256).astype(np.uint8)
        for i in range(frames):
            img = np.stack([base, np.roll(base, i, axis=1), 255 - base], axis=-1)
            x = (i * 5) % max(1, w - 24)
            img[h // 3 : h // 3 + 20, x : x + 20] = (255, 255, 255)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            frame.time_base = tb
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture
def make_clip() -> Callable[..., Path]:
    """``make_clip(path, **options)`` writes a small H.264 clip (see :func:`write_clip`)."""
    return write_clip
