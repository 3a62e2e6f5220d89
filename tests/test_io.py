"""borderwatch.io: exact timing, luma, segments, pictures, bad and damaged input."""

from __future__ import annotations

import random
import wave
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from borderwatch.errors import EmptySource, SourceNotFound, SourceUnreadable
from borderwatch.io import open_source, probe
from borderwatch.io.base import GapTracker
from borderwatch.io.timestamps import parse_exif_time, time_from_name

VIDEO_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
UTC = UTC


def decode_all(path: Path, **kw: object) -> tuple[list, object]:
    src = open_source(path, **kw)
    with src:
        frames = list(src)
    return frames, src


def covered(t: float, gaps: list) -> bool:
    return any(g.start_s <= t <= g.end_s for g in gaps)


# --- exact timing -------------------------------------------------------------------


def test_ntsc_rate_times_are_exact_pts_times(tmp_path, make_clip):
    clip = make_clip(tmp_path / "ntsc.mp4", frames=90, rate=Fraction(30000, 1001))
    frames, src = decode_all(clip)
    assert src.info.fps == Fraction(30000, 1001) and src.info.frame_count == 90
    assert [f.index for f in frames] == list(range(90))
    tb = frames[0].time_base
    for i, f in enumerate(frames):
        assert f.time_s == float((f.pts - frames[0].pts) * tb)  # exact, not approximately
        assert f.time_s == float(Fraction(1001 * i, 30000))
    # A frame count over an assumed 29.97 fps would be off by more than float rounding.
    assert frames[-1].time_s != 89 / 29.97
    assert src.frames_decoded == 90 and not src.partial and src.last_time_s == frames[-1].time_s


def test_variable_frame_rate_follows_pts_and_reports_long_steps(tmp_path, make_clip):
    pts = [0, 40, 80, 200, 240, 280, 1500, 1540]
    clip = make_clip(tmp_path / "vfr.mkv", frames=len(pts), pts=pts, time_base=Fraction(1, 1000))
    frames, src = decode_all(clip)
    assert [f.time_s for f in frames] == [p / 1000 for p in pts]
    # 0.12 s is within 3 nominal frames at 25 fps; the 1.22 s hole is not.
    assert [(g.start_s, g.end_s) for g in src.gaps] == [(0.28, 1.5)]
    _, relaxed = decode_all(clip, max_frame_interval_s=5.0)
    assert relaxed.gaps == [] and not relaxed.partial


def test_missing_pts_are_interpolated_and_counted(tmp_path, make_clip):
    mp4 = make_clip(tmp_path / "a.mp4", frames=30)
    raw = tmp_path / "a.h264"  # Annex B elementary stream: packets carry no timestamps
    with av.open(str(mp4)) as inp, av.open(str(raw), "w", format="h264") as out:
        ostream = out.add_stream_from_template(inp.streams.video[0])
        for pkt in inp.demux(inp.streams.video[0]):
            if pkt.size:
                pkt.stream = ostream
                out.mux(pkt)
    frames, src = decode_all(raw)
    assert len(frames) == 30 and src.pts_interpolated == 30
    steps = np.diff([f.time_s for f in frames])
    assert np.allclose(steps, 0.04)


def test_concatenated_ts_rebases_a_backwards_jump(tmp_path, make_clip):
    clip = make_clip(tmp_path / "a.ts", frames=250)  # 10 s, so the restart goes back 10 s
    joined = tmp_path / "joined.ts"
    joined.write_bytes(clip.read_bytes() * 2)
    frames, src = decode_all(joined)
    times = [f.time_s for f in frames]
    assert len(frames) == 500 and all(b > a for a, b in zip(times, times[1:]))
    assert times[250] == pytest.approx(10.0)  # continues one frame after the first file
    assert times[-1] == pytest.approx(19.96)
    assert any("discontinuity" in g.reason for g in src.gaps) and src.partial
    # The restarted continuity counters also make the demuxer flag a packet: conservative.
    assert all(g.end_s - g.start_s <= 0.1 for g in src.gaps)


