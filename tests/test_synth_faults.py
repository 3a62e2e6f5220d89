"""Synthetic camera faults: what each does to the frames, and the truth intervals."""

from __future__ import annotations

import json
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from borderwatch.cli import main
from borderwatch.errors import ConfigError
from borderwatch.io import open_source
from borderwatch.io.video import scan_threads
from borderwatch.synth import PRESETS, Renderer, SceneSpec, generate, make_spec, preset
from borderwatch.synth.faults import parse_fault
from borderwatch.synth.spec import FAULT_CAUSES

SMALL: dict[str, Any] = {"width": 320, "height": 180}
FPS = 25


def _spec(*faults: dict[str, Any], duration: float = 4.0, **kw: Any) -> SceneSpec:
    return make_spec(preset("walk", 3, duration_s=duration, **SMALL, **kw), faults=list(faults))


def _frames(spec: SceneSpec) -> dict[int, np.ndarray]:
    return {i: img.copy() for i, img in Renderer(spec).timed_frames()}


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64)


def _sharpness(img: np.ndarray) -> float:
    return float(cv2.Laplacian(_luma(img), cv2.CV_64F).var())


# -- each fault changes the picture as documented ------------------------------------


def test_cover_is_dark_with_noise_and_slides_on() -> None:
    fault = {"kind": "cover", "start_s": 1.0, "end_s": 3.0}
    on, off = _frames(_spec(fault)), _frames(_spec())
    for f in (25, 50, 74):
        y = _luma(on[f])
        assert y.mean() < 25 and np.mean(y < 40) > 0.99, f
    # Sensor noise is still there: consecutive covered frames differ pixel by pixel.
    assert np.abs(_luma(on[40]) - _luma(on[41])).mean() > 0.5
    # Some structure, not a flat colour.
    assert 1.0 < _luma(on[40]).std() < 12
    # 0.2 s (5 frames) sliding on before start_s and off after end_s, outside the truth.
    assert np.array_equal(on[19], off[19])
    for f in (20, 24, 75, 79):
        dark = np.mean(_luma(on[f]) < 40)
        assert 0.01 < dark < 0.99, (f, dark)
    assert np.array_equal(on[80], off[80])


def test_defocus_blurs_the_scene_but_not_the_noise() -> None:
    fault = {"kind": "defocus", "start_s": 1.0}
    quiet = {"effects": {"noise": 0.0}}
    sharp, blurred = _frames(_spec(**quiet))[50], _frames(_spec(fault, **quiet))[50]
    assert _sharpness(blurred) < 0.1 * _sharpness(sharp)
    # Noise is added after the blur: the noisy and noiseless defocused frames differ by
    # the full sensor noise (sigma 2), pixel by pixel.
    noisy = _frames(_spec(fault))[50]
    residual = noisy.astype(np.float64) - blurred
    assert 1.6 < residual.std() < 2.4
    assert _sharpness(noisy) > 0.5 * _sharpness(residual.astype(np.float32) + 128)
    assert np.array_equal(_frames(_spec(fault, **quiet))[24], _frames(_spec(**quiet))[24])


def test_glare_clips_the_requested_share() -> None:
    frames = _frames(_spec({"kind": "glare", "start_s": 1.0, "end_s": 2.0}))
    clipped = [float((frames[f] == 255).all(axis=2).mean()) for f in range(100)]
    assert all(c < 0.01 for c in clipped[:25] + clipped[50:])
    assert all(0.4 <= c < 0.55 for c in clipped[25:50]), clipped[25:50]
    big = _frames(_spec({"kind": "glare", "start_s": 0.0, "area": 0.7}, duration=0.2))
    assert 0.7 <= (big[2] == 255).all(axis=2).mean() < 0.85


