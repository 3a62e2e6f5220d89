"""The time-lapse's pure logic: the schedule (`timelapse/schedule.py`), the time map
(`timelapse/timemap.py`) and the track index (`timelapse/tracks.py`). No video."""

from __future__ import annotations

import json
import math
import random
import time
from bisect import bisect_right
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderwatch.errors import BorderwatchError, ConfigError
from borderwatch.records import Crossing
from borderwatch.timelapse.schedule import Plan, Window, plan, plan_summary
from borderwatch.timelapse.timemap import (
    Chapter,
    FrameEntry,
    SourceEntry,
    TimeMap,
    TimeMapError,
    chapter_title,
    chapters_for,
    output_time,
)
from borderwatch.timelapse.tracks import TRAIL_POINTS, ScanDirError, TrackIndex

# --- plan: properties -----------------------------------------------------------------


def _check_tiling(p: Plan, start: float, end: float) -> None:
    assert p, "a plan has at least one window"
    assert p[0].start_s == start and p[-1].end_s == end
    for k, w in enumerate(p):
        assert w.index == k
        assert w.end_s > w.start_s
        if k:
            assert p[k - 1].end_s == w.start_s  # exactly: no gap, no overlap


def _check_real_time(p: Plan, crossings: list[float], pre: float, post: float, fps: float) -> None:
    starts = [w.start_s for w in p]
    for c in crossings:
        if not p.start_s <= c <= p.end_s:
            continue
        lo, hi = max(p.start_s, c - pre), min(p.end_s, c + post)
        k0 = bisect_right(starts, lo) - 1
        k = k0
        # Every window holding an instant of [lo, hi] (the timeline's end excluded).
        while k < len(p) and p[k].start_s <= hi:
            if p[k].start_s >= p.end_s:
                break
            w = p[k]
            k += 1
            if w.end_s <= lo:
                continue  # lo is the timeline's end: in no window
            assert w.real_time, (c, w)
            assert w.end_s - w.start_s <= 1 / fps + 1e-9, (c, w)


def _in_span(p: Plan, w: Window) -> bool:
    a = [s for s, _ in p.spans]
    k = bisect_right(a, w.start_s) - 1
    return k >= 0 and w.start_s < p.spans[k][1]


def _check_unimodal(p: Plan) -> None:
    """Within each quiet stretch speeds rise, (plateau,) then fall: no dip, no bump.
    The timeline's last window may be cut short and is left out."""
    runs: list[list[float]] = [[]]
    for w in p[:-1]:
        if _in_span(p, w):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(w.speed)
    for r in runs:
        peak = int(np.argmax(r)) if r else 0
        tol = 1e-9
        assert all(r[i] <= r[i + 1] * (1 + tol) for i in range(peak)), r
        assert all(r[i] >= r[i + 1] * (1 - tol) for i in range(peak, len(r) - 1)), r