# --- luma and colour ----------------------------------------------------------------


def test_luma_is_the_y_plane_cropped_from_padded_rows(tmp_path, make_clip):
    clip = make_clip(tmp_path / "odd.mp4", frames=12, size=(202, 120))
    with av.open(str(clip)) as c:
        decoded = list(c.decode(video=0))
        ref = [f.to_ndarray()[:120] for f in decoded]  # yuv420p: Y rows first
        stride = decoded[0].planes[0].line_size
    assert stride > 202  # the test is only meaningful with row padding
    frames, _ = decode_all(clip)
    assert len(frames) == len(ref)
    for f, r in zip(frames, ref):
        assert f.luma.shape == (120, 202) and f.luma.dtype == np.uint8
        np.testing.assert_array_equal(f.luma, r)
        assert not f.luma.flags.writeable  # a view of decoder memory
    bgr = frames[5].to_bgr()
    assert bgr.shape == (120, 202, 3)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(float)
    full_range = (frames[5].luma.astype(float) - 16) * 255 / 219  # H.264 luma is 16..235
    assert np.abs(grey - full_range).mean() < 3  # the same picture after a BT.601 round trip


def test_analysis_only_false_gives_owned_writable_luma(tmp_path, make_clip):
    clip = make_clip(tmp_path / "c.mp4", frames=5)
    frames, _ = decode_all(clip, analysis_only=False)
    assert all(f.luma.flags.writeable and f.luma.flags.owndata for f in frames)


def test_deblock_false_skips_the_loop_filter_and_keeps_every_frame(scene_clip):
    # The synth writer's x264 deblocks: without the filter the pictures differ (slightly),
    # with it they are the exact ones; frames and times are the same either way.
    clip = scene_clip("back_and_forth")  # the clip the CLI tests use, made once

    def lumas(deblock: bool) -> tuple[list[float], np.ndarray]:
        with open_source(clip, deblock=deblock, analysis_only=False) as src:
            frames = list(src)
        return [f.time_s for f in frames], np.stack([f.luma for f in frames]).astype(np.int16)

    with av.open(str(clip)) as c:
        exact = np.stack([f.to_ndarray()[: c.streams.video[0].height] for f in c.decode(video=0)]).astype(np.int16)
    t_exact, y_exact = lumas(True)
    t_fast, y_fast = lumas(False)
    assert t_fast == t_exact and len(y_exact) == len(exact) == 250
    assert np.array_equal(y_exact, exact)
    diff = np.abs(y_fast - y_exact)
    assert 0 < diff.mean() < 3  # not the same pictures, but close


def test_non_yuv_video_falls_back_to_a_grey_conversion(tmp_path):
    path = tmp_path / "rgb.mov"
    rng = np.random.default_rng(3)
    pictures = [rng.integers(0, 256, (24, 40, 3), dtype=np.uint8) for _ in range(4)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("png", rate=10)
        stream.width, stream.height, stream.pix_fmt = 40, 24, "rgb24"
        for i, img in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    frames, src = decode_all(path)
    assert len(frames) == 4 and not src.partial
    for f, img in zip(frames, pictures):
        np.testing.assert_array_equal(f.to_bgr(), img[:, :, ::-1])  # lossless codec
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(int)
        assert f.luma.shape == (24, 40) and np.abs(f.luma.astype(int) - grey).max() <= 20


# --- real clips -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,count,fps",
    [("bgslibrary-video.avi", 374, Fraction(30)), ("intel-car-detection.mp4", 377, Fraction(25, 2))],
)
def test_real_clips_decode_fully(name, count, fps):
    path = VIDEO_DIR / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    frames, src = decode_all(path)
    assert len(frames) == count == src.info.frame_count and not src.partial
    assert src.info.fps == fps
    assert frames[-1].time_s == pytest.approx((count - 1) / float(fps), abs=1e-9)
    if name.endswith(".mp4"):
        start = datetime(2018, 4, 19, 22, 46, tzinfo=UTC)
        assert src.info.wallclock_start == start
        assert frames[10].wallclock == start + timedelta(seconds=frames[10].time_s)


