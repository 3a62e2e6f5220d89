"""Crossing clips and overlays (timelapse/overlay.py, timelapse/clips.py): the overlays
draw where they should at any size; cut clips hold the scan's GOPs byte for byte (their
hashes are the ledger's); annotated clips keep the source timing; a scan folder exports."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from borderwatch.cli import main
from borderwatch.errors import BorderwatchError, SourceNotFound
from borderwatch.geometry import SIDE_A, SIDE_B, Polyline
from borderwatch.ledger.gop import gop_hashes
from borderwatch.timelapse.clips import (
    ClipError,
    annotated_clip,
    contact_sheet,
    cut_gops,
    export_crossings,
    load_track_index,
)
from borderwatch.timelapse.overlay import (
    LINE_COLOUR,
    REAL_TIME_BG,
    Overlay,
    cause_bgr,
    fmt_source_time,
    fmt_wallclock,
)

LINE = "0,0.54 0.5,0.48 1,0.52"
W, H = 320, 180


# --------------------------------------------------------------------------- fixtures


def _encode(path: Path, frames: list[np.ndarray], *, gop: int = 25, bframes: int = 0) -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"g": str(gop), "keyint_min": str(gop), "bf": str(bframes), "threads": "1", "preset": "veryfast"}
        for i, img in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(img, format="bgr24")
            fr.pts, fr.time_base = i, Fraction(1, 25)
            out.mux(s.encode(fr))
        out.mux(s.encode(None))
    return path


@pytest.fixture(scope="module")
def walk_frames() -> list[np.ndarray]:
    """6 s of the synth walk scene at 320x180 (one crossing, at 5.2 s)."""
    from borderwatch.synth import Renderer, preset

    spec = preset("walk", 1, duration_s=6, width=W, height=H)
    return [f.copy() for f in Renderer(spec).frames()]


def _scan(src: Path, out: Path) -> Path:
    assert main(["scan", str(src), "--line", LINE, "--out", str(out), "--bucket", "2", "--json"]) == 0
    return out


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, walk_frames: list[np.ndarray]) -> tuple[Path, Path]:
    """The walk scene as H.264 with a GOP per second (and B-frames), scanned."""
    base = tmp_path_factory.mktemp("clips")
    clip = _encode(base / "walk.mp4", walk_frames, bframes=2)
    return clip, _scan(clip, base / "scan")


def _ledger(scan: Path, kind: str) -> list[dict[str, Any]]:
    recs = [json.loads(s) for s in (scan / "ledger.jsonl").read_text().splitlines()]
    return [r["data"] for r in recs if r["kind"] == kind]


def _crossings(scan: Path) -> list[dict[str, Any]]:
    return [json.loads(s) for s in (scan / "crossings.jsonl").read_text().splitlines()]


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.time_base is not None
        tb = Fraction(s.time_base)
        return [float(f.pts * tb) for f in c.decode(s) if f.pts is not None]


def _moov_first(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


# --------------------------------------------------------------------------- overlay


def _line(w: int, h: int) -> Polyline:
    return Polyline(np.array([[0.0, 0.54 * h], [0.5 * w, 0.48 * h], [w, 0.52 * h]]), "border", ("south", "north"))


def _overlay(w: int, h: int, **kw: Any) -> Overlay:
    spans = [(0.0, 100.0, None), (20.0, 30.0, "frozen"), (50.0, 60.0, "lost")]
    crossings = [{"id": 1, "time_s": 40.0, "line": "border", "from_side": "south", "to_side": "north",
                  "direction": "south->north", "label": "person", "point": [0.6 * w, 0.5 * h]}]  # fmt: skip
    args: dict[str, Any] = {
        "lines": [_line(w, h)], "coverage_spans": spans, "duration_s": 100.0, "crossings": crossings,
        "wallclock_start": datetime(2026, 1, 1, 12, tzinfo=UTC),
    }  # fmt: skip
    args.update(kw)
    return Overlay(w, h, **args)


def _draw(ov: Overlay, img: np.ndarray, **kw: Any) -> None:
    args: dict[str, Any] = {"t_s": 40.5, "window": (40.0, 41.0), "speed": 60.0, "real_time": False, "boxes": [],
                            "trails": {}, "crossings_now": []}  # fmt: skip
    args.update(kw)
    ov.draw(img, **args)


def test_overlay_draws_line_bar_header_boxes_and_markers_where_expected() -> None:
    w, h = 640, 360
    ov = _overlay(w, h)
    grey = np.full((h, w, 3), 128, np.uint8)
    img = grey.copy()
    box = (7, 100.0, 60.0, 160.0, 150.0, "person")
    trail = {7: [(130.0 + 2 * i, 260.0 - 2 * i) for i in range(30)]}
    crossing = ov.crossings[0]
    _draw(ov, img, boxes=[box], trails=trail, crossings_now=[crossing])
    changed = (img != grey).any(axis=2)
    # The line: its middle vertex carries the line colour.
    assert tuple(img[int(0.48 * h), w // 2]) == LINE_COLOUR
    # The bar along the bottom: observable green, the frozen span and the lost span in
    # their colours, above it the picture.
    bh = ov.bar_h
    assert bh == round(0.05 * h)
    row = h - 2
    assert tuple(img[row, int(0.1 * w)]) == cause_bgr(None)
    assert tuple(img[row, int(0.25 * w)]) == cause_bgr("frozen")
    assert tuple(img[row, int(0.55 * w)]) == cause_bgr("lost")
    # Header: top-left text; box outline; trail; crossing marker ring near its point.
    assert changed[: h // 12, : w // 3].mean() > 0.5
    assert changed[60, 100:160].all() and changed[60:150, 100].all()
    assert changed[258:262, 128:134].any()
    px, py = crossing["point"]
    assert changed[int(py) - 12 : int(py) + 12, int(px) - 12 : int(px) + 12].any()
    # The middle of the picture away from everything is untouched.
    assert not changed[int(0.75 * h) : int(0.8 * h), int(0.7 * w) : int(0.8 * w)].any()


def test_real_time_is_highlighted_and_speed_shown_otherwise() -> None:
    w, h = 640, 360
    ov = _overlay(w, h)
    fast = np.full((h, w, 3), 128, np.uint8)
    real = fast.copy()
    _draw(ov, fast, speed=60.0, real_time=False)
    _draw(ov, real, speed=1.0, real_time=True)
    corner = (slice(0, h // 10), slice(w - w // 5, w))
    red = (real[corner] == REAL_TIME_BG).all(axis=2).mean()
    assert red > 0.3
    assert (fast[corner] == REAL_TIME_BG).all(axis=2).mean() == 0
    assert (fast[corner] != 128).any()  # "60x" on its backing


def test_side_labels_sit_on_their_sides() -> None:
    ov = _overlay(640, 360)
    ln = ov.lines[0]
    labels = ov._line_labels(ln)
    for name, side in (("south", SIDE_A), ("north", SIDE_B)):
        spots = [org for text, org in labels if text == name]
        assert len(spots) == 2  # near both ends
        for x, y in spots:
            (tw, th), _ = cv2.getTextSize(name, cv2.FONT_HERSHEY_DUPLEX, ov.small_scale, ov.small_thick)
            assert ln.side(np.array([x + tw / 2, y - th / 2])) == side


@pytest.mark.parametrize("size", [(320, 180), (321, 181), (640, 360), (1280, 720), (1920, 1080), (200, 600)])
def test_overlay_any_size_and_empty_inputs(size: tuple[int, int]) -> None:
    w, h = size
    for ov in (
        _overlay(w, h),
        Overlay(w, h, [], [], 0.0, [], None),
        Overlay(w, h, [], [], 10.0, [], None, bar_height_frac=0.0),
    ):
        img = np.zeros((h, w, 3), np.uint8)
        _draw(ov, img)
        # Boxes partly or wholly outside, one-point trails, a crossing without a point.
        _draw(ov, img, t_s=-1.0, window=(-5.0, 500.0), boxes=[(1, -50.0, -50.0, 10.0, 10.0, ""),
              (2, w + 5.0, h + 5.0, w + 50.0, h + 50.0, "unknown")], trails={1: [(1.0, 1.0)], 2: []},
              crossings_now=[{"id": 3, "time_s": 1.0}], real_time=True, speed=1.0)  # fmt: skip
    with pytest.raises(ValueError, match="overlay is for"):
        _overlay(w, h).draw(np.zeros((h + 2, w, 3), np.uint8), t_s=0.0, window=(0.0, 1.0), speed=1.0,
                            real_time=True, boxes=[], trails={}, crossings_now=[])  # fmt: skip


def test_time_formats() -> None:
    assert fmt_source_time(3725.456) == "1:02:05.46"
    assert fmt_source_time(0.0) == "0:00:00.00"
    assert fmt_wallclock(datetime(2026, 1, 1, 12, 0, 3, 250000, tzinfo=UTC)) == "2026-01-01 12:00:03.25 UTC"
    assert fmt_wallclock(datetime(2026, 1, 1, 12, 0, 3)) == "2026-01-01 12:00:03.00"


# --------------------------------------------------------------------------- cut_gops


def test_cut_gops_holds_exactly_the_overlapping_gops_with_the_ledgers_hashes(scanned, tmp_path):
    clip, scan = scanned
    ledger = {g["index"]: g for g in _ledger(scan, "gop")}
    assert len(ledger) == 6
    out = tmp_path / "cut.mp4"
    res = cut_gops(clip, 2.2, 3.5, out)
    assert [g.index for g in res.gops] == [2, 3]
    assert res.clip_start_s == 2.0 and res.clip_end_s == 4.0
    # The hashes computed while cutting are the ledger's ...
    assert [g.sha256 for g in res.gops] == [ledger[2]["sha256"], ledger[3]["sha256"]]
    # ... and so are those of the clip as written: the pictures are bit-exact.
    again = gop_hashes(out, offset_s=res.clip_start_s)
    assert [g.sha256 for g in again] == [ledger[2]["sha256"], ledger[3]["sha256"]]
    assert [(g.start_s, g.end_s) for g in again] == [(ledger[i]["start_s"], ledger[i]["end_s"]) for i in (2, 3)]
    # It decodes: 50 frames from time 0, every one at its source time less 2 s.
    times = _frame_times(out)
    assert len(times) == 50 and times[0] == 0.0
    src_times = _frame_times(clip)
    assert [t + res.clip_start_s for t in times] == pytest.approx(src_times[50:100], abs=1e-9)
    assert res.pts_offset * res.time_base == 2
    assert _moov_first(out)  # faststart
    assert not (tmp_path / "cut.mp4.part").exists()


@pytest.mark.parametrize(
    "span,gops",
    [((0.0, 0.0), [0]), ((0.5, 0.99), [0]), ((2.0, 3.0), [2, 3]), ((2.0, 2.999), [2]), ((5.5, 99.0), [5]),
     ((-5.0, 0.1), [0]), ((0.0, 6.0), [0, 1, 2, 3, 4, 5])],
)  # fmt: skip
def test_cut_gops_span_edges(scanned, tmp_path, span, gops):
    clip, _ = scanned
    res = cut_gops(clip, span[0], span[1], tmp_path / "c.mp4")
    assert [g.index for g in res.gops] == gops
    assert len(_frame_times(tmp_path / "c.mp4")) == 25 * len(gops)


def test_cut_gops_outside_the_file_and_bad_names_are_clear_errors(scanned, tmp_path):
    clip, _ = scanned
    with pytest.raises(ClipError, match="no GOP"):
        cut_gops(clip, 10.0, 12.0, tmp_path / "c.mp4")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ClipError, match="clip format"):
        cut_gops(clip, 1.0, 2.0, tmp_path / "c.txt")
    with pytest.raises(SourceNotFound):
        cut_gops(tmp_path / "missing.mp4", 1.0, 2.0, tmp_path / "c.mp4")


def test_cut_gops_offset_places_a_segment_on_the_timeline(scanned, tmp_path):
    clip, scan = scanned
    res = cut_gops(clip, 102.5, 103.2, tmp_path / "c.mkv", offset_s=100.0, source_index=4)
    assert [g.index for g in res.gops] == [2, 3] and {g.source for g in res.gops} == {4}
    assert res.clip_start_s == 102.0
    assert len(_frame_times(tmp_path / "c.mkv")) == 50
    ledger = {g["index"]: g["sha256"] for g in _ledger(scan, "gop")}
    assert [g.sha256 for g in gop_hashes(tmp_path / "c.mkv")] == [ledger[2], ledger[3]]


def test_overlapping_spans_cut_in_one_pass_each_get_their_gops(scanned, tmp_path):
    # export_crossings cuts all spans of a file in one demux pass; a GOP shared by two
    # clips is muxed twice (muxing rescales a packet's timestamps in place).
    from borderwatch.timelapse.clips import _cut_many

    clip, scan = scanned
    ledger = {g["index"]: g["sha256"] for g in _ledger(scan, "gop")}
    spans = [(1.2, 3.5, tmp_path / "a.mp4"), (2.5, 4.2, tmp_path / "b.mp4"), (0.0, 0.5, tmp_path / "c.mp4")]
    res = _cut_many(clip, spans)
    assert [[g.index for g in r.gops] for r in res] == [[1, 2, 3], [2, 3, 4], [0]]
    for r in res:
        written = gop_hashes(r.path, offset_s=r.clip_start_s)
        assert [(g.sha256, g.start_s) for g in written] == [(ledger[g.index], g.start_s) for g in r.gops]
        assert _frame_times(r.path)[0] == 0.0


# --------------------------------------------------------------------------- annotated clip


def test_annotated_clip_keeps_frame_count_and_timing(scanned, tmp_path):
    clip, scan = scanned
    crossing = _crossings(scan)[0]
    summary = json.loads((scan / "summary.json").read_text())
    lines = [Polyline(np.array(ln["points_px"]), ln["name"], tuple(ln["sides"])) for ln in summary["lines"]]
    ov = Overlay(W, H, lines, [(0.0, 6.0, None)], 6.0, [crossing], None)
    out = tmp_path / "ann.mp4"
    res = annotated_clip(clip, 1.0, 3.0, out, overlay=ov, track_index=load_track_index(scan), crossing=crossing)
    assert res.frames == 50 and res.first_s == 1.0 and res.last_s == pytest.approx(2.96)
    times = _frame_times(out)
    src = [t for t in _frame_times(clip) if 1.0 <= t < 3.0]
    assert len(times) == 50 and times[0] == 0.0
    assert [t + 1.0 for t in times] == pytest.approx(src, abs=1e-9)
    assert res.pts_offset * res.time_base == 1
    assert _moov_first(out)
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.width, s.height, s.format.name) == ("h264", W, H, "yuv420p")
    assert res.thumbnail is None  # the crossing (5.2 s) is not in this span

    # Around the crossing: the thumbnail is the annotated crossing frame.
    t = float(crossing["time_s"])
    res = annotated_clip(clip, t - 0.5, t + 0.5, out, overlay=ov, track_index=None, crossing=crossing)
    assert res.frames == 25 and res.thumbnail is not None and res.thumbnail.shape == (H, W, 3)


def test_annotated_clip_with_a_local_track_adapter_draws_its_boxes(scanned, tmp_path):
    clip, _ = scanned

    class Boxes:
        def __init__(self) -> None:
            self.calls: list[tuple[float, float]] = []

        def at(self, a: float, b: float) -> tuple[list[tuple[int, float, float, float, float, str]], dict]:
            self.calls.append((a, b))
            return [(5, 20.0, 20.0, 80.0, 80.0, "person")], {5: [(50.0, 120.0), (50.0, 80.0)]}

    idx = Boxes()
    ov = Overlay(W, H, [], [], 6.0, [], None, bar_height_frac=0.0)
    out = tmp_path / "ann.mp4"
    res = annotated_clip(clip, 0.0, 0.4, out, overlay=ov, track_index=idx, crossing=None, crf=0)
    assert res.frames == len(idx.calls) == 10
    assert all(b - a == pytest.approx(0.04) for a, b in idx.calls)
    with av.open(str(out)) as c:
        img = next(c.decode(video=0)).to_ndarray(format="bgr24")
    with av.open(str(clip)) as c:
        raw = next(c.decode(video=0)).to_ndarray(format="bgr24")
    diff = np.abs(img.astype(int) - raw.astype(int)).max(axis=2)
    assert diff[20, 25:75].mean() > 40  # the box's top edge
    assert diff[140:170, 200:300].mean() < 8  # elsewhere only coding noise


def test_annotated_clip_of_nothing_is_a_clear_error(scanned, tmp_path):
    clip, _ = scanned
    ov = Overlay(W, H, [], [], 6.0, [], None)
    with pytest.raises(ClipError, match="no frame"):
        annotated_clip(clip, 20.0, 21.0, tmp_path / "a.mp4", overlay=ov, track_index=None, crossing=None)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ClipError, match="overlay is for"):
        annotated_clip(clip, 0.0, 1.0, tmp_path / "a.mp4", overlay=Overlay(640, 360, [], [], 6.0, [], None),
                       track_index=None, crossing=None)  # fmt: skip


# --------------------------------------------------------------------------- contact sheet


def test_contact_sheet_size(tmp_path):
    items = [(np.full((90, 160, 3), 40 * i, np.uint8), f"#{i} border A->B\n0:00:0{i}.00") for i in range(5)]
    out = contact_sheet(items, tmp_path / "sheet.png", columns=4, thumb_width=160, title="5 crossings")
    img = cv2.imread(str(out))
    assert img is not None
    assert img.shape[1] == 4 * (160 + 8) + 8
    assert img.shape[0] > 2 * 90  # two rows of 160x90 thumbnails and their captions
    one = contact_sheet(items[:1], tmp_path / "one.png", thumb_width=160)
    one_img = cv2.imread(str(one))
    assert one_img is not None and one_img.shape[1] == 160 + 16
    empty = contact_sheet([], tmp_path / "none.png")
    assert cv2.imread(str(empty)) is not None


# --------------------------------------------------------------------------- export_crossings


def test_export_crossings_writes_everything_and_the_manifest_is_right(scanned, tmp_path):
    _, scan = scanned
    crossings = _crossings(scan)
    ledger = {g["index"]: g["sha256"] for g in _ledger(scan, "gop")}
    seen: list[tuple[int, int]] = []
    entries = export_crossings(scan, tmp_path / "ev", progress=lambda d, n: seen.append((d, n)))
    assert len(entries) == len(crossings) == 1 and seen == [(1, 1)]
    e, c = entries[0], crossings[0]
    t = c["time_s"]
    assert (e["crossing"], e["direction"], e["time_s"]) == (c["id"], "A->B", t)
    assert e["span"] == {"start_s": pytest.approx(t - 3.0), "end_s": pytest.approx(6.0)}  # cut at the scan's end
    assert e["warnings"] == [] and e["source"]["unchanged"] is True
    cut = e["clip"]
    assert cut["file"] == "crossing_0001.mp4" and cut["ledger_match"] is True
    assert [g["index"] for g in cut["gops"]] == [2, 3, 4, 5]
    assert all(g["ledger"] == "match" and g["sha256"] == ledger[g["index"]] for g in cut["gops"])
    assert [g.sha256 for g in gop_hashes(tmp_path / "ev" / cut["file"])] == [ledger[i] for i in (2, 3, 4, 5)]
    ann = e["annotated"]
    assert ann["file"] == "crossing_0001_annotated.mp4" and ann["frames"] == round((6.0 - (t - 3.0)) * 25)
    assert len(_frame_times(tmp_path / "ev" / ann["file"])) == ann["frames"]
    assert e["thumbnail"] == c["snapshot"]
    sheet = cv2.imread(str(tmp_path / "ev" / "crossings.png"))
    assert sheet is not None and sheet.shape[1] == 320 + 16
    manifest = json.loads((tmp_path / "ev" / "manifest.json").read_text())
    assert manifest["crossings"] == json.loads(json.dumps(entries))
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == [
        "crossing_0001.mp4", "crossing_0001_annotated.mp4", "crossings.png", "manifest.json"]  # fmt: skip


def test_a_scan_without_crossings_exports_an_empty_sheet(scanned, tmp_path):
    _, scan = scanned
    quiet = tmp_path / "scan"
    shutil.copytree(scan, quiet)
    (quiet / "crossings.jsonl").write_text("")
    assert export_crossings(quiet, tmp_path / "ev") == []
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == ["crossings.png", "manifest.json"]
    assert json.loads((tmp_path / "ev" / "manifest.json").read_text())["crossings"] == []


def test_a_remuxed_source_is_flagged_but_its_gops_still_match(scanned, tmp_path):
    clip, scan = scanned
    remuxed = tmp_path / "walk_remuxed.mkv"
    with av.open(str(clip)) as inp, av.open(str(remuxed), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for pk in inp.demux(s_in):
            if pk.size:
                pk.stream = s_out
                out.mux(pk)
    entries = export_crossings(scan, tmp_path / "ev", source=remuxed)
    (e,) = entries
    assert e["source"]["unchanged"] is False
    assert any("differs from the file scanned" in w for w in e["warnings"])
    assert e["clip"]["ledger_match"] is True  # other bytes, the same pictures


def test_missing_source_is_a_clear_error(scanned, tmp_path):
    _, scan = scanned
    with pytest.raises(SourceNotFound, match="not found"):
        export_crossings(scan, tmp_path / "ev", source=tmp_path / "nope.mp4")
    moved = tmp_path / "scan"
    shutil.copytree(scan, moved)
    summary = json.loads((moved / "summary.json").read_text())
    summary["source"]["path"] = str(tmp_path / "gone" / "walk.mp4")
    (moved / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(BorderwatchError, match=r"summary\.json"):
        export_crossings(moved, tmp_path / "ev")
    assert not (tmp_path / "ev").exists()  # nothing written before the source is found
    with pytest.raises(BorderwatchError, match=r"no summary\.json"):
        export_crossings(tmp_path, tmp_path / "ev")  # not a scan folder


def test_export_from_a_folder_of_segments_picks_the_segment(tmp_path, walk_frames):
    folder = tmp_path / "cam"
    folder.mkdir()
    _encode(folder / "seg1.mp4", walk_frames[:75])
    _encode(folder / "seg2.mp4", walk_frames[75:])
    scan = _scan(folder, tmp_path / "scan")
    sources = _ledger(scan, "source")
    assert [(s["name"], s["offset_s"]) for s in sources] == [("seg1.mp4", 0.0), ("seg2.mp4", 3.0)]
    gops = {(g["source"], g["index"]): g["sha256"] for g in _ledger(scan, "gop")}
    (c,) = _crossings(scan)
    entries = export_crossings(scan, tmp_path / "ev", pre_s=1.0, post_s=1.0)
    (e,) = entries
    assert e["source"]["index"] == 1 and e["source"]["path"].endswith("seg2.mp4")
    cut = e["clip"]
    # GOP indices count within the segment, and the times are on the scan's timeline.
    assert cut["gops"][0]["start_s"] >= 3.0
    assert all(gops[(1, g["index"])] == g["sha256"] for g in cut["gops"]) and cut["ledger_match"] is True
    assert e["annotated"]["first_s"] == pytest.approx(c["time_s"] - 1.0)