@pytest.mark.parametrize("direction", [0.0, 90.0, None])
def test_knock_shifts_the_view(direction: float | None) -> None:
    fault: dict[str, Any] = {"kind": "knock", "start_s": 1.0}
    if direction is not None:
        fault["direction_deg"] = direction
    spec = _spec(fault, effects={"noise": 0.0})
    moved, still = _frames(spec), _frames(_spec(effects={"noise": 0.0}))
    assert np.array_equal(moved[24], still[24])
    a, b = _luma(still[60]).astype(np.float32), _luma(moved[60]).astype(np.float32)
    win = cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, win)
    expect = 0.06 * 320
    assert abs(np.hypot(dx, dy) - expect) < 1.5, (dx, dy)
    if direction == 0.0:
        assert abs(dx - expect) < 1.5 and abs(dy) < 1.5
    if direction == 90.0:
        assert abs(dy - expect) < 1.5 and abs(dx) < 1.5
    # It stays knocked to the end of the clip (end_s None).
    (dx2, dy2), _ = cv2.phaseCorrelate(_luma(still[99]).astype(np.float32), _luma(moved[99]).astype(np.float32), win)
    assert abs(dx2 - dx) < 0.5 and abs(dy2 - dy) < 0.5


def test_freeze_repeats_the_first_frame_exactly() -> None:
    frames = _frames(_spec({"kind": "freeze", "start_s": 1.0, "end_s": 2.0}))
    plain = _frames(_spec())
    assert np.array_equal(frames[25], plain[25])
    assert all(np.array_equal(frames[f], frames[25]) for f in range(26, 50))
    assert np.array_equal(frames[50], plain[50]) and not np.array_equal(frames[50], frames[49])
    assert not np.array_equal(frames[24], frames[25])  # noise changes every frame


def _decoded_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        return [fr.pts * fr.time_base for fr in c.decode(c.streams.video[0])]


def test_drop_leaves_a_timestamp_gap(tmp_path: Path) -> None:
    spec = _spec({"kind": "drop", "start_s": 1.0, "end_s": 2.2}, duration=3.0)
    truth = generate(spec, tmp_path / "d.mp4")
    times = _decoded_times(tmp_path / "d.mp4")
    expect = [Fraction(i, FPS) for i in range(75) if not 25 <= i < 55]
    assert times == expect
    assert [(f.kind, f.cause, f.start_s, f.end_s) for f in truth.faults] == [("drop", "lost", 1.0, 2.2)]
    with open_source(tmp_path / "d.mp4") as src:
        n = sum(1 for _ in src)
        assert n == 45 and [(g.start_s, g.end_s) for g in src.gaps] == [(0.96, 2.2)]


def test_drop_to_the_end_still_declares_the_full_length(tmp_path: Path) -> None:
    generate(_spec({"kind": "drop", "start_s": 2.0}, duration=3.0), tmp_path / "d.mp4")
    assert _decoded_times(tmp_path / "d.mp4")[-1] == Fraction(49, FPS)
    with open_source(tmp_path / "d.mp4") as src:
        for _ in src:
            pass
        assert [(g.start_s, g.end_s) for g in src.gaps] == [(1.96, 3.0)]


@pytest.mark.parametrize("name", ["c.mp4", "c.mkv"])
def test_corrupt_packets_are_reported_as_gaps(tmp_path: Path, name: str) -> None:
    spec = _spec({"kind": "corrupt", "start_s": 1.2, "end_s": 2.6}, duration=4.0)
    truth = generate(spec, tmp_path / name)
    (fault,) = truth.faults
    assert (fault.cause, fault.start_s, fault.end_s) == ("lost", 1.2, 2.6)
    with av.open(str(tmp_path / name)) as c:  # the container is intact: every packet demuxes
        assert sum(1 for p in c.demux(c.streams.video[0]) if p.size) == 100
    for threads in (1, 2, scan_threads()):  # the last is what a scan uses
        with open_source(tmp_path / name, threads=threads) as src:
            times = [round(fr.time_s, 3) for fr in src]
            (gap,) = src.gaps
        # Exactly the corrupted frames are missing; the gap spans them, from the last
        # good frame to the next (frame threading may add one frame at the end).
        assert times == [round(i / FPS, 3) for i in range(100) if not 30 <= i < 65], threads
        assert fault.start_s - 1.5 / FPS <= gap.start_s <= fault.start_s, (threads, gap)
        assert fault.end_s <= gap.end_s <= fault.end_s + 1.5 / FPS, (threads, gap)