# --- bad input ------------------------------------------------------------------------


def test_bad_inputs_raise_the_right_errors(tmp_path):
    with pytest.raises(SourceNotFound) as e1:
        open_source(tmp_path / "missing.mp4")
    assert isinstance(e1.value, FileNotFoundError)
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceUnreadable, match="notes.mp4"):
        open_source(text)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(EmptySource, match="empty"):
        open_source(empty)
    audio = tmp_path / "tone.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    with pytest.raises(SourceUnreadable, match="no video stream"):
        open_source(audio)
    nothing = tmp_path / "nothing_here"
    nothing.mkdir()
    (nothing / "readme.txt").write_text("no media")
    with pytest.raises(SourceUnreadable, match="no video files"):
        open_source(nothing)


def test_folder_with_videos_and_images_is_refused(tmp_path, make_clip):
    make_clip(tmp_path / "a.mp4", frames=3)
    cv2.imwrite(str(tmp_path / "20260101_120000.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(SourceUnreadable, match="both videos"):
        open_source(tmp_path)


# --- damaged input --------------------------------------------------------------------


def packet_times(path: Path, lo: int, hi: int) -> tuple[list[float], list[float]]:
    """Times of packets whose bytes lie in [lo, hi) and of all packets, from the intact file."""
    hit, every = [], []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        t0 = s.start_time or 0
        for p in c.demux(s):
            if p.size and p.pts is not None:
                t = float((p.pts - t0) * s.time_base)
                every.append(t)
                if p.pos is not None and p.pos < hi and p.pos + p.size > lo:
                    hit.append(t)
    return hit, every


@pytest.mark.parametrize("ext,faststart", [("mp4", False), ("mp4", True), ("mkv", False), ("ts", False)])
def test_garbage_in_the_middle_becomes_gaps_covering_it(tmp_path, make_clip, ext, faststart):
    clip = make_clip(tmp_path / f"ok.{ext}", frames=250, faststart=faststart)
    data = bytearray(clip.read_bytes())
    lo, n = len(data) // 2, 6000
    data[lo : lo + n] = random.Random(7).randbytes(n)
    bad = tmp_path / f"bad.{ext}"
    bad.write_bytes(bytes(data))
    hit, every = packet_times(clip, lo, lo + n)
    assert hit
    frames, src = decode_all(bad)
    assert src.partial and 0 < len(frames) < 250
    assert all(covered(t, src.gaps) for t in hit), (hit, src.gaps)
    assert set(f.time_s for f in frames) <= set(every)  # times stay exact pts times
    times = [f.time_s for f in frames]
    assert all(b > a for a, b in zip(times, times[1:]))


@pytest.mark.parametrize("ext,faststart", [("mkv", False), ("mp4", True)])
def test_truncation_gap_runs_to_the_declared_end(tmp_path, make_clip, ext, faststart):
    clip = make_clip(tmp_path / f"ok.{ext}", frames=250, faststart=faststart)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10])
    frames, src = decode_all(cut)
    assert src.partial and 100 < len(frames) < 250
    assert src.gaps[-1].end_s == pytest.approx(10.0)
    assert src.gaps[-1].start_s == frames[-1].time_s
    assert "truncated" in src.gaps[-1].reason


def test_truncated_ts_decodes_its_prefix(tmp_path, make_clip):
    clip = make_clip(tmp_path / "ok.ts", frames=250)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10 + 100])  # mid-packet
    frames, src = decode_all(cut)
    assert 100 < len(frames) < 250
    assert [f.time_s for f in frames] == [i / 25 for i in range(len(frames))]
    # MPEG-TS declares no length: only the half-received last picture is a known loss.
    # FFmpeg flags it corrupt reliably only without frame threading (a race otherwise).
    frames, src = decode_all(cut, threads=1)
    assert src.partial and src.gaps[-1].start_s == frames[-1].time_s
    assert "corrupt frame" in src.gaps[-1].reason


