"""Tests of `borderwatch synth`: determinism, exact time, truth checked against pixels."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from borderwatch.cli import main
from borderwatch.errors import ConfigError
from borderwatch.geometry import Polyline
from borderwatch.synth import PRESETS, ActorSpec, Renderer, SceneSpec, find_crossings, generate, make_spec, preset
from borderwatch.synth.spec import Kind
from borderwatch.synth.truth import Truth

SMALL: dict[str, Any] = {"width": 320, "height": 180}
FLAT = {"name": "border", "points": [[0.0, 0.5], [1.0, 0.5]], "sides": ["A", "B"]}


def _frames(spec: SceneSpec) -> list[np.ndarray]:
    return [f.copy() for f in Renderer(spec).frames()]


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.int16)


def _decode(path: Path) -> tuple[list[Fraction], list[np.ndarray]]:
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        times: list[Fraction] = []
        lumas: list[np.ndarray] = []
        for fr in c.decode(st):
            assert fr.pts is not None and fr.time_base is not None
            times.append(fr.pts * fr.time_base)
            lumas.append(fr.to_ndarray(format="gray").astype(np.int16))
    return times, lumas


def _blob_bottom_centre(mask: np.ndarray) -> tuple[float, float]:
    """Bottom centre in pixel-centre coordinates (pixel (r, c) is the point x=c, y=r)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    assert n > 1, "no actor pixels found"
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = stats[k, :4]
    return x + (w - 1) / 2.0, float(y + h - 1)


# -- determinism ---------------------------------------------------------------------


def test_same_seed_same_truth_and_frames(tmp_path: Path) -> None:
    spec = preset("mixed", 5, duration_s=3, **SMALL)
    t1 = generate(spec, tmp_path / "a.mp4")
    t2 = generate(preset("mixed", 5, duration_s=3, **SMALL), tmp_path / "b.mp4")
    j1 = json.loads((tmp_path / "a.truth.json").read_text())
    j2 = json.loads((tmp_path / "b.truth.json").read_text())
    assert j1.pop("video") == "a.mp4" and j2.pop("video") == "b.mp4"
    assert j1 == j2 and t1.crossings == t2.crossings
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    h = [hashlib.sha256(np.stack(_frames(s)).tobytes()).hexdigest() for s in (spec, preset("mixed", 5, duration_s=3, **SMALL))]
    assert h[0] == h[1]
    other = hashlib.sha256(np.stack(_frames(preset("mixed", 6, duration_s=3, **SMALL))).tobytes()).hexdigest()
    assert other != h[0]


# -- exact time ----------------------------------------------------------------------


@pytest.mark.parametrize("fps", ["30000/1001", "1", "1/5"])
def test_decoded_timestamps_are_exact(tmp_path: Path, fps: str) -> None:
    spec = preset("walk", 1, fps=fps, duration_s=12 if Fraction(fps) <= 1 else 2, **SMALL)
    truth = generate(spec, tmp_path / "t.mp4")
    times, _ = _decode(tmp_path / "t.mp4")
    rate = Fraction(fps)
    assert len(times) == truth.frames == spec.frames
    assert times == [i / rate for i in range(len(times))]
    assert Fraction(truth.fps) == rate and Fraction(truth.time_base) == 1 / rate
    for c in truth.crossings:
        assert c.time_s == float(c.frame / rate)


# -- truth against pixels ------------------------------------------------------------


def test_walk_truth_matches_decoded_pixels(tmp_path: Path) -> None:
    """Find the walker in the decoded video and check its side around the truth frame."""
    actor = ActorSpec(kind="walk", at=0.4, speed=4.0, from_side="A", color=(25, 25, 25))
    spec = make_spec(seed=3, duration_s=4, line=FLAT, actors=[actor], effects={"vegetation": 0}, **SMALL)
    truth = generate(spec, tmp_path / "w.mp4", crf=12)
    (c,) = truth.crossings
    assert (c.from_side, c.to_side, c.label, c.occluded) == ("A", "B", "person", False)
    times, lumas = _decode(tmp_path / "w.mp4")
    assert times[c.frame] == Fraction(c.frame) / 25 and c.time_s == c.frame / 25
    background = np.median(np.stack(lumas), axis=0)
    line = Polyline(np.array(truth.lines[0].points_px))
    d = {}
    for f in range(c.frame - 3, c.frame + 3):
        x, y = _blob_bottom_centre(np.abs(lumas[f] - background) > 20)
        d[f] = float(line.signed_distance(np.array([x, y])))
    # 4 px per frame: the frame before is not past the line, the truth frame is (<= 4 px).
    assert all(d[f] < 0 for f in range(c.frame - 3, c.frame - 1)), d
    assert -4.5 < d[c.frame - 1] <= 0.5 and 0 < d[c.frame] < 4.5, d
    assert all(d[f] > 0 for f in range(c.frame + 1, c.frame + 3)), d