fps_st = st.sampled_from([10.0, 24.0, 25.0, 30000 / 1001, 60.0])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.floats(-50, 50),
    length=st.floats(0.05, 2500),
    rel=st.lists(st.floats(-0.05, 1.05), max_size=15),
    fps=fps_st,
    quiet=st.floats(8, 600),
    pre=st.floats(0, 8),
    post=st.floats(0, 8),
    ramp=st.floats(0, 3),
    target=st.none() | st.floats(1, 400),
)
def test_plan_properties(
    start: float,
    length: float,
    rel: list[float],
    fps: float,
    quiet: float,
    pre: float,
    post: float,
    ramp: float,
    target: float | None,
) -> None:
    end = start + length
    crossings = [start + r * length for r in rel]
    kw: dict[str, Any] = {
        "out_fps": fps, "quiet_speed": quiet, "target_s": target, "pre_s": pre, "post_s": post, "ramp_s": ramp,
    }  # fmt: skip
    p = plan(end, crossings, start_s=start, **kw)
    _check_tiling(p, start, end)
    _check_real_time(p, crossings, pre, post, fps)
    _check_unimodal(p)
    # Speeds: what each window really spans, never above the quiet speed in use, which
    # is the requested one unless a target raised it.
    assert p.quiet_speed >= quiet
    if target is None:
        assert p.quiet_speed == quiet and p.target_met is None
    for w in p:
        # (+1e-6: a quiet stretch's last frame takes up float noise up to a millionth of a
        # frame rather than leave a sliver of a window)
        assert 0 < w.speed <= p.quiet_speed + 1e-6
        assert math.isclose(w.speed, (w.end_s - w.start_s) * fps, rel_tol=1e-6)
        assert w.real_time == (w.speed <= 1 + 1e-9)
    # The target: met when it can be, with the lowest speed that meets it.
    if target is not None:
        limit = math.floor(target * fps + 1e-9)
        if p.target_met:
            assert len(p) <= limit
            if p.quiet_speed > quiet:
                slower = plan(end, crossings, start_s=start, **{**kw, "target_s": None,
                              "quiet_speed": max(quiet, p.quiet_speed / (1 + 1e-6))})  # fmt: skip
                assert len(slower) > limit
        else:
            assert p.notes and "cannot be met" in p.notes[-1]
            fastest = plan(end, crossings, start_s=start, **{**kw, "target_s": None,
                           "quiet_speed": max(quiet * 2, length * fps)})  # fmt: skip
            assert len(fastest) > limit
            assert len(p) <= len(fastest) * 1.1 + 1
    # Deterministic.
    again = plan(end, crossings, start_s=start, **kw)
    assert list(again) == list(p) and again.quiet_speed == p.quiet_speed and again.spans == p.spans


@settings(max_examples=60, deadline=None)
@given(length=st.floats(0.5, 120), rel=st.lists(st.floats(0, 1), max_size=5), ramp=st.floats(0, 2))
def test_plan_properties_at_real_time_speed(length: float, rel: list[float], ramp: float) -> None:
    """quiet_speed 1 (no speed-up): every window real time, still a tiling."""
    crossings = [r * length for r in rel]
    p = plan(length, crossings, quiet_speed=1.0, ramp_s=ramp)
    _check_tiling(p, 0.0, length)
    _check_real_time(p, crossings, 3.0, 3.0, 25.0)
    assert all(w.real_time for w in p)


# --- plan: concrete cases -------------------------------------------------------------


def test_two_hour_quiet_scene_with_five_crossings_is_under_three_minutes() -> None:
    crossings = [600.0, 1800.0, 3000.0, 4200.0, 6000.0]
    p = plan(7200.0, crossings)  # defaults: 25 fps, 60x, 3 s either side, 1.5 s ramps
    s = plan_summary(p)
    assert s["frames"] == len(p) and s["duration_out_s"] == len(p) / 25
    assert s["duration_out_s"] < 180  # 161.2 s as built
    assert s["quiet_speed"] == 60.0 and s["max_speed"] <= 60.0 * (1 + 1e-9)
    assert s["min_speed"] == 1.0
    # 5 spans of 6 s, each lengthened to whole frames (151 frames: 6.04 s).
    assert s["real_time_frames"] == 5 * 151
    assert s["real_time_s"] == pytest.approx(5 * 6.04)
    # Slowing down starts before c - 3 s: the window just before the span is a ramp.
    k = next(i for i, w in enumerate(p) if w.start_s == 597.0)
    assert 1.0 < p[k - 1].speed < 1.2 and p[k - 1].speed < p[k - 2].speed
    assert 1.0 < p[k + 151].speed < 1.2  # and speeding up after c + 3 s
    # The ramp takes ramp_s of output: 1.5 s = 38 frames (rounded) from ~1.1x to 60x.
    ramp = [w.speed for w in p[k - 40 : k]]
    assert ramp[0] == pytest.approx(ramp[1], rel=0.05) and ramp[-1] < 1.2


