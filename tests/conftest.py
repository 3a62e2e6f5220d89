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


# --- generated scenes and real clips (shared by the CLI tests) -------------------------

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def scene_clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``scene_clip(preset, seed=0, **overrides)``: a generated MP4 (with ``.truth.json``
    beside it), 320x180 and 10 s unless overridden, made once per session."""
    from borderwatch.synth import PRESETS, generate

    root = tmp_path_factory.mktemp("scenes")
    made: dict[tuple[object, ...], Path] = {}

    def make(preset: str, seed: int = 0, **over: object) -> Path:
        opts = {"width": 320, "height": 180, "duration_s": 10.0, **over}
        key = (preset, seed, *sorted(opts.items()))
        if key not in made:
            path = root / f"{preset}-{seed}-{len(made)}.mp4"
            generate(PRESETS[preset](seed, **opts), path)
            made[key] = path
        return made[key]

    return make
