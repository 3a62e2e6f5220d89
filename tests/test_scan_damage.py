"""`borderwatch scan` on damaged sources and when the scan dies: never a result that looks
complete when it is not, and never a traceback for damaged input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borderwatch.cli import main
from borderwatch.scan.pipeline import Scanner
from test_scan_cli import records, remux, scan, summary

DECL_END = 10.0  # the generated clip's declared duration


@pytest.fixture(scope="module")
def clip(scene_clip) -> Path:
    """back_and_forth, seed 0: A->B at frame 125 (5.0 s) and B->A at frame 209 of 250."""
    return scene_clip("back_and_forth")


LINE = "0.0,0.54 0.5,0.48 1.0,0.52"


@pytest.fixture(scope="module")
def faststart(clip, tmp_path_factory) -> Path:
    return remux(clip, tmp_path_factory.mktemp("fast") / "fast.mp4", faststart=True)


def test_truncated_faststart_mp4_is_partial_and_keeps_earlier_crossings(capsys, tmp_path, faststart):
    data = faststart.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 8 // 10])
    rc, out, err = scan(capsys, cut, "--line", LINE, "--out", tmp_path / "o")
    assert rc == 3, err
    assert "Traceback" not in err
    s = summary(tmp_path / "o")
    assert s["status"] == "partial" and s["partial"] is True
    assert s["undecodable"] and s["undecodable"][-1]["end_s"] == pytest.approx(DECL_END)
    assert "truncated" in s["undecodable"][-1]["reason"]
    assert 125 < s["frames_decoded"] < 250
    recs = records(tmp_path / "o")
    assert [(r["from_side"], r["to_side"]) for r in recs] == [("A", "B")]  # the one before the cut
    assert abs(recs[0]["frame"] - 125) <= 3


def test_truncated_mpegts_is_partial(capsys, tmp_path, clip):
    data = remux(clip, tmp_path / "full.ts", fmt="mpegts").read_bytes()
    for pct in (60, 70):
        cut = tmp_path / f"cut{pct}.ts"
        cut.write_bytes(data[: len(data) * pct // 100 + 100])  # mid-packet
        rc, _, err = scan(capsys, cut, "--line", LINE, "--out", tmp_path / f"o{pct}")
        assert "Traceback" not in err
        s = summary(tmp_path / f"o{pct}")
        assert [(r["from_side"], r["to_side"]) for r in records(tmp_path / f"o{pct}")] == [("A", "B")]
        assert (rc, s["status"]) == (3, "partial") and s["undecodable"], pct


def test_truncated_mpegts_never_crashes_and_keeps_crossings(capsys, tmp_path, clip):
    data = remux(clip, tmp_path / "full.ts", fmt="mpegts").read_bytes()
    for pct in (50, 60, 70):
        cut = tmp_path / f"cut{pct}.ts"
        cut.write_bytes(data[: len(data) * pct // 100 + 100])
        rc, _, err = scan(capsys, cut, "--line", LINE, "--out", tmp_path / f"o{pct}")
        s = summary(tmp_path / f"o{pct}")
        assert rc in (0, 3) and "Traceback" not in err
        assert (rc == 3) == (s["status"] == "partial") == bool(s["undecodable"])
        assert s["frames_decoded"] < 250
        expect = [("A", "B")] if s["frames_decoded"] > 130 else []
        assert [(r["from_side"], r["to_side"]) for r in records(tmp_path / f"o{pct}")] == expect


def _garbage(faststart: Path, tmp_path: Path) -> Path:
    data = bytearray(faststart.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 4000] = bytes((i * 37 + 11) % 256 for i in range(4000))
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(bytes(data))
    return bad


def test_garbage_in_the_middle_of_a_faststart_mp4(capsys, tmp_path, faststart):
    rc, out, err = scan(capsys, _garbage(faststart, tmp_path), "--line", LINE, "--out", tmp_path / "o")
    assert rc in (0, 3) and "Traceback" not in err
    s = summary(tmp_path / "o")
    assert (rc == 3) == (s["status"] == "partial") == bool(s["undecodable"])
    for g in s["undecodable"]:
        assert 0 <= g["start_s"] < g["end_s"] <= DECL_END and g["reason"]
    events = (tmp_path / "o" / "events.jsonl").read_text()
    assert events.count('"decode_gap"') == len(s["undecodable"])  # every gap is also an event
    assert 0 < s["frames_decoded"] < 250


def test_crossing_across_undecodable_span_is_inferred(capsys, tmp_path, faststart):
    rc, _, _ = scan(capsys, _garbage(faststart, tmp_path), "--line", LINE, "--out", tmp_path / "o")
    gaps = summary(tmp_path / "o")["undecodable"]
    inside = [
        r for r in records(tmp_path / "o")
        if any(g["start_s"] < r["time_estimate_s"] < g["end_s"] for g in gaps)
    ]
    assert inside, "the damage no longer hides a crossing: choose another cut"
    assert all(r["inferred"] for r in inside), inside


# --- the scan dies -----------------------------------------------------------------------


def _die_at(monkeypatch, index: int, exc: BaseException, seen: list[str], out_dir: Path) -> None:
    """Make the scan raise ``exc`` when it analyses frame ``index`` or a later one."""
    real = Scanner.analyse

    def analyse(self, frame, gaps, small=None):  # type: ignore[no-untyped-def]
        if self.frames_analysed == 5:
            seen.append(summary(out_dir)["status"])  # what a reader sees mid-scan
        if frame.index >= index:
            raise exc
        return real(self, frame, gaps, small)

    monkeypatch.setattr(Scanner, "analyse", analyse)


def test_crash_mid_scan_never_looks_complete(capsys, monkeypatch, tmp_path, clip):
    out_dir = tmp_path / "o"
    seen: list[str] = []
    _die_at(monkeypatch, 160, RuntimeError("simulated crash"), seen, out_dir)
    with pytest.raises(RuntimeError, match="simulated crash"):
        scan(capsys, clip, "--line", LINE, "--out", out_dir)
    assert seen == ["running"]
    s = summary(out_dir)
    assert s["status"] in ("failed", "running") and s.get("partial", True) is True
    assert s["frames_decoded"] < 250
    # Crossings decided before the crash are on disk.
    assert [(r["from_side"], r["to_side"]) for r in records(out_dir)] == [("A", "B")]


def test_interrupt_mid_scan(capsys, monkeypatch, tmp_path, clip):
    out_dir = tmp_path / "o"
    _die_at(monkeypatch, 40, KeyboardInterrupt(), [], out_dir)
    rc, _, err = scan(capsys, clip, "--line", LINE, "--out", out_dir)
    assert rc == 130 and "Traceback" not in err
    s = summary(out_dir)
    assert s["status"] == "interrupted" and s["partial"] is True
    # What was scanned is still accounted for and sealed: coverage up to the stop, and a
    # ledger that ends with an "interrupted" end record and verifies.
    assert s["coverage"]["duration_s"] == pytest.approx(s["duration_s"] + 0.04, abs=0.05)
    ledger = [json.loads(x) for x in (out_dir / "ledger.jsonl").read_text().splitlines()]
    assert ledger[-1]["kind"] == "end" and ledger[-1]["data"]["status"] == "interrupted"
    assert main(["ledger", "verify", str(out_dir)]) == 0
    capsys.readouterr()


def test_crash_leaves_a_sealed_ledger_that_says_failed(capsys, monkeypatch, tmp_path, clip):
    out_dir = tmp_path / "o"
    _die_at(monkeypatch, 60, RuntimeError("simulated crash"), [], out_dir)
    with pytest.raises(RuntimeError):
        scan(capsys, clip, "--line", LINE, "--out", out_dir)
    ledger = [json.loads(x) for x in (out_dir / "ledger.jsonl").read_text().splitlines()]
    assert ledger[-1]["data"]["status"] == "failed"
    assert main(["ledger", "verify", str(out_dir)]) == 0
    capsys.readouterr()


def test_interrupt_says_so(capsys, monkeypatch, tmp_path, clip):
    _die_at(monkeypatch, 40, KeyboardInterrupt(), [], tmp_path / "o")
    rc, _, err = scan(capsys, clip, "--line", LINE, "--out", tmp_path / "o")
    assert rc == 130 and err.strip() == "borderwatch: interrupted"