def test_truncated_mp4_without_faststart_is_unreadable(tmp_path, make_clip):
    clip = make_clip(tmp_path / "ok.mp4", frames=50)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # the index (moov) is at the end
    with pytest.raises(SourceUnreadable, match="cut.mp4"):
        open_source(cut)


# --- segments -------------------------------------------------------------------------


def test_segments_ordered_by_name_time_with_missing_hour(tmp_path, make_clip):
    # Name prefixes sort the other way round: the order must come from the times.
    make_clip(tmp_path / "b_20260101_120000.mp4", frames=20, rate=10)
    make_clip(tmp_path / "a_2026-01-01T12-00-10.mp4", frames=20, rate=10)
    make_clip(tmp_path / "c_20260101-130010.mp4", frames=20, rate=10)
    info = probe(tmp_path)
    assert info.kind == "segments" and [f.path.name[0] for f in info.files] == ["b", "a", "c"]
    frames, src = decode_all(tmp_path)
    assert [f.index for f in frames] == list(range(60))
    assert [f.segment for f in frames] == [0] * 20 + [1] * 20 + [2] * 20
    assert frames[20].time_s == 10.0 and frames[40].time_s == 3610.0
    assert frames[59].wallclock == datetime(2026, 1, 1, 13, 0, 11, 900000, tzinfo=UTC)
    # 2 s of video then nothing until 10 s; 12 s then nothing for an hour.
    assert [(g.start_s, g.end_s) for g in src.gaps] == [(1.9, 10.0), (11.9, 3610.0)]
    assert all("missing" in g.reason for g in src.gaps) and src.partial


def test_segments_without_times_follow_on_by_name(tmp_path, make_clip):
    for name in ("seg10.mp4", "seg2.mp4", "seg1.mp4"):
        make_clip(tmp_path / name, frames=10, rate=Fraction(30000, 1001))
    frames, src = decode_all(tmp_path)
    names = [src.info.files[f.segment].path.name for f in frames[::10]]
    assert names == ["seg1.mp4", "seg2.mp4", "seg10.mp4"]
    step = 1001 / 30000
    assert frames[10].time_s == pytest.approx(10 * step) and frames[29].time_s == pytest.approx(29 * step)
    assert src.gaps == [] and not src.partial


def test_unreadable_segment_is_a_gap_not_an_error(tmp_path, make_clip):
    make_clip(tmp_path / "cam_20260101_120000.mp4", frames=10, rate=10)
    (tmp_path / "cam_20260101_120001.mp4").write_text("garbage")
    make_clip(tmp_path / "cam_20260101_120002.mp4", frames=10, rate=10)
    frames, src = decode_all(tmp_path)
    assert len(frames) == 20 and src.partial
    assert [(g.start_s, g.end_s) for g in src.gaps] == [(0.9, 2.0)]
    assert "cam_20260101_120001.mp4" in src.gaps[0].reason


# --- image sequences ------------------------------------------------------------------