def test_corrupt_to_the_end(tmp_path: Path) -> None:
    generate(_spec({"kind": "corrupt", "start_s": 2.0}, duration=3.0), tmp_path / "c.mp4")
    with open_source(tmp_path / "c.mp4", threads=1) as src:
        times = [fr.time_s for fr in src]
        (gap,) = src.gaps
    assert len(times) == 50 and (gap.start_s, gap.end_s) == (1.96, 3.0)


# -- truth ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(FAULT_CAUSES))
def test_single_fault_presets(kind: str) -> None:
    spec = PRESETS[f"fault_{kind}"](5)
    truth = Renderer(spec).truth("x.mp4")
    (fault,) = truth.faults
    assert fault.kind == kind and fault.cause == FAULT_CAUSES[kind]
    assert 60 <= truth.duration_s <= 90 and 0.3 < fault.start_s / truth.duration_s < 0.6
    assert fault.end_s == (truth.duration_s if kind == "knock" else fault.start_s + 12.0)
    assert len(truth.crossings) == 2
    first, second = truth.crossings
    assert first.time_s < fault.start_s and fault.start_s < second.time_s < fault.end_s
    hides = kind in ("cover", "freeze", "drop", "corrupt")
    assert first.during_fault is None and second.during_fault == (FAULT_CAUSES[kind] if hides else None)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_faults_preset_has_every_kind_once_with_clean_time(seed: int) -> None:
    spec = PRESETS["faults"](seed)
    assert (spec.width, spec.height, spec.duration_s) == (640, 360, 240.0)
    truth = Renderer(spec).truth("f.mp4")
    assert sorted(f.kind for f in truth.faults) == sorted(FAULT_CAUSES)
    assert all(f.cause == FAULT_CAUSES[f.kind] for f in truth.faults)
    spans = [(f.start_s, f.end_s) for f in truth.faults]
    assert spans == sorted(spans) and spans[0][0] >= 15
    assert all(b[0] - a[1] >= 8 for a, b in pairwise(spans))
    assert all(6 <= e - s <= 15 for s, e in spans)
    hidden = [c.during_fault for c in truth.crossings]
    assert hidden == [None, "blackout"]
    assert [f.model_dump() for f in truth.faults] == json.loads(truth.to_json())["faults"]
    assert PRESETS["faults"](seed + 1).faults != spec.faults


def test_fault_times_are_frame_exact_at_ntsc_rates() -> None:
    rate = Fraction(30000, 1001)
    t0, t1 = float(100 / rate), float(250 / rate)  # the floats a truth file would print
    spec = make_spec(duration_s=12, fps="30000/1001", faults=[{"kind": "glare", "start_s": t0, "end_s": t1}], **SMALL)
    assert spec.fault_frames(spec.faults[0]) == (100, 250)
    (f,) = Renderer(spec).truth("x.mp4").faults
    assert (f.start_s, f.end_s) == (t0, t1)
    odd = make_spec(spec, faults=[{"kind": "glare", "start_s": 3.0, "end_s": 3.01}])
    assert odd.fault_frames(odd.faults[0]) == (90, 91)  # 3.0 s is between frames 89 and 90


# -- determinism ---------------------------------------------------------------------


def test_same_seed_same_bytes_and_truth(tmp_path: Path) -> None:
    faults = [{"kind": "corrupt", "start_s": 0.6, "end_s": 1.2}, {"kind": "glare", "start_s": 1.4, "end_s": 1.8}, {"kind": "knock", "start_s": 1.6}]
    a = generate(_spec(*faults, duration=2.0), tmp_path / "a.mp4")
    b = generate(_spec(*faults, duration=2.0), tmp_path / "b.mp4")
    assert a.model_dump(exclude={"video"}) == b.model_dump(exclude={"video"})
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    other = make_spec(_spec(*faults, duration=2.0), seed=4)
    generate(other, tmp_path / "c.mp4")
    assert (tmp_path / "a.mp4").read_bytes() != (tmp_path / "c.mp4").read_bytes()