def test_no_crossings_plays_at_the_quiet_speed() -> None:
    p = plan(3.0, [])
    assert [(w.start_s, w.end_s) for w in p] == [(0.0, 2.4), (2.4, 3.0)]
    assert p[0].speed == 60.0 and p[1].speed == pytest.approx(15.0)
    p = plan(3600.0, [], out_fps=30, quiet_speed=120)
    assert all(w.speed == 120.0 for w in p)  # 3600 s is exactly 900 frames of 4 s
    assert len(p) == 900 and not p.notes


def test_nearby_crossings_share_one_real_time_span() -> None:
    p = plan(600.0, [100.0, 104.0, 111.5])  # spans [97,107] and [108.5, 114.5]: 1.5 s apart
    assert len(p.spans) == 2
    p = plan(600.0, [100.0, 104.0, 110.5])  # [97,107] and [107.5, 113.5]: 0.5 s apart -> merged
    assert len(p.spans) == 1 and p.spans[0][0] == 97.0 and p.spans[0][1] > 113.5
    # A span near the timeline's start or end reaches it.
    p = plan(600.0, [3.5, 596.5])
    assert p.spans[0][0] == 0.0 and p.spans[-1][1] == 600.0
    assert p[-1].real_time and p[0].real_time


def test_crossings_outside_the_timeline_are_ignored_with_a_note() -> None:
    p = plan(100.0, [-1.0, 50.0, 100.0, 130.0])
    assert p.crossings_used == [50.0, 100.0] and p.crossings_ignored == [-1.0, 130.0]
    assert "2 crossing(s) outside the timeline" in p.notes[0]
    assert plan_summary(p)["crossings_ignored"] == 2


def test_target_raises_the_quiet_speed_but_never_lowers_it() -> None:
    crossings = [600.0, 1800.0, 3000.0, 4200.0, 6000.0]
    p = plan(7200.0, crossings, target_s=60)
    assert p.target_met and len(p) / 25 <= 60 and p.quiet_speed > 60
    p = plan(7200.0, crossings, target_s=1000)  # longer than at 60x: stays at 60x
    assert p.target_met and p.quiet_speed == 60.0 and len(p) == len(plan(7200.0, crossings))
    p = plan(30.0, [], target_s=600)  # a short clip still goes at 60x
    assert p.quiet_speed == 60.0 and all(w.speed <= 60 for w in p) and p[0].speed == 60.0


