"""`borderwatch timelapse` end to end: every crossing at real time (through the time map),
every source frame used, the coverage bar where the impaired time is, a playable MP4."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from borderwatch.cli import main
from borderwatch.timelapse.timemap import TimeMap

LINE = "0,0.54 0.5,0.48 1,0.52"


@pytest.fixture(scope="module")
def lapse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 60 s scene (320x180) with two crossings and a lens covered for 8 s, scanned and
    rendered at 30x (so quiet time is really sped up in so short a clip)."""
    base = tmp_path_factory.mktemp("lapse")
    clip = base / "scene.mp4"
    args = ["synth", str(clip), "--preset", "walk", "--seed", "2", "--width", "320", "--height", "180"]
    assert main([*args, "--duration", "60", "--fault", "cover:40-48"]) == 0
    scan = base / "scan"
    assert main(["scan", str(clip), "--line", LINE, "--out", str(scan), "--no-snapshots", "--json"]) == 0
    out = base / "lapse.mp4"
    assert main(["timelapse", str(scan), "-o", str(out), "--speed", "30", "--no-clips", "--json"]) == 0
    truth = json.loads(clip.with_suffix(".truth.json").read_text())
    summary = json.loads((scan / "summary.json").read_text())
    return {"clip": clip, "scan": scan, "out": out, "truth": truth, "summary": summary}


def test_every_crossing_is_at_real_time_and_every_frame_is_used(lapse, capsys):
    capsys.readouterr()
    tm = TimeMap.load(lapse["out"].with_suffix(".timemap.json"))
    assert lapse["truth"]["crossings"]
    for c in lapse["truth"]["crossings"]:
        for dt in (-3.0, -1.0, 0.0, 1.0, 2.9):
            assert tm.is_real_time(c["time_s"] + dt), (c, dt)
            assert tm.speed_at(c["time_s"] + dt) == pytest.approx(1.0)
    frames = tm.frames
    assert [f.i for f in frames] == list(range(len(frames)))
    assert all(a.end_s == pytest.approx(b.start_s) for a, b in zip(frames, frames[1:]))
    assert frames[0].start_s == 0.0 and frames[-1].end_s >= lapse["summary"]["coverage"]["duration_s"] - 1e-6
    # Rendered from all frames: every decoded source frame is in exactly one window.
    assert sum(f.frames_in for f in frames) == lapse["summary"]["frames_decoded"]
    # Quiet time is sped up: the output is much shorter than the source.
    assert max(f.speed for f in frames) == pytest.approx(30.0, rel=0.05)
    assert tm.duration_out_s < 0.5 * lapse["summary"]["duration_s"]


def test_output_frames_trace_back_to_source_pts(lapse):
    tm = TimeMap.load(lapse["out"].with_suffix(".timemap.json"))
    tb = tm.sources[0].time_base
    assert tb is not None
    num, den = (int(x) for x in tb.split("/"))
    with av.open(str(lapse["clip"])) as c:
        s = c.streams.video[0]
        origin = s.start_time or 0
        pts = {int(p.pts) for p in c.demux(s) if p.pts is not None}
    for f in tm.frames:
        if f.shown_pts is None:
            continue
        assert f.shown_pts in pts
        assert (f.shown_pts - origin) * num / den == pytest.approx(f.shown_s, abs=1e-9)
        if f.frames_in:
            assert f.first_pts is not None and f.start_s - 1e-9 <= (f.first_pts - origin) * num / den < f.end_s


def test_mp4_plays_everywhere_with_chapters(lapse):
    out = lapse["out"]
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # faststart
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
        chapters = c.chapters()
        n = sum(1 for _ in c.decode(v))
    tm = TimeMap.load(out.with_suffix(".timemap.json"))
    assert n == len(tm.frames)
    assert len(chapters) == len(lapse["truth"]["crossings"]) == len(tm.chapters)
    assert all("border" in ch["metadata"]["title"] for ch in chapters)


def test_covered_lens_shows_on_the_coverage_bar(lapse):
    """The bottom bar is green where the scene was observable and not green over the
    impaired interval, with the cursor moving along it."""
    tm = TimeMap.load(lapse["out"].with_suffix(".timemap.json"))
    cov = lapse["summary"]["coverage"]
    (blk,) = [iv for iv in cov["impaired_intervals"] if iv["cause"] == "blackout"]
    with av.open(str(lapse["out"])) as c:
        img = next(iter(c.decode(video=0))).to_ndarray(format="bgr24")
    h, w = img.shape[:2]
    bar = img[h - 3].astype(int)  # a row inside the bottom bar
    dur = cov["duration_s"]

    def colour_at(t: float) -> np.ndarray:
        return bar[min(w - 1, int(t / dur * w))]

    def greenish(px: np.ndarray) -> bool:
        b, g, r = px
        return g > r + 30 and g > b + 30

    mid = (blk["start_s"] + blk["end_s"]) / 2
    assert not greenish(colour_at(mid))
    assert greenish(colour_at(blk["start_s"] - 6)) and greenish(colour_at(blk["end_s"] + 6))
    assert len(tm.frames) > 10


