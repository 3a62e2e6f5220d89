"""Camera health: debounced runs, and the monitor on in-memory frames with known faults.

The video-level checks (synthetic faults encoded as H.264, scanned end to end) are in
tests/test_coverage_scan.py; these drive :class:`HealthMonitor` directly with numpy
frames, so every fault's interval is exact and the tests are fast.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from borderwatch.config import HealthConfig
from borderwatch.health import HealthMonitor
from borderwatch.health.runs import RunTracker

W, H, FPS = 320, 180, 10.0


# --- runs ---------------------------------------------------------------------------------


def test_run_edges_fall_half_way_between_samples():
    r = RunTracker("blackout", min_samples=2, max_step_s=0.5)
    verdicts = [(0.0, False), (0.5, False), (1.0, True), (1.5, True), (2.0, True), (2.5, False)]
    done = [r.update(t, v) for t, v in verdicts]
    assert done[:-1] == [None] * 5
    assert done[-1] == (0.75, 2.25)


def test_short_runs_do_not_count_and_confirmation_needs_min_samples():
    r = RunTracker("glare", min_samples=3, max_step_s=0.5)
    assert r.update(0.0, False) is None
    assert r.update(0.5, True) is None
    assert r.confirmed() is None
    assert r.update(1.0, True) is None
    assert r.update(1.5, False) is None  # two samples: too short
    for t in (2.0, 2.5, 3.0):
        r.update(t, True)
    assert r.confirmed() == (1.75, 3.0)
    assert r.finish(10.0) == (1.75, 3.5)


def test_run_start_can_be_dated_back_to_the_evidence():
    r = RunTracker("frozen", min_samples=1, max_step_s=0.5)
    r.update(0.0, False)
    r.update(0.5, False)
    r.update(1.0, True, start_t=0.5)  # frozen since the previous sample
    assert r.update(1.5, False) == (0.25, 1.25)


def test_a_gap_ends_a_run_at_its_last_sample():
    r = RunTracker("defocus", min_samples=2, max_step_s=0.5)
    for t in (0.0, 0.5, 1.0):
        r.update(t, True)
    assert r.break_run() == (0.0, 1.25)
    assert r.confirmed() is None


# --- the monitor on synthetic frames --------------------------------------------------------


def _scene(seed: int = 0) -> np.ndarray:
    """Ground-like texture: coarse patches plus fine grain (what defocus takes away)."""
    rng = np.random.default_rng(seed)
    shape = (H + 80, W + 80)
    coarse = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 6.0)
    fine = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 0.8)
    tex = coarse / coarse.std() + 0.8 * fine / fine.std()
    tex = (tex - tex.min()) / (tex.max() - tex.min())
    return (50 + 150 * tex).astype(np.float32)


def _frames(duration: float, faults: dict[str, tuple[float, float]], seed: int = 0):
    """Yield (t, luma) for a static textured scene with sensor noise and given faults."""
    rng = np.random.default_rng(seed + 1)
    big = _scene(seed)
    frozen = None
    n = int(duration * FPS)
    for i in range(n):
        t = i / FPS

        def on(kind: str) -> bool:
            span = faults.get(kind)
            return span is not None and span[0] <= t < span[1]

        dx = 40 if on("moved") else 0
        img = big[40 : 40 + H, 40 + dx : 40 + dx + W].copy()
        img += 3.0 * np.sin(t / 7.0)  # slow light drift
        if on("defocus"):
            img = cv2.GaussianBlur(img, (0, 0), 3.0)
        if on("glare"):
            img[:, : int(0.5 * W)] = 255.0
        if on("blackout"):
            img = 12.0 + 0.05 * img
        if on("signal_loss"):
            img = np.full_like(img, 16.0)
        else:
            img = img + rng.normal(0, 2.0, img.shape).astype(np.float32)
        luma = np.clip(img, 0, 255).astype(np.uint8)
        if on("frozen"):
            frozen = luma if frozen is None else frozen
            luma = frozen
        else:
            frozen = None
        yield t, luma


def _run(duration: float, faults: dict[str, tuple[float, float]], cfg: HealthConfig | None = None, gaps=()):
    buckets: list[dict] = []
    mon = HealthMonitor(cfg or HealthConfig(), W, H, 1 / FPS, False, buckets.append)
    gap_list = list(gaps)
    for t, luma in _frames(duration, faults):
        if any(g0 < t < g1 for g0, g1 in gap_list):
            continue
        for g0, g1 in list(gap_list):
            if t >= g1:
                mon.lost(g0, g1)
                gap_list.remove((g0, g1))
        mon.frame(t)
        if mon.wants_sample(t):
            mon.sample(t, luma, luma)
    return mon.finish(duration), buckets


def _intervals(cov: dict, cause: str) -> list[tuple[float, float]]:
    return [(iv["start_s"], iv["end_s"]) for iv in cov["impaired_intervals"] if iv["cause"] == cause]


def test_clean_scene_is_observable_throughout():
    cov, buckets = _run(60.0, {})
    assert cov["impaired_s"] == 0.0 and cov["observable_s"] == pytest.approx(60.0)
    assert len(buckets) == 6 and all(b["state"] == "observable" for b in buckets)
    assert all(b["frames_expected"] == 100 and b["frames_decoded"] == 100 for b in buckets)


@pytest.mark.parametrize("cause", ["blackout", "signal_loss", "glare", "frozen", "defocus", "moved"])
def test_each_fault_is_found_with_its_interval(cause):
    cov, buckets = _run(60.0, {cause: (25.0, 40.0)})
    found = _intervals(cov, cause)
    assert len(found) == 1, cov["impaired_intervals"]
    start, end = found[0]
    assert abs(start - 25.0) <= 0.6 and abs(end - 40.0) <= 0.6, found
    others = {c for c in cov["impaired_by_cause_s"] if c != cause}
    assert not others, cov["impaired_intervals"]
    states = [(b["start_s"], b["state"]) for b in buckets]
    assert states == [(0.0, "observable"), (10.0, "observable"), (20.0, "impaired"), (30.0, "impaired"), (40.0, "impaired" if end > 40.0 else "observable"), (50.0, "observable")]


def test_lost_frames_are_lost_time_and_buckets_count_them():
    cov, buckets = _run(40.0, {}, gaps=[(12.0, 17.0)])
    lost = _intervals(cov, "lost")
    assert lost == [(pytest.approx(12.0), pytest.approx(17.0))]
    b = buckets[1]
    assert b["frames_expected"] == 100 and b["frames_decoded"] == 100 - 49
    assert b["impaired_s"]["lost"] == pytest.approx(5.0)


def test_short_blip_is_not_a_fault():
    cov, _ = _run(30.0, {"blackout": (12.0, 12.4)})
    assert cov["impaired_s"] == 0.0


def test_light_change_is_impaired_while_the_model_relearns():
    buckets: list[dict] = []
    mon = HealthMonitor(HealthConfig(), W, H, 1 / FPS, False, buckets.append, relearn_s=0.5)
    for t, luma in _frames(20.0, {}):
        mon.frame(t)
        if mon.wants_sample(t):
            mon.sample(t, luma, luma)
        mon.light(t, 8.0 <= t < 8.35)
    cov = mon.finish(20.0)
    assert _intervals(cov, "light_change") == [(8.0, pytest.approx(8.8))]


def test_buckets_are_written_while_scanning_not_only_at_the_end():
    written_at: list[float] = []
    mon = HealthMonitor(HealthConfig(), W, H, 1 / FPS, False, lambda rec: written_at.append(now))
    now = 0.0
    for t, luma in _frames(40.0, {}):
        now = t
        mon.frame(t)
        if mon.wants_sample(t):
            mon.sample(t, luma, luma)
    assert len(written_at) == 3  # the last bucket waits for finish()
    assert written_at[0] < 10.0 + mon.lag_s + 0.5
    assert mon.lag_s <= 8.0
    mon.finish(40.0)
    assert len(written_at) == 4


def test_coverage_summary_adds_up():
    cov, buckets = _run(60.0, {"frozen": (5.0, 20.0), "glare": (15.0, 30.0)})
    assert cov["impaired_s"] == pytest.approx(25.0, abs=1.0)
    assert cov["observable_s"] + cov["impaired_s"] == pytest.approx(60.0)
    assert sum(b["observable_s"] for b in buckets) == pytest.approx(cov["observable_s"], abs=1e-6)
