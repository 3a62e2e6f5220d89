"""Decoding ahead on a thread, and the cheap look for change on quiet frames."""

from __future__ import annotations

import json
import threading
from fractions import Fraction

import numpy as np
import pytest

from borderwatch.config import MotionConfig
from borderwatch.detect.motion import MotionDetector
from borderwatch.io.prefetch import Prefetch
from borderwatch.records import Frame


class _FakeSource:
    """Yields ``n`` frames, optionally failing at frame ``fail_at``."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at, self.gaps = n, fail_at, []
        self.produced = 0

    def __iter__(self):
        for i in range(self.n):
            if i == self.fail_at:
                raise RuntimeError("decoder exploded")
            if i == 3:
                self.gaps.append("gap")
            self.produced += 1
            yield Frame(i, i, Fraction(1, 25), i / 25, np.zeros((4, 4), np.uint8))


def test_prefetch_keeps_order_and_gap_counts():
    src = _FakeSource(10)
    with Prefetch(src, depth=2, batch=3) as pf:
        items = list(pf)
    assert [f.index for f, _ in items] == list(range(10))
    # Each frame carries the gaps known when it was decoded, not when it is consumed.
    assert [g for _, g in items] == [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]


def test_prefetch_reraises_the_decoder_error_in_the_consumer():
    with Prefetch(_FakeSource(10, fail_at=5), depth=2, batch=2) as pf:
        got = []
        with pytest.raises(RuntimeError, match="decoder exploded"):
            for f, _ in pf:
                got.append(f.index)
    assert got == [0, 1, 2, 3]  # the last partial batch before the failure is not delivered


def test_prefetch_close_stops_a_blocked_decoder():
    src = _FakeSource(10_000)
    pf = Prefetch(src, depth=1, batch=1)
    next(iter(pf))
    pf.close()
    assert not any(t.name == "borderwatch-decode" and t.is_alive() for t in threading.enumerate())
    assert src.produced < 10_000  # it stopped instead of decoding everything


def _scene(rng: np.random.Generator, h: int = 180, w: int = 320) -> np.ndarray:
    base = rng.integers(60, 160, size=(h, w)).astype(np.uint8)
    return base


def test_quick_check_sees_a_mover_and_ignores_noise():
    rng = np.random.default_rng(0)
    bg = _scene(rng)
    md = MotionDetector(MotionConfig(analysis_width=320), 320, 180)
    for i in range(40):  # learn the background (with sensor noise)
        noisy = np.clip(bg.astype(int) + rng.integers(-3, 4, bg.shape), 0, 255).astype(np.uint8)
        md.apply(md.subsample(noisy), i * 0.04)
    noisy = np.clip(bg.astype(int) + rng.integers(-3, 4, bg.shape), 0, 255).astype(np.uint8)
    assert md.changed(noisy) is False
    mover = noisy.copy()
    mover[80:120, 150:165] = 250  # a bright 15x40 px object
    assert md.changed(mover) is True


def test_an_empty_scene_is_mostly_skimmed_and_a_walker_is_followed(scene_clip, tmp_path):
    from borderwatch.config import line_from_cli, make_config
    from borderwatch.scan import run_scan

    cfg = make_config([line_from_cli("0,0.54 0.5,0.48 1,0.52")], snapshots=False)
    empty = run_scan(scene_clip("quiet", 0, actors=()), cfg, tmp_path / "empty").summary
    walk_clip = scene_clip("walk", 0)
    walk = run_scan(walk_clip, cfg, tmp_path / "walk").summary
    truth = json.loads(walk_clip.with_name(walk_clip.stem + ".truth.json").read_text())
    assert empty["crossings"] == 0
    # Quiet frames get the half-resolution look; only the warm-up and a refresh every
    # 16th frame are analysed in full.
    assert empty["frames_analysed"] < empty["frames_decoded"] / 5
    assert walk["crossings"] == len(truth["crossings"]) >= 1
    assert walk["frames_analysed"] > 2 * empty["frames_analysed"]