# -- validation and CLI --------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        [{"kind": "smoke", "start_s": 1}],
        [{"kind": "cover", "start_s": 2, "end_s": 1}],
        [{"kind": "cover", "start_s": 5}],
        [{"kind": "cover", "start_s": 1, "end_s": 4.5}],
        [{"kind": "cover", "start_s": -1}],
        [{"kind": "cover", "start_s": 1, "sigma_frac": 0.01}],
        [{"kind": "glare", "start_s": 1, "area": 1.5}],
        [{"kind": "cover", "start_s": 1, "colour": 1}],
        [{"kind": "cover", "start_s": 1, "end_s": 2}, {"kind": "cover", "start_s": 1.5}],
        [{"kind": "drop", "start_s": 0, "end_s": 1}],
        [{"kind": "freeze", "start_s": 1.001, "end_s": 1.02}],
    ],
)
def test_bad_faults_raise_config_error(faults: list[dict[str, Any]]) -> None:
    with pytest.raises(ConfigError):
        _spec(*faults)


def test_overlapping_faults_of_different_kinds_are_fine() -> None:
    spec = _spec({"kind": "cover", "start_s": 1, "end_s": 2}, {"kind": "drop", "start_s": 1.5})
    assert [f.kind for f in Renderer(spec).truth("x.mp4").faults] == ["cover", "drop"]


def test_drop_and_corrupt_need_video(tmp_path: Path) -> None:
    for kind in ("drop", "corrupt"):
        with pytest.raises(ConfigError, match="video"):
            generate(_spec({"kind": kind, "start_s": 1}), tmp_path / "imgs", fmt="images")
    truth = generate(_spec({"kind": "freeze", "start_s": 1}, duration=1.2, fps="5"), tmp_path / "imgs", fmt="images")
    assert len(list((tmp_path / "imgs").glob("*.jpg"))) == 6 and truth.faults[0].cause == "frozen"


def test_spec_with_faults_round_trips() -> None:
    spec = _spec({"kind": "knock", "start_s": 1, "direction_deg": 30.0}, {"kind": "glare", "start_s": 2, "area": 0.5})
    assert make_spec(spec.model_dump(mode="json")) == spec
    assert make_spec(spec, seed=9).faults == spec.faults


def test_parse_fault() -> None:
    assert parse_fault("cover:30-45") == {"kind": "cover", "start_s": 30.0, "end_s": 45.0}
    assert parse_fault("knock:12.5-") == {"kind": "knock", "start_s": 12.5, "end_s": None}


def test_cli_adds_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.mp4"
    args = ["synth", str(out), "--preset", "walk", "--width", "320", "--height", "180", "--duration", "3"]
    rc = main([*args, "--fault", "cover:0.6-1", "--fault", "drop:2-", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    truth = json.loads((tmp_path / "f.truth.json").read_text())
    expect = [
        {"kind": "cover", "cause": "blackout", "start_s": 0.6, "end_s": 1.0},
        {"kind": "drop", "cause": "lost", "start_s": 2.0, "end_s": 3.0},
    ]
    assert summary["faults"] == truth["faults"] == expect
    assert len(_decoded_times(out)) == 50


@pytest.mark.parametrize(
    "fault",
    ["cover", "cover:3", "cover:a-b", "smoke:1-2", "cover:5-3", "cover:1-99", "cover:1.2.3-4", "drop:0-2", "cover:-1-2", "glare:9-"],
)
def test_cli_bad_fault_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    rc = main(["synth", str(tmp_path / "c.mp4"), "--duration", "5", "--width", "320", "--height", "180", "--fault", fault])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("borderwatch: error:") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c.mp4").exists()