def test_unreachable_target_is_flagged_not_fatal() -> None:
    crossings = [100.0 + 200 * k for k in range(30)]  # 30 x 6 s of real time = 181 s
    p = plan(7200.0, crossings, target_s=60)
    assert p.target_met is False
    assert "cannot be met" in p.notes[-1] and "real-time spans alone take" in p.notes[-1]
    _check_tiling(p, 0.0, 7200.0)
    _check_real_time(p, crossings, 3.0, 3.0, 25.0)
    assert plan_summary(p)["target_met"] is False


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"duration_s": -5.0}, "duration_s must be >= 0"),
        ({"duration_s": 0.0}, "timeline is empty"),
        ({"duration_s": math.nan}, "duration_s must be finite"),
        ({"out_fps": 0.0}, "out_fps must be > 0"),
        ({"quiet_speed": 0.5}, "quiet_speed must be >= 1"),
        ({"target_s": -1.0}, "target_s must be > 0"),
        ({"pre_s": -1.0}, "pre_s must be >= 0"),
        ({"ramp_s": -0.1}, "ramp_s must be >= 0"),
        ({"crossings_s": [1.0, math.inf]}, "crossings_s[1] must be finite"),
        ({"crossings_s": ["x"]}, "crossings_s[0] must be a number"),
    ],
)
def test_plan_rejects_bad_settings(kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {"duration_s": 100.0, "crossings_s": [10.0], **kwargs}
    with pytest.raises(ConfigError) as exc:
        plan(**args)
    assert words in str(exc.value)


def test_a_day_with_a_thousand_crossings_plans_fast() -> None:
    rng = random.Random(7)
    crossings = [rng.uniform(0, 86400) for _ in range(1000)]
    t = time.perf_counter()
    p = plan(86400.0, crossings)
    took = time.perf_counter() - t
    assert took < 1.5, took  # ~0.35 s on the 2-core dev machine
    _check_tiling(p, 0.0, 86400.0)
    _check_real_time(p, crossings, 3.0, 3.0, 25.0)


# --- time map -------------------------------------------------------------------------

CROSSINGS: list[dict[str, Any]] = [
    {"id": 1, "time_s": 600.0, "line": "border", "from_side": "A", "to_side": "B", "wallclock": None},
    {"id": 2, "time_s": 1800.0, "line": "border", "from_side": "B", "to_side": "A",
     "wallclock": "2026-01-01T12:30:03.250000+00:00"},
]  # fmt: skip


def _timemap(p: Plan) -> TimeMap:
    frames = []
    for w in p:
        first = math.ceil(w.start_s * 25)  # a 25 fps source with pts = frame number
        last = math.ceil(w.end_s * 25) - 1
        n = max(0, last - first + 1)
        shown = (first + last) // 2 if n else last
        frames.append(FrameEntry.from_window(w, first_pts=first if n else None, last_pts=last if n else None,
                                             shown_pts=shown, shown_s=shown / 25, frames_in=n))  # fmt: skip
    return TimeMap(
        out_fps=p.out_fps,
        frames=frames,
        chapters=chapters_for(CROSSINGS, p, out_fps=p.out_fps),
        sources=[SourceEntry(0, "/data/cam.mp4", "ab" * 32, "1/25")],
        scan_dir="/data/scan",
        notes=list(p.notes),
    )


def test_time_map_round_trip_and_queries(tmp_path: Path) -> None:
    p = plan(3600.0, [c["time_s"] for c in CROSSINGS])
    tm = _timemap(p)
    path = tmp_path / "out.timemap.json"
    tm.save(path)
    assert [f.name for f in tmp_path.iterdir()] == ["out.timemap.json"]  # no temporary left
    obj = json.loads(path.read_text())
    assert obj["version"] == 1 and obj["frames_out"] == len(p) and obj["out_fps"] == 25.0
    assert obj["duration_out_s"] == len(p) / 25
    assert set(obj["frames"][0]) == {"i", "source", "start_s", "end_s", "first_pts", "last_pts", "shown_pts",
                                     "shown_s", "frames_in", "speed", "real_time"}  # fmt: skip
    back = TimeMap.load(path)
    assert back == tm and back.to_json() == tm.to_json()

    for q in (tm, back):
        k = q.frames_showing(600.0)
        assert len(k) == 1 and p[k[0]].start_s <= 600.0 < p[k[0]].end_s
        assert q.speed_at(600.0) == 1.0 and q.is_real_time(600.0)
        assert q.speed_at(1200.0) == pytest.approx(60.0, rel=0.01) and not q.is_real_time(1200.0)
        assert q.frames_showing(0.0) == [0] and q.frames_showing(3599.999) == [len(p) - 1]
        assert q.frames_showing(3600.0) == [] and q.frames_showing(-1.0) == []  # half-open timeline
        assert q.speed_at(-1.0) is None and not q.is_real_time(5000.0)
        t_out = q.output_time(600.0)
        assert t_out is not None and t_out == pytest.approx(output_time(p, 600.0, 25.0))
        # Real time: one second of source is one second of output.
        t2 = q.output_time(601.0)
        assert t2 is not None and t2 - t_out == pytest.approx(1.0)


def test_chapters_cover_each_crossings_real_time_span() -> None:
    p = plan(3600.0, [c["time_s"] for c in CROSSINGS])
    ch = chapters_for(CROSSINGS, p, out_fps=25.0)
    assert [c.crossing for c in ch] == [1, 2]
    assert ch[0].title == "#1 border A->B t=0:10:00.0"
    assert ch[1].title == "#2 border B->A 12:30:03"  # wall-clock when the scan knew it
    for c, src in zip(ch, CROSSINGS, strict=True):
        t = output_time(p, src["time_s"], 25.0)
        assert t is not None and c.start_out_s <= t <= c.end_out_s
        assert c.end_out_s - c.start_out_s == pytest.approx(6.04)  # 151 real-time frames
        k0, k1 = round(c.start_out_s * 25), round(c.end_out_s * 25)
        assert all(w.real_time for w in p[k0:k1])
    custom = chapters_for(CROSSINGS, p, lambda c: f"crossing {c['id']}", out_fps=25.0)
    assert [c.title for c in custom] == ["crossing 1", "crossing 2"]
    # A crossing outside the windows has no chapter; records may be Crossing objects too.
    assert chapters_for([{"id": 9, "time_s": 4000.0}], p, out_fps=25.0) == []
    assert chapter_title({"id": 3, "time_s": 3723.46, "line": "ridge", "from_side": "N", "to_side": "S"}) == (
        "#3 ridge N->S t=1:02:03.5"
    )
    assert chapter_title({"id": 4, "time_s": 59.96, "line": "l", "from_side": "A", "to_side": "B"}).endswith(
        "t=0:01:00.0"
    )
    obj = Crossing(id=7, time_s=1800.0, frame=45000, line="border", from_side="A", to_side="B", track_id=3,
                   label="person", score=0.9, inferred=False, wallclock="2026-05-01T06:30:00+02:00")  # fmt: skip
    (only,) = chapters_for([obj], p, out_fps=25.0)
    assert only.title == "#7 border A->B 06:30:00" and only.crossing == 7


def _broken(tmp_path: Path, edit: Any) -> str:
    p = plan(1900.0, [600.0, 1800.0])
    obj = _timemap(p).to_json()
    edit(obj)
    path = tmp_path / "bad.timemap.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(TimeMapError) as exc:
        TimeMap.load(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert isinstance(exc.value, BorderwatchError) and isinstance(exc.value, ValueError)
    return msg


def test_time_map_errors_name_file_and_field(tmp_path: Path) -> None:
    assert "frames[3].end_s" in _broken(tmp_path, lambda o: o["frames"][3].update(end_s="x"))
    assert "frames[3].real_time" in _broken(tmp_path, lambda o: o["frames"][3].pop("real_time"))
    assert "frames[2].i" in _broken(tmp_path, lambda o: o["frames"][2].update(i=7))
    assert "frames[4].start_s" in _broken(tmp_path, lambda o: o["frames"][4].update(start_s=0.0))  # overlap
    assert "frames[1].last_pts" in _broken(tmp_path, lambda o: o["frames"][1].update(first_pts=9, last_pts=3))
    assert "version 2" in _broken(tmp_path, lambda o: o.update(version=2))
    assert "out_fps" in _broken(tmp_path, lambda o: o.update(out_fps=0))
    assert "frames_out" in _broken(tmp_path, lambda o: o.update(frames_out=3))
    assert "sources[0].time_base" in _broken(tmp_path, lambda o: o["sources"][0].update(time_base="abc"))
    assert "chapters[0].end_out_s" in _broken(tmp_path, lambda o: o["chapters"][0].update(end_out_s=1e6))
    assert "frames[0].source" in _broken(tmp_path, lambda o: o["frames"][0].update(source=3))
    bad = tmp_path / "x.timemap.json"
    bad.write_text("{not json")
    with pytest.raises(TimeMapError, match="not valid JSON"):
        TimeMap.load(bad)
    with pytest.raises(TimeMapError, match="no such time map"):
        TimeMap.load(tmp_path / "missing.json")


def test_time_map_allows_a_hole_where_no_picture_was_shown(tmp_path: Path) -> None:
    p = plan(120.0, [60.0])
    tm = _timemap(p)
    frames = [f for f in tm.frames if not 10.0 <= f.start_s < 20.0]
    tm2 = TimeMap(out_fps=25.0, frames=[FrameEntry(k, *list(f.to_json().values())[1:]) for k, f in enumerate(frames)])
    tm2.save(tmp_path / "h.json")
    back = TimeMap.load(tmp_path / "h.json")
    assert back.frames_showing(15.0) == [] and back.frames_showing(25.0) != []


# --- tracks ---------------------------------------------------------------------------


def _write_tracks(path: Path, records: list[Any], tail: str = "\n") -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + tail)
    return path


def _walker(tid: int, t0: float, n: int, dt: float = 0.04, x0: float = 0.0) -> list[list[float]]:
    return [[round(t0 + k * dt, 6), x0 + k, 100.0, x0 + k + 20, 160.0 + (k % 3)] for k in range(n)]


def test_track_index_answers_a_window(tmp_path: Path) -> None:
    a = _walker(1, 10.0, 500)  # 10.0 .. 29.96 s, in two pieces
    b = _walker(2, 12.0, 50, x0=300)  # 12.0 .. 13.96 s
    path = _write_tracks(tmp_path / "tracks.jsonl", [
        {"track_id": 1, "label": "unknown", "final": False, "boxes": a[:300]},
        {"track_id": 2, "label": "person", "final": True, "boxes": b},
        {"track_id": 1, "label": "person", "final": True, "boxes": a[300:]},
    ])  # fmt: skip
    idx = TrackIndex.load(path)
    assert len(idx) == 2 and idx.n_boxes == 550 and idx.time_range == (10.0, 29.96)
    assert idx.in_window(0.0, 10.0) == [] and idx.in_window(30.0, 40.0) == []

    seen = idx.in_window(12.0, 14.4)  # a 60x window
    assert [v.track_id for v in seen] == [1, 2]
    one, two = seen
    assert one.label == "person"  # the latest piece's label
    assert one.time_s == pytest.approx(14.36) and one.box == tuple(float(v) for v in a[109][1:])
    assert two.time_s == pytest.approx(13.96) and two.final
    # Trail: ground points (bottom centre) over [b - 3 s, b), thinned, oldest first,
    # ending at the latest box.
    assert len(one.trail) <= TRAIL_POINTS and one.trail.shape[1] == 2
    assert tuple(one.trail[-1]) == ((a[109][1] + a[109][3]) / 2, a[109][4])
    assert tuple(one.trail[0]) == ((a[35][1] + a[35][3]) / 2, a[35][4])  # 11.4 s = 14.4 - 3
    assert (np.diff(one.trail[:, 0]) > 0).all()
    assert len(two.trail) == TRAIL_POINTS  # 50 points in the last 3 s, thinned
    # A short real-time window: only what is inside it; the trail reaches back.
    seen = idx.in_window(20.0, 20.04)
    assert [v.track_id for v in seen] == [1] and seen[0].time_s == pytest.approx(20.0)
    assert len(idx.in_window(20.0, 20.04, trail_s=0.5)[0].trail) == 12  # 19.56 .. 20.0
    # The overlay's plain form, scaled to the output picture.
    boxes, trails = idx.at(12.0, 14.4, scale=0.5)
    assert boxes[0] == (1, a[109][1] / 2, 50.0, a[109][3] / 2, a[109][4] / 2, "person")
    assert trails[1][-1] == ((a[109][1] + a[109][3]) / 4, a[109][4] / 2)


def test_track_ids_reused_after_the_end_stay_apart(tmp_path: Path) -> None:
    path = _write_tracks(tmp_path / "tracks.jsonl", [
        {"track_id": 5, "label": "animal", "final": True, "boxes": _walker(5, 0.0, 10)},
        {"track_id": 5, "label": "vehicle", "final": True, "boxes": _walker(5, 100.0, 10, x0=500)},
    ])  # fmt: skip
    idx = TrackIndex.load(path)
    assert len(idx) == 2
    (early,) = idx.in_window(0.0, 1.0)
    (late,) = idx.in_window(100.0, 101.0, trail_s=500)
    assert early.label == "animal" and late.label == "vehicle"
    assert late.trail[0][0] == 510.0  # the trail never joins the two tracks


def test_track_index_busy_hour_is_quick() -> None:
    rng = np.random.default_rng(3)
    recs = []
    for tid in range(400):  # 400 tracks x 500 boxes = 200k boxes
        t0 = float(rng.uniform(0, 3500))
        recs.append({"track_id": tid, "label": "person", "final": True, "boxes": _walker(tid, t0, 500)})
    t = time.perf_counter()
    idx = TrackIndex.from_records(recs)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    for k in range(1000):
        idx.in_window(k * 3.6, k * 3.6 + 2.4)
    query_s = time.perf_counter() - t
    assert idx.n_boxes == 200_000
    assert load_s < 5 and query_s < 3, (load_s, query_s)


@pytest.mark.parametrize(
    "line, words",
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"track_id": "7", "label": "x", "final": true, "boxes": []}', "'track_id' must be an integer"),
        ('{"track_id": 7, "label": 3, "final": true, "boxes": []}', "'label' must be a string"),
        ('{"track_id": 7, "label": "x", "final": "yes", "boxes": []}', "'final' must be true or false"),
        ('{"track_id": 7, "label": "x", "final": true, "boxes": {}}', "'boxes' must be a list"),
        ('{"track_id": 7, "label": "x", "final": true, "boxes": [[1, 2, 3, 4]]}', "boxes[0] must be"),
        ('{"track_id": 7, "label": "x", "final": true, "boxes": [[1, 2, 3, 4, 5], [1, 2, "a", 4, 5]]}',
         "boxes[1] must be"),
        ('{"track_id": 7, "label": "x", "final": true, "boxes": [[1, 2, 3, 4, 5], [NaN, 2, 3, 4, 5]]}',
         "boxes[1] is not a finite box"),
        ('{"track_id": 7, "label": "x", "final": true, "boxes": [[1, 9, 3, 4, 5]]}', "boxes[0] is not a finite box"),
    ],
)  # fmt: skip
def test_malformed_tracks_name_file_and_line(tmp_path: Path, line: str, words: str) -> None:
    good = {"track_id": 1, "label": "person", "final": True, "boxes": _walker(1, 0.0, 3)}
    path = _write_tracks(tmp_path / "tracks.jsonl", [good, line, good])
    with pytest.raises(ScanDirError) as exc:
        TrackIndex.load(path)
    assert f"{path}:2:" in str(exc.value) and words in str(exc.value)
    assert isinstance(exc.value, BorderwatchError)


def test_torn_last_line_and_missing_file(tmp_path: Path) -> None:
    good = {"track_id": 1, "label": "person", "final": False, "boxes": _walker(1, 0.0, 3)}
    path = _write_tracks(tmp_path / "tracks.jsonl", [good, '{"track_id": 2, "bo'], tail="")
    idx = TrackIndex.load(path)
    assert len(idx) == 1 and "torn last line" in idx.notes[0]
    with pytest.raises(ScanDirError, match="missing"):
        TrackIndex.load(tmp_path / "nope.jsonl")
    empty = TrackIndex.load(tmp_path / "nope.jsonl", missing_ok=True)
    assert len(empty) == 0 and empty.in_window(0, 10) == [] and empty.notes
    assert Chapter("t", 1, 0.0, 1.0).to_json()["crossing"] == 1