def save_jpeg(path: Path, when: str | None, subsec: str | None = None, value: int = 128) -> None:
    img = Image.new("RGB", (64, 48), (value, value // 2, 255 - value))
    exif = Image.Exif()
    if when:
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = when
        if subsec:
            ifd[0x9291] = subsec
    img.save(path, "JPEG", exif=exif)


def test_images_timed_by_exif_and_sorted_by_time(tmp_path):
    save_jpeg(tmp_path / "IMG_0001.jpg", "2026:03:01 10:00:05", "50", value=10)
    save_jpeg(tmp_path / "IMG_0002.jpg", "2026:03:01 10:00:00", value=200)
    save_jpeg(tmp_path / "IMG_0003.jpg", "2026:03:01 10:01:00", "25", value=100)
    frames, src = decode_all(tmp_path)
    assert src.info.kind == "images"
    assert [f.time_s for f in frames] == [0.0, 5.5, 60.25]
    assert frames[0].wallclock == datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
    names = [src.info.files[f.segment].path.name for f in frames]  # info.files is in time order
    assert names == ["IMG_0002.jpg", "IMG_0001.jpg", "IMG_0003.jpg"]
    assert frames[0].luma.shape == (48, 64) and frames[0].to_bgr().shape == (48, 64, 3)
    assert int(frames[0].luma.mean()) > int(frames[1].luma.mean())  # the bright one first


def test_images_timed_by_name_and_unreadable_ones_are_gaps(tmp_path):
    for k, s in enumerate(("00", "10", "20")):
        cv2.imwrite(str(tmp_path / f"trail_20260301_1000{s}.png"), np.full((30, 40), 60 * k, np.uint8))
    (tmp_path / "trail_20260301_100015.png").write_bytes(b"\x89PNG broken")
    frames, src = decode_all(tmp_path, image_reduce=2)
    assert [f.time_s for f in frames] == [0.0, 10.0, 20.0]
    assert frames[0].luma.shape == (15, 20)
    assert src.partial and [(g.start_s, g.end_s) for g in src.gaps] == [(10.0, 20.0)]


def test_untimed_image_is_refused_with_its_name(tmp_path):
    save_jpeg(tmp_path / "a.jpg", "2026:03:01 10:00:00")
    save_jpeg(tmp_path / "holiday.jpg", None)
    with pytest.raises(SourceUnreadable, match="cannot time image .*holiday.jpg"):
        open_source(tmp_path)


# --- pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,expected",
    [
        ("cam_20260101_120000.mp4", datetime(2026, 1, 1, 12, 0, 0)),
        ("2026-01-01T12-00-00.mkv", datetime(2026, 1, 1, 12, 0, 0)),
        ("x20260101-235959y.avi", datetime(2026, 1, 1, 23, 59, 59)),
        ("2026-01-01 12:30:00.500.mp4", datetime(2026, 1, 1, 12, 30, 0, 500000)),
        ("seg_0001.mp4", None),
        ("id_20261399_120000.mp4", None),  # month 13
        ("serial_120260101120000.mp4", None),  # digits run on
    ],
)
def test_time_from_name(name, expected):
    got = time_from_name(name)
    assert got == (expected.replace(tzinfo=UTC) if expected else None)


def test_exif_offset_is_honoured():
    got = parse_exif_time("2026:03:01 10:00:00", "123", "-05:00")
    assert got == datetime(2026, 3, 1, 15, 0, 0, 123000, tzinfo=UTC)


def test_gap_tracker_lets_buffered_frames_through_before_the_damage():
    gaps: list = []
    tr = GapTracker(gaps)
    tr.good(1.0)
    tr.trouble("bad packet", 1.5)
    tr.trouble("bad packet", 1.7)
    tr.good(1.2)  # reordered frame from before the damage: moves the start
    tr.good(1.6)  # inside the damaged span: does not close it
    tr.good(2.0)
    assert [(g.start_s, g.end_s) for g in gaps] == [(1.2, 2.0)]
    assert "bad packet x2" in gaps[0].reason


def test_probe_reads_headers_only(make_clip, tmp_path):
    clip = make_clip(tmp_path / "p.mkv", frames=40, size=(96, 64))
    info = probe(clip)
    assert (info.kind, info.width, info.height, info.fps) == ("video", 96, 64, Fraction(25))
    assert info.files[0].codec == "h264" and info.duration_s == pytest.approx(1.6)
    assert info.files[0].size == clip.stat().st_size


@pytest.mark.parametrize(("threads", "thread_type", "lag"), [(1, "AUTO", 0), (2, "AUTO", 1), (4, "AUTO", 3), (4, "SLICE", 0)])
def test_decode_errors_lag_by_the_frame_threads(tmp_path, make_clip, threads, thread_type, lag):
    # With frame threading FFmpeg reports a packet's error thread_count - 1 sends later;
    # the source dates errors by their own packet (see test_synth_faults for the gaps).
    from borderwatch.io.video import error_lag

    clip = make_clip(tmp_path / "c.mp4", frames=5)
    with av.open(str(clip)) as c:
        cc = c.streams.video[0].codec_context
        cc.thread_type = thread_type
        cc.thread_count = threads
        assert error_lag(cc) == lag