@pytest.mark.parametrize("kind", ["walk", "run", "crawl", "vehicle", "animal"])
def test_shape_bottom_centre_is_ground_point_and_contrasts(kind: Kind) -> None:
    """Render with and without the actor: the difference is exactly its drawn pixels."""
    actor = ActorSpec(kind=kind, at=0.5, speed=3.0, angle_deg=25)
    # No vegetation: the contrast promised is against the ground (dark trees may hide actors).
    base = make_spec(seed=2, duration_s=3, line=FLAT, effects={"vegetation": 0}, **SMALL)
    with_actor, without = _frames(make_spec(base, actors=[actor])), _frames(base)
    plan = Renderer(make_spec(base, actors=[actor])).plans[0]
    checked = 0
    for f in range(plan.first_visible or 0, len(with_actor), 7):
        mask = (with_actor[f] != without[f]).any(axis=2)
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        k = f - plan.start_frame
        gx, gy = plan.pos[k]
        if xs.min() == 0 or xs.max() == 319 or ys.max() == 179 or ys.min() == 0:
            continue  # partly out of view: the visible box is not the drawn box
        assert abs((xs.min() + xs.max()) / 2 - gx) <= 0.75 and abs(ys.max() - gy) <= 0.75, (f, gx, gy)
        contrast = np.abs(_luma(with_actor[f]) - _luma(without[f]))[mask]
        assert np.mean(contrast >= 25) > 0.97, f"{kind}: only {np.mean(contrast >= 25):.2f} of pixels differ by >= 25"
        assert 0.1 < (ys.max() - ys.min() + 1) / 180 < 0.2 or kind in ("crawl", "animal")
        checked += 1
    assert checked >= 3


def test_fast_speed_is_honoured() -> None:
    spec = preset("fast", 0, **SMALL)
    assert all(a.speed == 60 for a in spec.actors)
    truth = Renderer(spec).truth("x.mp4")
    assert len(truth.crossings) == 4 and all(a.speed_px_per_frame == 60 for a in truth.actors)
    single = make_spec(spec, actors=[spec.actors[0].model_copy(update={"start_s": 0.0})])
    on, off = _frames(single), _frames(make_spec(single, actors=[]))
    cs = []
    for f in range(len(on)):
        mask = (on[f] != off[f]).any(axis=2)
        if mask.any():
            ys, xs = np.nonzero(mask)
            if ys.min() > 0 and ys.max() < 179 and xs.min() > 0 and xs.max() < 319:
                cs.append(np.array([(xs.min() + xs.max()) / 2, float(ys.max())]))
    steps = [np.linalg.norm(b - a) for a, b in zip(cs, cs[1:])]
    assert steps and all(abs(s - 60) <= 1.5 for s in steps), steps


def test_occluded_crossing_is_hidden() -> None:
    spec = preset("occlusion", 4, duration_s=28, **SMALL)
    r = Renderer(spec)
    truth = r.truth("o.mp4")
    assert len(truth.crossings) == 2 and all(c.occluded for c in truth.crossings)
    on = {i: f.copy() for i, f in enumerate(r.frames()) if i in {c.frame for c in truth.crossings}}
    off_r = Renderer(make_spec(spec, actors=[a.model_copy(update={"start_s": 1e6}) for a in spec.actors]))
    off = {i: f.copy() for i, f in enumerate(off_r.frames()) if i in on}
    for f in on:  # the crossing itself cannot be seen: the frame equals the empty scene
        assert np.array_equal(on[f], off[f])


# -- crossing structure of every preset ----------------------------------------------


def _dirs(truth: Truth) -> list[str]:
    return [f"{c.from_side}>{c.to_side}" for c in truth.crossings]