def test_bad_input_is_one_line(tmp_path, capsys, lapse):
    assert main(["timelapse", str(tmp_path / "nope"), "-o", str(tmp_path / "x.mp4")]) == 2
    assert "summary.json" in capsys.readouterr().err
    assert main(["timelapse", str(lapse["scan"]), "-o", str(tmp_path / "x.avi"), "--no-clips"]) == 2
    assert "MP4" in capsys.readouterr().err
    assert main(["timelapse", str(lapse["scan"]), "-o", str(tmp_path / "x.mp4"), "--length", "soon"]) == 2
    assert "--length" in capsys.readouterr().err
    assert main(["timelapse", str(lapse["scan"]), "-o", str(tmp_path / "x.mp4"), "--source", str(tmp_path / "gone.mp4")]) == 2
    assert "not found" in capsys.readouterr().err


def test_crossing_clips_original_gops_and_annotated_span(lapse, tmp_path, capsys):
    out = tmp_path / "with-clips.mp4"
    assert main(["timelapse", str(lapse["scan"]), "-o", str(out), "--speed", "30", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    clips = Path(rep["clips"])
    manifest = json.loads((clips / "manifest.json").read_text())
    assert len(manifest["crossings"]) == rep["crossing_clips"] == len(lapse["truth"]["crossings"])
    tm = TimeMap.load(out.with_suffix(".timemap.json"))
    for entry in manifest["crossings"]:
        # Original picture data: every GOP cut matches the scan's ledger.
        assert entry["clip"]["ledger_match"] is True
        # Annotated: the time-lapse's own real-time span, copied without re-encoding.
        ann = entry["annotated"]
        assert ann["re_encoded"] is False
        with av.open(ann["path"]) as c:
            frames = list(c.decode(video=0))
        assert len(frames) == ann["last_frame"] - ann["first_frame"] + 1
        assert frames[0].key_frame
        span = tm.frames[ann["first_frame"] : ann["last_frame"] + 1]
        assert all(f.real_time for f in span)
        assert span[0].start_s <= entry["time_s"] < span[-1].end_s
    assert (clips / "crossings.png").stat().st_size > 1000


def test_boxes_do_not_flicker_around_a_crossing(lapse, tmp_path, monkeypatch):
    # Tracks are analysed on some frames only; in real time every window around a
    # crossing must still show the crossing track's box.
    from borderwatch.timelapse import overlay as ov
    from borderwatch.timelapse.render import render

    seen: list[tuple[float, int]] = []
    real_draw = ov.Overlay.draw

    def draw(self, img, **kw):  # type: ignore[no-untyped-def]
        seen.append((kw["t_s"], len(kw["boxes"])))
        return real_draw(self, img, **kw)

    monkeypatch.setattr(ov.Overlay, "draw", draw)
    render(lapse["scan"], tmp_path / "f.mp4", quiet_speed=30)
    crossings = [json.loads(x) for x in (lapse["scan"] / "crossings.jsonl").read_text().splitlines()]
    for c in crossings:
        near = [n for t, n in seen if abs(t - c["time_s"]) <= 0.5]
        assert near and all(n >= 1 for n in near), (c["time_s"], near)


@pytest.mark.parametrize("clip", ["bgslibrary-video.avi", "bgslibrary-video02.avi"])
def test_avi_sources_get_their_original_gops_in_a_container_that_holds_them(shared_data, tmp_path, capsys, clip):
    # MS-MPEG4 cannot go into MP4 (or Matroska): an AVI's GOPs are cut into an AVI.
    src = shared_data / "video" / clip
    if not src.exists():
        pytest.skip(f"{src} not found")
    scan = tmp_path / "scan"
    assert main(["scan", str(src), "--line", "0.5,0 0.5,1", "--out", str(scan), "--no-snapshots", "--json"]) == 0
    out = tmp_path / "lapse.mp4"
    assert main(["timelapse", str(scan), "-o", str(out), "--json"]) == 0
    capsys.readouterr()
    manifest = json.loads((tmp_path / "lapse-crossings" / "manifest.json").read_text())
    assert manifest["crossings"]
    for e in manifest["crossings"]:
        assert e["clip"] is not None and e["clip"]["ledger_match"] is True, e["warnings"]
        assert e["clip"]["file"].endswith(".avi")
        with av.open(str(tmp_path / "lapse-crossings" / e["clip"]["file"])) as c:
            assert sum(1 for _ in c.decode(video=0)) > 0


def test_trail_camera_crossings_copy_the_original_pictures(tmp_path, capsys):
    cam = tmp_path / "cam"
    args = ["synth", str(cam), "--preset", "trailcam", "--format", "images", "--width", "320", "--height", "180"]
    assert main([*args, "--duration", "40"]) == 0
    scan = tmp_path / "scan"
    assert main(["scan", str(cam), "--line", LINE, "--out", str(scan), "--no-snapshots", "--json"]) == 0
    assert main(["timelapse", str(scan), "-o", str(tmp_path / "lapse.mp4"), "--json"]) == 0
    capsys.readouterr()
    manifest = json.loads((tmp_path / "lapse-crossings" / "manifest.json").read_text())
    assert manifest["crossings"]
    for e in manifest["crossings"]:
        originals = e["originals"]
        assert originals and all(o["ledger"] == "match" for o in originals)
        times = [o["offset_s"] for o in originals]
        assert min(times) <= e["time_s"] <= max(times)
        for o in originals:
            copied = tmp_path / "lapse-crossings" / o["file"]
            assert copied.read_bytes() == (cam / Path(o["file"]).name).read_bytes()
