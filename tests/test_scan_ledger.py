"""The ledger a real scan writes: it verifies, and every mutation of it, or of the
footage, is caught and located (the mutations are generated)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import pytest

from borderwatch.cli import main
from borderwatch.ledger import verify_chain

LINE = "0,0.54 0.5,0.48 1,0.52"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """6 s of the synth walk scene as H.264 with a GOP per second, scanned."""
    from borderwatch.synth import Renderer, preset

    base = tmp_path_factory.mktemp("scanledger")
    clip = base / "walk.mp4"
    spec = preset("walk", 1, duration_s=6, width=320, height=180)
    with av.open(str(clip), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        s.options = {"g": "25", "keyint_min": "25", "threads": "1", "preset": "veryfast"}
        for i, img in enumerate(Renderer(spec).frames()):
            fr = av.VideoFrame.from_ndarray(img, format="bgr24")
            fr.pts, fr.time_base = i, Fraction(1, 25)
            out.mux(s.encode(fr))
        out.mux(s.encode(None))
    scan = base / "scan"
    assert main(["scan", str(clip), "--line", LINE, "--out", str(scan), "--bucket", "2", "--json"]) == 0
    return clip, scan


def _lines(scan: Path) -> list[str]:
    return (scan / "ledger.jsonl").read_text().splitlines()


def test_scan_ledger_holds_every_record_and_verifies(scanned, capsys):
    clip, scan = scanned
    capsys.readouterr()
    recs = [json.loads(s) for s in _lines(scan)]
    kinds = [r["kind"] for r in recs]
    assert kinds[0] == "scan" and kinds[-1] == "end" and kinds.count("source") == 1
    assert kinds.count("gop") == 6
    assert kinds.count("bucket") == len((scan / "coverage.jsonl").read_text().splitlines()) == 3
    assert kinds.count("crossing") == len((scan / "crossings.jsonl").read_text().splitlines()) >= 1
    summary = json.loads((scan / "summary.json").read_text())
    assert summary["ledger"]["head"] == recs[-1]["hash"] and summary["ledger"]["records"] == len(recs)
    assert recs[-1]["data"]["status"] == "complete"
    assert main(["ledger", "verify", str(scan), "--source", str(clip)]) == 0
    assert "6 of 6 GOPs" in capsys.readouterr().out


def _mutants(lines: list[str]):
    """(description, seq that must be blamed, mutated lines) for every record."""
    for i, line in enumerate(lines):
        rec = json.loads(line)
        edited = dict(rec, data={**rec["data"], "tampered": True})
        yield f"edit {i}", i, lines[:i] + [json.dumps(edited)] + lines[i + 1 :]
        yield f"delete {i}", i, lines[:i] + lines[i + 1 :]
        if i + 1 < len(lines):
            yield f"swap {i}", i, lines[:i] + [lines[i + 1], line] + lines[i + 2 :]


def test_every_edit_delete_and_swap_of_a_scan_ledger_is_located(scanned, tmp_path):
    _, scan = scanned
    lines = _lines(scan)
    head = json.loads((scan / "summary.json").read_text())["ledger"]["head"]
    n = 0
    for what, seq, mutated in _mutants(lines):
        path = tmp_path / "ledger.jsonl"
        path.write_text("\n".join(mutated) + "\n")
        report = verify_chain(path, expected_head=head)
        assert not report.ok, what
        blamed = {p.seq for p in report.problems}
        # A swap is blamed on one of the two records it moved; a deletion on the record
        # gone (the next one no longer links) or, at the end, on the missing end record.
        assert seq in blamed or seq + 1 in blamed or (what.startswith("delete") and seq == len(lines) - 1), (what, report.problems)
        n += 1
    assert n == 3 * len(lines) - 1


def _remux_without_gop(src: Path, dst: Path, gop: int) -> None:
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        g = -1
        for pk in inp.demux(s_in):
            if not pk.size:
                continue
            g += bool(pk.is_keyframe)
            if g == gop:
                continue
            pk.stream = s_out
            out.mux(pk)


@pytest.mark.parametrize("gop", range(1, 6))
def test_cutting_any_gop_from_the_source_is_located(scanned, tmp_path, capsys, gop):
    # The first GOP is left out: cutting it moves the file's time origin, which is
    # reported as every later GOP shifted (tests/test_ledger.py covers that case).
    clip, scan = scanned
    cut = tmp_path / "cut.mp4"
    _remux_without_gop(clip, cut, gop)
    capsys.readouterr()
    assert main(["ledger", "verify", str(scan), "--source", str(cut), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    missing = [m for m in verdict["sources"][0]["mismatches"] if m["kind"] == "missing"]
    assert [m["gop"] for m in missing] == [gop]
    assert missing[0]["start_s"] == pytest.approx(float(gop)) and missing[0]["end_s"] == pytest.approx(gop + 1.0)