EXPECTED = {
    "quiet": (1, {"wander"}),
    "walk": (2, set()),
    "run": (2, set()),
    "crawl": (1, set()),
    "vehicle": (2, set()),
    "animal": (2, {"wander"}),
    "group": (4, set()),
    "loiter": (0, {"loiter"}),
    "back_and_forth": (4, set()),
    "along_line": (0, {"along_line"}),
    "occlusion": (2, set()),
    "fast": (4, set()),
    "trailcam": (4, set()),
    "mixed": (10, {"loiter", "wander"}),
    "day": (3, set()),
    "quiet_day": (5, set()),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("seed", [0, 11])
def test_preset_crossing_structure(name: str, seed: int) -> None:
    spec = PRESETS[name](seed)
    truth = Renderer(spec).truth("p.mp4")
    n, distractor_kinds = EXPECTED.get(name, (2, set()))
    assert len(truth.crossings) == n, _dirs(truth)
    assert {d.kind for d in truth.distractors} == distractor_kinds
    rate = Fraction(truth.fps)
    assert [c.frame for c in truth.crossings] == sorted(c.frame for c in truth.crossings)
    assert all(0 <= c.frame < truth.frames and c.time_s == float(c.frame / rate) for c in truth.crossings)
    labels = {c.label for c in truth.crossings}
    if name in ("walk", "run", "crawl", "group", "back_and_forth", "occlusion"):
        assert labels == {"person"}
    if name in ("vehicle", "fast"):
        assert labels == {"vehicle"}
    if name == "animal":
        assert labels == {"animal"}
    if name in ("walk", "run", "vehicle", "animal", "occlusion", "fast"):
        assert set(_dirs(truth)) == {"A>B", "B>A"}  # both directions present
    if name == "back_and_forth":
        dirs = _dirs(truth)
        assert len({c.actor_id for c in truth.crossings}) == 1
        assert all(a != b for a, b in zip(dirs, dirs[1:])), dirs
    if name == "group":
        assert len({c.actor_id for c in truth.crossings}) == 4 and len(set(_dirs(truth))) == 1
        _check_group_spacing(spec)
    if name == "trailcam":
        assert truth.fps == "1/1" and truth.time_base == "1/1"
    if name in ("occlusion",):
        assert all(c.occluded for c in truth.crossings)


def _check_group_spacing(spec: SceneSpec) -> None:
    """Each member is >= 1.5 body heights behind the previous one along the heading."""
    plans = Renderer(spec).plans
    for a, b in zip(plans, plans[1:]):
        heading = a.pos[-1] - a.pos[0]
        heading /= np.linalg.norm(heading)
        for f in range(b.start_frame, min(a.end_frame, b.end_frame), 5):  # last step is partial
            gap = float((a.pos[f - a.start_frame] - b.pos[f - b.start_frame]) @ heading)
            assert gap >= 1.5 * a.height - 1e-6, (f, gap)


def test_along_line_walker_stays_within_its_strip() -> None:
    spec = preset("along_line", 2, **SMALL)
    r = Renderer(spec)
    plan = r.plans[0]
    d = r.line.signed_distance(plan.pos)
    inside = (plan.pos[:, 0] >= 1) & (plan.pos[:, 0] <= 319)  # beyond the ends it may drift away
    assert np.abs(d[inside]).max() <= 0.006 * spec.diagonal + 1e-6
    assert (d[inside] > 0).any() and (d[inside] < 0).any()  # it really wobbles over the line


# -- the rule itself, on hand-made trajectories --------------------------------------

H_LINE = Polyline(np.array([[0.0, 100.0], [200.0, 100.0]]))


@pytest.mark.parametrize(
    "ys, xs, expected",
    [
        ([80, 90, 99, 101, 110, 120], None, [(3, 1)]),  # clean walk down: A -> B at index 3
        ([120, 110, 101, 100, 99, 80], None, [(4, -1)]),  # exactly on the line is not past it
        ([80, 95, 103, 97, 104, 120], None, [(4, 1)]),  # last run on the far side starts at 4
        ([80, 99, 103, 98, 104, 99, 80], None, []),  # wobble inside the margin then back
        ([80, 130, 80, 130], None, [(1, 1), (2, -1), (3, 1)]),  # 50 px steps over the line
        ([80, 100, 100, 100, 80], None, []),  # loiter on the line, turn back
        ([80, 80, 120, 120], [250, 260, 260, 250], []),  # passes beside the line's end
    ],
)
def test_crossing_rule_table(ys: list[float], xs: list[float] | None, expected: list[tuple[int, int]]) -> None:
    pos = np.array([[x, y] for x, y in zip(xs or [50.0] * len(ys), ys)], dtype=float)
    got = [(k, s) for k, s, _ in find_crossings(H_LINE, pos, margin=5.0)]
    assert got == expected


# -- optional effects ----------------------------------------------------------------


def test_effects_change_the_picture() -> None:
    spec = preset("light_switch", 1, duration_s=8, **SMALL)  # switch at 7 s = frame 175
    plain = _frames(make_spec(spec, effects={}))
    lit = _frames(spec)
    assert abs(_luma(lit[170]).mean() / _luma(plain[170]).mean() - 1) < 0.01
    assert _luma(lit[176]).mean() / _luma(plain[176]).mean() > 1.25
    night = _frames(make_spec(spec, effects={"night": True}))[100]
    assert _luma(night).mean() < 70 and np.abs(night.astype(int) - night[..., :1]).max() <= 1  # dark, grey
    for fx in ({"weather": "rain"}, {"weather": "snow"}, {"shake_px": 2.0}):
        frames = _frames(make_spec(spec, duration_s=1, effects=fx))
        assert np.mean(frames[10] != plain[10]) > 0.01, fx
        assert not np.array_equal(frames[10] - frames[11], plain[10] - plain[11]), fx  # it moves


# -- image sequences -----------------------------------------------------------------


def test_trailcam_images_carry_exif_time(tmp_path: Path) -> None:
    spec = preset("trailcam", 1, duration_s=20, **SMALL)
    truth = generate(spec, tmp_path / "cam", fmt="images")
    files = sorted((tmp_path / "cam").glob("*.jpg"))
    assert len(files) == truth.frames == 20 and truth.format == "images"
    assert (tmp_path / "cam.truth.json").exists()
    start = datetime(2026, 1, 1, 12, 0, 0)
    for i, f in enumerate(files):
        when = start + timedelta(seconds=i)
        assert f.name == when.strftime("IMG_%Y%m%d_%H%M%S.jpg")
        exif = Image.open(f).getexif().get_ifd(0x8769)
        assert exif[0x9003] == when.strftime("%Y:%m:%d %H:%M:%S")


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: preset("nope"),
        lambda: preset("walk", 0, line={"points": [[0, 0.5], [1.3, 0.5]]}),
        lambda: preset("walk", 0, fps="0"),
        lambda: preset("walk", 0, fps="abc"),
        lambda: preset("walk", 0, colour=1),
        lambda: preset("walk", 0, width=10, height=10),
        lambda: make_spec(actors=[{"kind": "walk", "from_side": "X"}]),
        lambda: make_spec(actors=[{"kind": "group", "behavior": "loiter"}]),
        lambda: make_spec(actors=[{"kind": "dragon"}]),
        lambda: make_spec(line={"points": [[0, 0.5]]}),
    ],
)
def test_bad_options_raise_config_error(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        make()


def test_render_errors_reach_the_caller() -> None:
    from borderwatch.synth.writer import _ahead

    def broken():  # type: ignore[no-untyped-def]
        yield np.zeros(1)
        raise ValueError("boom")

    it = _ahead(broken())
    assert next(it).shape == (1,)
    with pytest.raises(ValueError, match="boom"):
        next(it)


def test_bad_output_options(tmp_path: Path) -> None:
    spec = preset("walk", 0, duration_s=1, **SMALL)
    with pytest.raises(ConfigError):
        generate(make_spec(spec, width=321), tmp_path / "odd.mp4")
    with pytest.raises(ConfigError):
        generate(spec, tmp_path / "x.avi")
    with pytest.raises(ConfigError):
        generate(spec, tmp_path / "x.mp4", crf=99)


def test_cli_writes_video_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "clip.mp4"
    rc = main(["synth", str(out), "--preset", "run", "--width", "320", "--height", "180", "--line", "0,0.4 1,0.6", "--sides", "US,CA", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    truth = json.loads((tmp_path / "clip.truth.json").read_text())
    assert summary["crossings"] == len(truth["crossings"]) == 2
    assert truth["lines"][0]["points"] == [[0.0, 0.4], [1.0, 0.6]] and truth["lines"][0]["sides"] == ["US", "CA"]
    assert {c["from_side"] for c in truth["crossings"]} == {"US", "CA"}
    for key in ("version", "generator", "seed", "spec", "video", "width", "height", "fps", "time_base", "frames", "duration_s",
                "margin_px", "crossing_rule", "lines", "crossings", "distractors", "actors"):
        assert key in truth
    assert truth["margin_px"] == pytest.approx(0.01 * (320**2 + 180**2) ** 0.5)


@pytest.mark.parametrize(
    "args",
    [
        ["--preset", "nope"],
        ["--width", "641", "--height", "360"],
        ["--line", "0,0.5 2,0.5"],
        ["--fps", "-3"],
        ["--sides", "US"],
        ["--speed", "0"],
    ],
)
def test_cli_bad_options_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    rc = main(["synth", str(tmp_path / "c.mp4"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("borderwatch: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.mp4").exists()
