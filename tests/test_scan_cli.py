"""`borderwatch scan` as a user meets it: bad input, config files, outputs, damage, crashes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import av
import cv2
import pytest

import borderwatch
from borderwatch.cli import main

REQUIRED = {"id", "time_s", "wallclock", "frame", "line", "from_side", "to_side", "track_id", "label", "score", "inferred"}


@pytest.fixture(scope="module")
def clip(scene_clip) -> Path:
    """back_and_forth, seed 0: A->B at frame 125 and B->A at frame 209 of 250."""
    return scene_clip("back_and_forth")


@pytest.fixture(scope="module")
def truth(clip) -> dict[str, Any]:
    return json.loads(clip.with_suffix(".truth.json").read_text())


@pytest.fixture(scope="module")
def line(truth) -> str:
    """The scene's line: a 3-point polyline, exactly as `scan --line` takes it."""
    pts = truth["spec"]["line"]["points"]
    assert len(pts) == 3
    return " ".join(f"{x},{y}" for x, y in pts)


def scan(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["scan", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def records(out_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(s) for s in (out_dir / "crossings.jsonl").read_text().splitlines() if s.strip()]


def summary(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / "summary.json").read_text())


def remux(src: Path, dst: Path, fmt: str | None = None, faststart: bool = False) -> Path:
    """Copy the packets of ``src`` into another container (no re-encoding)."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt, options=options) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dst


def assert_one_error_line(rc: int, err: str, fragment: str = "") -> None:
    assert rc == 2, err
    assert err.startswith("borderwatch: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and fragment in err, err


# --- bad input: one line on stderr, exit 2 -------------------------------------------------


@pytest.fixture
def junk(tmp_path) -> Path:
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "text.mp4").write_text("this is not a video\n")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "a_file").write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    "source,args,fragment",
    [
        ("missing.mp4", ["--line", "0,0.5 1,0.5"], "missing.mp4"),
        ("empty_dir", ["--line", "0,0.5 1,0.5"], "empty_dir"),
        ("text.mp4", ["--line", "0,0.5 1,0.5"], "text.mp4"),
        ("empty.mp4", ["--line", "0,0.5 1,0.5"], "empty.mp4"),
        ("CLIP", ["--line", "0,0.5 1.5,0.5"], "[0, 1]"),
        ("CLIP", ["--line", "0,90 400,90", "--px"], "outside the 320x180 frame"),
        ("CLIP", ["--line", "0.5,0.5 0.5,0.5"], "zero length"),
        ("CLIP", ["--line", "0.5,0.5"], "at least two points"),
        ("CLIP", ["--line", "a,b c,d"], "not numbers"),
        ("CLIP", ["--line", "0,0.5,1 1,0.5"], "expected X,Y"),
        ("CLIP", ["--line", "nan,0.5 1,0.5"], "finite"),
        ("CLIP", ["--line", "0,0.5 1,0.5", "--sides", "US"], "two names"),
        ("CLIP", ["--line", "0,0.5 1,0.5", "--sides", "US,US"], "distinct"),
        ("CLIP", ["--line", "0,0.5 1,0.5", "--sides", ",CA"], "non-empty"),
        ("CLIP", [], "no line given"),
        ("CLIP", ["--line", "0,0.5 1,0.5", "--strip", "0.7"], "strip_frac"),
        ("CLIP", ["--line", "0,0.5 1,0.5", "--detector", "no/such/model.cfg"], "model.cfg"),
        ("CLIP", ["--config", "no/such/site.toml"], "site.toml"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, junk, clip, source, args, fragment):
    src = clip if source == "CLIP" else junk / source
    rc, out, err = scan(capsys, src, *args, "--out", junk / "out")
    assert_one_error_line(rc, err, fragment)
    assert "Value error" not in err


@pytest.mark.parametrize("out", ["a_file/sub", "a_file"])
def test_unwritable_output_directory(capsys, junk, clip, out):
    rc, _, err = scan(capsys, clip, "--line", "0,0.5 1,0.5", "--out", junk / out)
    assert_one_error_line(rc, err, "cannot write to output directory")


@pytest.mark.parametrize("name", ["missing.mp4", "text.mp4"])
def test_no_traceback_reaches_the_user(junk, name):
    proc = subprocess.run(
        [sys.executable, "-m", "borderwatch", "scan", str(junk / name), "--line", "0,0.5 1,0.5", "--out", str(junk / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_error_line(proc.returncode, proc.stderr, name)
    assert proc.stdout == ""


# --- config files -------------------------------------------------------------------------

TOML = """\
[[lines]]
name = "gate"
points = [[0.0, 0.54], [0.5, 0.48], [1.0, 0.52]]
sides = ["US", "CA"]

[[lines]]
name = "left"
points = [[0.0, 0.54], [0.25, 0.51]]

[cross]
strip_frac = 0.02
"""

YAML = """\
lines:
  - name: gate
    points: [[0.0, 0.54], [0.5, 0.48], [1.0, 0.52]]
    sides: [US, CA]
  - name: left
    points: [[0.0, 0.54], [0.25, 0.51]]
cross:
  strip_frac: 0.02
"""


@pytest.mark.parametrize("name,text", [("site.toml", TOML), ("site.yaml", YAML)])
def test_config_file_lines_and_settings(capsys, tmp_path, clip, name, text):
    cfg = tmp_path / name
    cfg.write_text(text)
    rc, _, err = scan(capsys, clip, "--config", cfg, "--out", tmp_path / "o")
    assert rc == 0, err
    s = summary(tmp_path / "o")
    assert [ln["name"] for ln in s["lines"]] == ["gate", "left"]
    assert s["settings"]["cross"]["strip_frac"] == 0.02
    assert s["counts"]["gate"]["by_direction"] == {"US->CA": 1, "CA->US": 1}
    assert s["counts"]["left"]["total"] == 0  # the actor crosses at x = 0.67 of the width


@pytest.mark.parametrize(
    "name,text,fragment",
    [
        ("top.toml", TOML + "colour = 'red'\n", "colour"),
        ("nested.toml", TOML.replace("strip_frac", "strip_fra"), "cross.strip_fra"),
        ("nested.yaml", YAML.replace("    sides: [US, CA]", "    sides: [US, CA]\n    colour: red"), "lines.0.colour"),
        ("broken.toml", TOML.replace("]]\nsides", "]\nsides"), "broken.toml:"),
        ("broken.yaml", YAML.replace("  - name: left", " - name: left"), "broken.yaml:"),
    ],
)
def test_bad_config_file(capsys, tmp_path, clip, name, text, fragment):
    cfg = tmp_path / name
    cfg.write_text(text)
    rc, _, err = scan(capsys, clip, "--config", cfg, "--out", tmp_path / "o")
    assert_one_error_line(rc, err, fragment)
    assert name in err


# --- outputs ------------------------------------------------------------------------------


def test_outputs_of_a_clean_scan(capsys, tmp_path, clip, truth, line):
    out_dir = tmp_path / "o"
    rc, out, err = scan(capsys, clip, "--line", line, "--out", out_dir, "--json")
    assert rc == 0, err
    s = summary(out_dir)
    assert json.loads(out) == s  # --json prints exactly summary.json
    recs = records(out_dir)
    assert all(REQUIRED <= set(r) for r in recs)
    assert [r["id"] for r in recs] == list(range(1, len(recs) + 1))
    assert sorted((r["from_side"], r["to_side"]) for r in recs) == sorted(
        (c["from_side"], c["to_side"]) for c in truth["crossings"]
    )
    assert s["status"] == "complete" and s["partial"] is False and s["undecodable"] == []
    with av.open(str(clip)) as c:
        assert s["frames_decoded"] == c.streams.video[0].frames == 250
    assert s["duration_s"] == pytest.approx(9.96, abs=0.05)
    assert s["software"]["version"] == borderwatch.__version__
    assert s["settings"]["lines"][0]["points"] == [list(p) for p in truth["spec"]["line"]["points"]]
    by_dir = Counter(f"{r['from_side']}->{r['to_side']}" for r in recs)
    assert s["counts"]["border"]["by_direction"] == {"A->B": by_dir["A->B"], "B->A": by_dir["B->A"]}
    assert s["crossings"] == s["counts"]["border"]["total"] == len(recs)
    for r in recs:
        img = cv2.imread(str(out_dir / r["snapshot"]))
        assert img is not None and img.shape[:2] == (180, 320)
    assert len(list((out_dir / "snapshots").glob("*.jpg"))) == len(recs)


def assert_frames_match_truth(out_dir: Path, truth: dict[str, Any]) -> None:
    got = sorted((r["frame"], r["from_side"]) for r in records(out_dir))
    want = sorted((c["frame"], c["from_side"]) for c in truth["crossings"])
    assert len(got) == len(want)
    for (gf, gs), (wf, ws) in zip(got, want):
        assert gs == ws and abs(gf - wf) <= 3


def test_crossing_frames_match_truth(capsys, tmp_path, clip, truth, line):
    rc, _, _ = scan(capsys, clip, "--line", line, "--out", tmp_path / "o")
    assert rc == 0
    assert_frames_match_truth(tmp_path / "o", truth)


def test_fast_decode_is_recorded_and_finds_the_same_crossings(capsys, tmp_path, clip, truth, line):
    rc, _, _ = scan(capsys, clip, "--line", line, "--out", tmp_path / "o", "--fast-decode")
    assert rc == 0
    assert summary(tmp_path / "o")["settings"]["fast_decode"] is True
    assert_frames_match_truth(tmp_path / "o", truth)
    rc, _, _ = scan(capsys, clip, "--line", line, "--out", tmp_path / "exact")
    assert summary(tmp_path / "exact")["settings"]["fast_decode"] is False


def test_side_names_appear_in_records(capsys, tmp_path, clip, line):
    rc, _, _ = scan(capsys, clip, "--line", line, "--sides", "US,CA", "--out", tmp_path / "o", "--no-snapshots")
    assert rc == 0
    recs = records(tmp_path / "o")
    assert {(r["from_side"], r["to_side"]) for r in recs} == {("US", "CA"), ("CA", "US")}
    assert {r["direction"] for r in recs} == {"US->CA", "CA->US"}
    assert all(r["snapshot"] is None for r in recs) and not list((tmp_path / "o").glob("snapshots/*.jpg"))
    assert summary(tmp_path / "o")["counts"]["border"]["by_direction"] == {"US->CA": 1, "CA->US": 1}


def test_two_lines_are_counted_independently(capsys, tmp_path, clip, line):
    # The actor crosses at about x = 0.67 of the width: inside line 1, outside line 2.
    rc, out, _ = scan(capsys, clip, "--line", line, "--line", "0,0.54 0.25,0.51", "--out", tmp_path / "o", "--json")
    assert rc == 0
    s = json.loads(out)
    assert [ln["name"] for ln in s["lines"]] == ["border", "border2"]
    assert s["counts"]["border"]["total"] == 2 and s["counts"]["border2"]["total"] == 0
    assert {r["line"] for r in records(tmp_path / "o")} == {"border"}
    # The same line twice, reversed the second time: both count, with sides swapped.
    rev = " ".join(reversed(line.split()))
    rc, out, _ = scan(capsys, clip, "--line", line, "--line", rev, "--out", tmp_path / "r", "--json")
    s = json.loads(out)
    assert s["counts"]["border"]["by_direction"] == {"A->B": 1, "B->A": 1}
    assert s["counts"]["border2"]["by_direction"] == {"A->B": 1, "B->A": 1}
    recs = records(tmp_path / "r")
    for name in ("border", "border2"):
        assert [r["frame"] for r in recs if r["line"] == name] == sorted(r["frame"] for r in recs if r["line"] == name)
    first = {r["line"]: r for r in recs if r["frame"] < 170}
    assert first["border"]["direction"] == "A->B" and first["border2"]["direction"] == "B->A"


def test_rescan_into_the_same_directory_replaces_old_records(capsys, tmp_path, clip, line):
    out_dir = tmp_path / "o"
    scan(capsys, clip, "--line", line, "--out", out_dir)
    scan(capsys, clip, "--line", "0,0.05 0.1,0.05", "--out", out_dir)  # nothing crosses this
    assert records(out_dir) == [] and summary(out_dir)["crossings"] == 0
    assert not list((out_dir / "snapshots").glob("*.jpg"))


def test_wallclock_comes_from_the_recording_start(capsys, tmp_path, scene_clip):
    # synth records its camera clock (2026-01-01 12:00:00 UTC) as the MP4 creation_time.
    from datetime import datetime, timedelta, timezone

    clip = scene_clip("walk", 0)
    rc = main(["scan", str(clip), "--line", "0,0.54 0.5,0.48 1,0.52", "--out", str(tmp_path / "o")])
    capsys.readouterr()
    assert rc == 0
    recs = [json.loads(x) for x in (tmp_path / "o" / "crossings.jsonl").read_text().splitlines()]
    assert recs
    start = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    for r in recs:
        assert datetime.fromisoformat(r["wallclock"]) == start + timedelta(seconds=r["time_s"])


def test_demo_runs_and_states_its_coverage(capsys, tmp_path):
    # The README's first command: generate, scan, compare with the truth, state coverage.
    from borderwatch.cli import main

    assert main(["demo", "--out", str(tmp_path), "--duration", "6", "--preset", "walk"]) == 0
    out = capsys.readouterr().out
    assert "recall" in out and "coverage" in out and "observable time" in out
    assert (tmp_path / "scan" / "ledger.jsonl").exists() and (tmp_path / "scan" / "coverage.jsonl").exists()


def test_tracks_record_every_crossing_track_around_its_crossing(capsys, clip, line, tmp_path):
    from borderwatch.cli import main

    assert main(["scan", str(clip), "--line", line, "--out", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    crossings = [json.loads(s) for s in (tmp_path / "crossings.jsonl").read_text().splitlines()]
    tracks: dict[int, list[list[float]]] = {}
    for s in (tmp_path / "tracks.jsonl").read_text().splitlines():
        rec = json.loads(s)
        tracks.setdefault(rec["track_id"], []).extend(rec["boxes"])
    assert crossings
    for c in crossings:
        boxes = tracks[c["track_id"]]
        times = [b[0] for b in boxes]
        assert times == sorted(times) and all(len(b) == 5 for b in boxes)
        # The track is recorded on both sides of its crossing, frame by frame near it.
        assert min(times) < c["time_s"] - 0.2 and max(times) > c["time_s"] + 0.2
        assert min(abs(t - c["time_s"]) for t in times) <= 0.04 + 1e-6


def test_console_script_gives_the_same_result_as_main(capsys, clip, line, junk):
    """`python -m borderwatch` runs with the console script's process settings
    (borderwatch/cli/runtime.py); they must not change what a scan finds."""
    rc, _, _ = scan(capsys, clip, "--line", line, "--out", junk / "in-process")
    proc = subprocess.run(
        [sys.executable, "-m", "borderwatch", "scan", str(clip), "--line", line, "--out", str(junk / "console"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rc == 0 and proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"] == summary(junk / "in-process")["counts"]
    keys = ("frame", "time_s", "from_side", "to_side", "inferred")
    a = [{k: r[k] for k in keys} for r in records(junk / "in-process")]
    b = [{k: r[k] for k in keys} for r in records(junk / "console")]
    assert len(a) == 2 and a == b


def test_decoder_threads_do_not_change_the_result(capsys, clip, line, junk):
    """A scan decodes with `scan_threads()` FFmpeg threads unless told otherwise, and
    FFmpeg's frame threading is bit-exact: one thread finds the same crossings."""
    from borderwatch.io.video import scan_threads

    assert scan_threads() >= 4
    rc1, _, _ = scan(capsys, clip, "--line", line, "--out", junk / "default")
    rc2, _, _ = scan(capsys, clip, "--line", line, "--out", junk / "one", "--threads", "1")
    assert rc1 == rc2 == 0
    assert summary(junk / "default")["processing"]["threads"] == scan_threads()
    assert summary(junk / "one")["processing"]["threads"] == 1
    keys = ("frame", "time_s", "from_side", "to_side", "inferred", "track_id")
    assert [{k: r[k] for k in keys} for r in records(junk / "default")] == [
        {k: r[k] for k in keys} for r in records(junk / "one")
    ]
