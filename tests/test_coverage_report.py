"""`borderwatch coverage` and its helpers, on hand-made scan folders written to the
contract of docs/coverage.md (summary.json's ``coverage`` block, coverage.jsonl,
crossings.jsonl), plus Hypothesis properties of the interval helpers."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from borderwatch.cli import main
from borderwatch.coverage import intervals as iv
from borderwatch.coverage.report import (
    ScanDirError,
    fmt_clock,
    fmt_duration,
    load_account,
    render_png,
    render_text,
    statements,
    to_dict,
)

W0 = "2026-01-01T12:00:00+00:00"


# --- hand-made scan folders ------------------------------------------------------------


def _bucket_records(
    duration: float, bucket_s: float, impaired: Sequence[dict[str, Any]], wallclock: str | None
) -> list[dict[str, Any]]:
    """coverage.jsonl records exactly as the contract describes them."""
    w0 = datetime.fromisoformat(wallclock) if wallclock else None
    n = math.ceil(duration / bucket_s - 1e-9)
    # The intervals touching each bucket (a day of buckets stays quick to write).
    near: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for r in impaired:
        for k in range(int(r["start_s"] // bucket_s), min(n, math.ceil(r["end_s"] / bucket_s))):
            near[k].append(r)
    out = []
    for k in range(n):
        s, e = k * bucket_s, min((k + 1) * bucket_s, duration)
        by_cause: dict[str, list[tuple[float, float]]] = {}
        for r in near[k]:
            by_cause.setdefault(r["cause"], []).append((r["start_s"], r["end_s"]))
        imp = {c: iv.intersection_length(spans, [(s, e)]) for c, spans in by_cause.items()}
        imp = {c: round(v, 6) for c, v in sorted(imp.items(), key=lambda kv: -kv[1]) if v > 0}
        union = iv.intersection_length([(r["start_s"], r["end_s"]) for r in near[k]], [(s, e)])
        out.append({
            "start_s": s, "end_s": e,
            "wallclock_start": (w0 + timedelta(seconds=s)).isoformat() if w0 else None,
            "frames_expected": round((e - s) * 25), "frames_decoded": round((e - s) * 25), "samples": 20,
            "state": "impaired" if imp else "observable", "causes": list(imp),
            "observable_s": round((e - s) - union, 6), "impaired_s": imp,
            "signals": {"mean_luma": 112.4, "dark_frac": 0.0, "clipped_frac": 0.0,
                        "sharpness": 1.02, "shift_px": 0.3, "change": 2.1},
        })  # fmt: skip
    return out


def _coverage_block(duration: float, bucket_s: float, impaired: Sequence[dict[str, Any]]) -> dict[str, Any]:
    spans = [(r["start_s"], r["end_s"]) for r in impaired]
    causes = sorted({r["cause"] for r in impaired})
    union = iv.union_length(spans)
    return {
        "bucket_s": bucket_s,
        "duration_s": duration,
        "observable_s": duration - union,
        "impaired_s": union,
        "impaired_by_cause_s": {
            c: iv.union_length([(r["start_s"], r["end_s"]) for r in impaired if r["cause"] == c]) for c in causes
        },
        "impaired_intervals": list(impaired),
        "thresholds": {"dark_frac": 0.9},
    }


def crossing(
    t: float, direction: str = "US->CA", line: str = "border", id: int = 0, wallclock: str | None = None
) -> dict[str, Any]:
    a, b = direction.split("->")
    wc = (datetime.fromisoformat(wallclock) + timedelta(seconds=t)).isoformat() if wallclock else None
    return {
        "id": id, "time_s": t, "frame": int(t * 25), "line": line, "from_side": a, "to_side": b, "track_id": id,
        "label": "person", "score": 0.9, "inferred": False, "wallclock": wc, "time_estimate_s": t - 0.01,
        "snapshot": None, "point": [10.0, 20.0], "direction": direction,
    }  # fmt: skip


def make_scan(
    root: Path,
    *,
    duration: float = 600.0,
    bucket_s: float = 10.0,
    impaired: Sequence[dict[str, Any]] = (),
    crossings: Sequence[dict[str, Any]] = (),
    status: str = "complete",
    wallclock: str | None = None,
    lines: Sequence[tuple[str, tuple[str, str]]] = (("border", ("US", "CA")),),
    with_coverage: bool = True,
    with_buckets: bool = True,
    undecodable: Sequence[tuple[float, float]] = (),
    expected_duration: float | None = None,
    summary_extra: dict[str, Any] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "status": status,
        "partial": status != "complete",
        "software": {"name": "borderwatch", "version": "0.1.0"},
        "source": {
            "path": "/data/gate.mp4", "kind": "video", "files": ["/data/gate.mp4"], "width": 1280, "height": 720,
            "fps": "25/1", "wallclock_start": wallclock, "expected_duration_s": expected_duration or duration,
        },
        "frames_decoded": int(duration * 25),
        "frames_analysed": int(duration * 25),
        "duration_s": duration,
        "undecodable": [{"start_s": s, "end_s": e, "reason": "corrupt", "segment": 0} for s, e in undecodable],
        "undecodable_s": sum(e - s for s, e in undecodable),
        "lines": [{"name": n, "sides": list(sd), "points_px": [[0, 0], [1, 1]]} for n, sd in lines],
        "crossings": len(crossings),
    }  # fmt: skip
    if with_coverage:
        summary["coverage"] = _coverage_block(duration, bucket_s, impaired)
    summary.update(summary_extra or {})
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    if with_buckets:
        recs = _bucket_records(duration, bucket_s, impaired, wallclock)
        (root / "coverage.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (root / "crossings.jsonl").write_text("".join(json.dumps(c) + "\n" for c in crossings))
    return root


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    rc = main(["coverage", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [s for s in err.splitlines() if s.strip()]
    assert len(lines) == 1, err
    return lines[0]


# --- the statements --------------------------------------------------------------------


def test_no_crossings_no_impairment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = make_scan(tmp_path / "scan")
    acc = load_account(d)
    assert acc.coverage_known and acc.observable_s == 600.0 and acc.impaired_s == 0.0
    (st_,) = statements(acc)
    assert st_.kind == "absence" and st_.line == "border"
    assert st_.text == (
        "No crossings detected on line border during 10 min of observable time "
        "between 0:00:00 and 0:10:00 of source time; no impaired time."
    )
    rc, out, err = run(capsys, d)
    assert rc == 0 and err == ""
    assert st_.text in out
    assert "observable  10 min (100.0 % of the span)" in out
    assert "Impaired intervals (merged per cause): 0" in out
    assert (d / "coverage.png").stat().st_size > 0


def test_two_causes_back_to_back_as_in_the_brief(tmp_path: Path) -> None:
    imp = [
        {"cause": "frozen", "start_s": 600.0, "end_s": 1200.0},
        {"cause": "lost", "start_s": 1200.0, "end_s": 1350.0},
    ]
    acc = load_account(make_scan(tmp_path, duration=3600.0, impaired=imp, wallclock=W0))
    (st_,) = statements(acc)
    assert st_.text == (
        "No crossings detected on line border during 47 min 30 s of observable time between "
        "2026-01-01 12:00:00+00:00 and 2026-01-01 13:00:00+00:00; "
        "impaired: 12 min 30 s (frozen 10 min, lost 2 min 30 s)."
    )


def test_overlapping_causes_count_once(tmp_path: Path) -> None:
    # frozen 10:00-20:00 and lost 17:30-22:30 overlap by 2 min 30 s; the union is 12:30.
    imp = [
        {"cause": "frozen", "start_s": 600.0, "end_s": 900.0},
        {"cause": "lost", "start_s": 1050.0, "end_s": 1350.0},
        {"cause": "frozen", "start_s": 880.0, "end_s": 1200.0},  # overlaps the first: merged per cause
    ]
    d = make_scan(tmp_path, duration=3600.0, impaired=imp, wallclock=W0)
    acc = load_account(d)
    assert acc.impaired_s == pytest.approx(750.0)
    assert acc.observable_s == pytest.approx(2850.0)
    assert [(r.cause, r.start_s, r.end_s) for r in acc.impaired_intervals] == [
        ("frozen", 600.0, 1200.0),
        ("lost", 1050.0, 1350.0),
    ]
    (st_,) = statements(acc)
    assert st_.kind == "absence"
    assert "during 47 min 30 s of observable time" in st_.text
    assert "impaired: 12 min 30 s (frozen 10 min, lost 5 min; causes overlap)" in st_.text
    text = render_text(acc)
    assert "frozen            0:10:00 – 0:20:00  2026-01-01 12:10:00+00:00 – 12:20:00  10 min" in text
    assert "lost (no signal)  0:17:30 – 0:22:30  2026-01-01 12:17:30+00:00 – 12:22:30  5 min" in text


def test_crossings_one_inside_an_impaired_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imp = [{"cause": "frozen", "start_s": 100.0, "end_s": 200.0}]
    cr = [
        crossing(50.0, id=1, wallclock=W0),
        crossing(150.5, "CA->US", id=2, wallclock=W0),
        crossing(200.0, id=3, wallclock=W0),  # on the interval's end: counted as impaired
        crossing(400.0, id=4, wallclock=W0),
    ]
    d = make_scan(
        tmp_path, impaired=imp, crossings=cr, wallclock=W0, lines=[("border", ("US", "CA")), ("river", ("N", "S"))]
    )
    acc = load_account(d)
    flags = {c.id: c.impaired_causes for c in acc.crossings}
    assert flags == {1: (), 2: ("frozen",), 3: ("frozen",), 4: ()}
    border, river = statements(acc)
    assert border.kind == "crossings" and border.crossings == 4 and border.in_impaired == 2
    assert border.text.startswith("4 crossings detected on line border between 2026-01-01 12:00:00+00:00 and ")
    assert "(US->CA 3, CA->US 1)" in border.text
    assert "2 of them fell in impaired time (frozen); they are still crossings." in border.text
    assert "Crossings during impaired time may have been missed." in border.text
    assert river.kind == "absence" and "line river during 8 min 20 s of observable time" in river.text

    rc, out, _ = run(capsys, d)
    assert rc == 0
    row = next(s for s in out.splitlines() if s.strip().startswith("2 "))
    assert "0:02:30.50" in row and "2026-01-01 12:02:30.50+00:00" in row and "CA->US" in row
    assert "in impaired time (frozen)" in row

    data = json.loads(run(capsys, d, "--json", "--no-png")[1])
    assert [c["impaired"] for c in data["crossings"]] == [False, True, True, False]
    assert data["lines"][0]["by_direction"] == {"US->CA": 3, "CA->US": 1}
    assert data["statements"][0]["in_impaired"] == 2


def test_no_observable_time_is_not_absence(tmp_path: Path) -> None:
    acc = load_account(make_scan(tmp_path, duration=60.0, impaired=[{"cause": "blackout", "start_s": 0, "end_s": 60}]))
    (st_,) = statements(acc)
    assert st_.kind == "no_observable_time"
    assert "none of that time was observable (impaired: 1 min (blackout 1 min))" in st_.text
    assert "during" not in st_.text


def test_partial_scan_says_so_and_excludes_undecodable_time(tmp_path: Path) -> None:
    # The undecodable span is in the coverage as `lost`: nothing more to subtract.
    imp = [{"cause": "lost", "start_s": 100.0, "end_s": 160.0}]
    acc = load_account(make_scan(tmp_path / "a", status="partial", impaired=imp, undecodable=[(100.0, 160.0)]))
    (st_,) = statements(acc)
    assert st_.kind == "absence"
    assert "during 9 min of observable time" in st_.text
    assert "The scan is partial: 1 min of the source could not be decoded" in st_.text
    # An undecodable span the coverage did not count as impaired is still not observed.
    acc = load_account(make_scan(tmp_path / "b", status="partial", undecodable=[(100.0, 160.0)]))
    assert acc.observable_s == pytest.approx(540.0)
    assert [(u.cause, u.start_s, u.end_s) for u in acc.unobserved_intervals] == [("undecodable", 100.0, 160.0)]
    (st_,) = statements(acc)
    assert "during 9 min of observable time" in st_.text
    assert "no impaired time; not observed: 1 min (undecodable)" in st_.text
    assert any("disagrees" in n for n in acc.notes)


def test_interrupted_scan_scopes_to_what_was_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = make_scan(tmp_path, status="interrupted", duration=1200.0, expected_duration=3600.0)
    acc = load_account(d)
    tail = acc.unscanned
    assert tail is not None and (tail.start_s, tail.end_s) == (1200.0, 3600.0)
    (st_,) = statements(acc)
    assert "during 20 min of observable time between 0:00:00 and 0:20:00 of source time" in st_.text
    assert "The scan was interrupted before the end of the source." in st_.text
    assert "nothing is said about the last 40 min, which was not scanned" in st_.text
    rc, _, _ = run(capsys, d)
    assert rc == 0


def test_running_scan_rebuilt_from_buckets_ignores_a_torn_last_line(tmp_path: Path) -> None:
    imp = [{"cause": "defocus", "start_s": 22.0, "end_s": 37.0}]
    d = make_scan(tmp_path, status="running", duration=100.0, impaired=imp, with_coverage=False, lines=())
    with (d / "coverage.jsonl").open("a") as f:
        f.write('{"start_s": 100.0, "end_s": 11')  # the scan died while writing this
    acc = load_account(d)
    assert acc.coverage_from == "coverage.jsonl"
    assert acc.observable_s == pytest.approx(85.0) and acc.impaired_s == pytest.approx(15.0)
    # Located to the bucket: the two buckets that hold the defocus.
    assert [(r.cause, r.start_s, r.end_s) for r in acc.impaired_intervals] == [("defocus", 20.0, 40.0)]
    assert any("cut off" in n for n in acc.notes)
    (st_,) = statements(acc)
    assert st_.line is None and st_.kind == "absence"
    assert st_.text.startswith("No crossings detected on any line during 1 min 25 s of observable time")
    assert "still running, or it stopped without finishing" in st_.text


def test_old_scan_without_coverage_makes_no_absence_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = make_scan(tmp_path, with_coverage=False, with_buckets=False, crossings=[crossing(12.0)])
    acc = load_account(d)
    assert not acc.coverage_known
    (st_,) = statements(acc)
    assert st_.kind == "coverage_unknown"
    rc, out, err = run(capsys, d, "--no-png")
    assert rc == 0 and err == ""
    assert "coverage    unknown" in out
    assert "coverage is unknown (this scan has no coverage data; it was made by borderwatch 0.1.0)" in out
    assert "observable time" not in out
    d2 = make_scan(tmp_path / "quiet", with_coverage=False, with_buckets=False)
    (st_,) = statements(load_account(d2))
    assert st_.text.startswith("No crossings detected on line border between 0:00:00 and 0:10:00 of source time, but")
    assert "no statement of absence can be made" in st_.text
    data = json.loads(run(capsys, d2, "--json")[1])
    assert data["coverage_known"] is False and data["observable_s"] is None
    assert data["statements"][0]["kind"] == "coverage_unknown"
    assert Path(data["png"]).is_file()  # the timeline still shows the crossings, band hatched


def test_line_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cr = [crossing(5.0, line="river", id=1, direction="N->S")]
    d = make_scan(tmp_path, crossings=cr, lines=[("border", ("US", "CA")), ("river", ("N", "S"))])
    data = json.loads(run(capsys, d, "--json", "--no-png", "--line", "border")[1])
    assert [s["line"] for s in data["statements"]] == ["border"] and data["crossings"] == []
    rc, _, err = run(capsys, d, "--line", "nope")
    assert rc == 2 and "no line 'nope'" in one_line_error(err) and "border, river" in err


# --- bad input -------------------------------------------------------------------------


def _bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    d = make_scan(tmp_path / case, crossings=[crossing(1.0), crossing(2.0, id=1)])
    if case == "missing dir":
        return tmp_path / "nope", "no such scan output directory"
    if case == "no summary":
        (d / "summary.json").unlink()
        return d, "no summary.json"
    if case == "summary not json":
        (d / "summary.json").write_text("{not json")
        return d, "summary.json: not valid JSON"
    if case == "crossing line":
        lines = (d / "crossings.jsonl").read_text().splitlines()
        (d / "crossings.jsonl").write_text(lines[0] + "\n" + lines[1][:-5] + "\n")
        return d, "crossings.jsonl:2: not valid JSON"
    if case == "crossing field":
        (d / "crossings.jsonl").write_text(
            json.dumps({"id": 0, "line": "border", "from_side": "US", "to_side": "CA"}) + "\n"
        )
        return d, "crossings.jsonl:1: missing 'time_s'"
    if case == "bucket line":
        lines = (d / "coverage.jsonl").read_text().splitlines()
        lines[2] = "[1, 2]"
        (d / "coverage.jsonl").write_text("\n".join(lines) + "\n")
        return d, "coverage.jsonl:3: expected a JSON object"
    if case == "bucket reversed":
        lines = (d / "coverage.jsonl").read_text().splitlines()
        lines[4] = json.dumps({"start_s": 50.0, "end_s": 40.0})
        (d / "coverage.jsonl").write_text("\n".join(lines) + "\n")
        return d, "coverage.jsonl:5: end_s 40.0 is before start_s 50.0"
    if case == "interval":
        s = json.loads((d / "summary.json").read_text())
        s["coverage"]["impaired_intervals"] = [{"cause": "frozen", "start_s": "10", "end_s": 20}]
        (d / "summary.json").write_text(json.dumps(s))
        return d, "coverage.impaired_intervals[0]: 'start_s' must be a finite number"
    if case == "no crossings file":
        (d / "crossings.jsonl").unlink()
        return d, "crossings.jsonl: missing"
    raise AssertionError(case)


BAD = ["missing dir", "no summary", "summary not json", "crossing line", "crossing field", "bucket line",
       "bucket reversed", "interval", "no crossings file"]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    d, expected = _bad(tmp_path, case)
    with pytest.raises(ScanDirError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_account(d)
    rc, out, err = run(capsys, d)
    assert rc == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("borderwatch: error: ") and expected in line


def test_a_torn_line_in_a_complete_scan_is_an_error(tmp_path: Path) -> None:
    d = make_scan(tmp_path, crossings=[crossing(1.0)])
    (d / "crossings.jsonl").write_text((d / "crossings.jsonl").read_text() + '{"id": 1, "ti')
    with pytest.raises(ScanDirError, match="crossings.jsonl:2"):
        load_account(d)


def test_png_unwritable_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = make_scan(tmp_path / "scan")
    (tmp_path / "file").write_text("")
    rc, _, err = run(capsys, d, "--png", tmp_path / "file" / "x.png")
    assert rc == 2 and "cannot write" in one_line_error(err)
    (d / "coverage.png").mkdir()  # the default path is taken: say how to go around it
    rc, _, err = run(capsys, d)
    assert rc == 2 and "(use --png PATH or --no-png)" in one_line_error(err)
    assert not list(d.glob(".coverage.png.*"))


# --- the timeline ----------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()
        return im.size


def test_png_default_and_custom_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imp = [{"cause": "frozen", "start_s": 100.0, "end_s": 200.0}, {"cause": "lost", "start_s": 150.0, "end_s": 260.0}]
    d = make_scan(tmp_path / "scan", impaired=imp, crossings=[crossing(50.0), crossing(150.0, "CA->US", id=1)],
                  wallclock=W0)  # fmt: skip
    rc, out, _ = run(capsys, d)
    assert rc == 0 and f"timeline: {d / 'coverage.png'}" in out
    assert (d / "coverage.png").stat().st_size > 10_000
    assert _png_size(d / "coverage.png") == (1600, 500)
    custom = tmp_path / "out" / "t.png"
    rc, _, _ = run(capsys, d, "--png", custom)
    assert rc == 0 and _png_size(custom) == (1600, 500)
    assert not list(custom.parent.glob(".*.tmp"))
    (d / "coverage.png").unlink()
    assert run(capsys, d, "--no-png")[0] == 0 and not (d / "coverage.png").exists()


def test_png_of_a_day_long_scan_with_thousands_of_intervals(tmp_path: Path) -> None:
    import time

    day = 24 * 3600.0
    causes = ["frozen", "low_light", "lost", "moved", "glare", "mystery_cause"]
    imp = [{"cause": causes[i % len(causes)], "start_s": i * 40.0, "end_s": i * 40.0 + 15.0 + (i % 3) * 10}
           for i in range(2000)]  # fmt: skip
    cr = [crossing(i * 37.0 + 3, "US->CA" if i % 2 else "CA->US", id=i) for i in range(1500)]
    d = make_scan(tmp_path, duration=day, impaired=imp, crossings=cr)  # 8640 buckets
    acc = load_account(d)
    assert acc.buckets == 8640
    t0 = time.perf_counter()
    out = render_png(acc, tmp_path / "day.png")
    assert time.perf_counter() - t0 < 20
    assert _png_size(out) == (1600, 500)
    # Only the first intervals and crossings are listed in the text; all are in the JSON.
    text = render_text(acc)
    assert "more (all are in --json)" in text
    assert len(to_dict(acc)["impaired_intervals"]) == len(acc.impaired_intervals)


def test_report_does_not_import_matplotlib_until_drawing(tmp_path: Path) -> None:
    d = make_scan(tmp_path)
    code = (
        "import sys\n"
        "from borderwatch.cli import _register\n"
        "_register()\n"
        "from borderwatch.coverage.report import load_account, statements, render_text\n"
        f"render_text(load_account({str(d)!r}))\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds,mode,text",
    [
        (0, "nearest", "0 s"),
        (2.5, "nearest", "2.5 s"),
        (0.04, "up", "0.1 s"),
        (45, "nearest", "45 s"),
        (59.7, "nearest", "1 min"),
        (600, "nearest", "10 min"),
        (750, "nearest", "12 min 30 s"),
        (599.9999999, "down", "10 min"),  # float noise is not a second
        (3599.5, "down", "59 min 59 s"),
        (3599.5, "nearest", "1 h"),
        (7800, "nearest", "2 h 10 min"),
        (7859, "down", "2 h 10 min"),
        (7801, "up", "2 h 11 min"),
    ],
)
def test_fmt_duration(seconds: float, mode: str, text: str) -> None:
    assert fmt_duration(seconds, mode) == text


def test_fmt_clock() -> None:
    assert fmt_clock(0) == "0:00:00"
    assert fmt_clock(3725.4) == "1:02:05"
    assert fmt_clock(150.5, 2) == "0:02:30.50"
    assert fmt_clock(59.6, mode="down") == "0:00:59"
    assert fmt_clock(90000) == "25:00:00"


# --- never an absence claim over impaired time (property) ------------------------------

interval_st = st.tuples(st.integers(0, 600), st.integers(1, 120)).map(lambda p: (float(p[0]), float(p[0] + p[1])))


@settings(max_examples=40, deadline=None)
@given(
    spans=st.lists(st.tuples(st.sampled_from(["frozen", "lost", "glare"]), interval_st), max_size=6),
    times=st.lists(st.integers(0, 600).map(float), max_size=3),
)
def test_statement_never_claims_absence_over_impaired_time(
    spans: list[tuple[str, tuple[float, float]]], times: list[float]
) -> None:
    duration = 600.0
    imp: list[dict[str, Any]] = [
        {"cause": c, "start_s": s, "end_s": min(e, duration)} for c, (s, e) in spans if s < duration
    ]
    with tempfile.TemporaryDirectory() as tmp:
        d = make_scan(
            Path(tmp), duration=duration, impaired=imp, crossings=[crossing(t, id=i) for i, t in enumerate(times)]
        )
        acc = load_account(d)
    union = iv.union_length([(r["start_s"], r["end_s"]) for r in imp])
    assert acc.observable_s is not None and acc.observable_s <= duration - union + 1e-6
    (st_,) = statements(acc)
    if times:
        assert st_.kind == "crossings"
        merged = iv.merge([(r["start_s"], r["end_s"]) for r in imp])
        assert st_.in_impaired == sum(iv.contains(merged, t) for t in times)
    else:
        assert st_.kind == ("absence" if union < duration else "no_observable_time")
    if union > 0:
        assert "no impaired time" not in st_.text


# --- interval helpers ------------------------------------------------------------------


def test_interval_examples() -> None:
    assert iv.merge([(3, 4), (0, 1), (1, 2), (5, 5)]) == [(0.0, 2.0), (3.0, 4.0)]
    assert iv.merge([(0, 1), (1.5, 2)], gap=0.5) == [(0.0, 2.0)]
    assert iv.union_length([(0, 10), (5, 15), (20, 21)]) == 16.0
    assert iv.intersection([(0, 10), (20, 30)], [(5, 25)]) == [(5.0, 10.0), (20.0, 25.0)]
    assert iv.intersection_length([(0, 10)], [(10, 20)]) == 0.0
    assert iv.difference([(0, 10)], [(2, 3), (5, 6), (9, 12)]) == [(0.0, 2.0), (3.0, 5.0), (6.0, 9.0)]
    assert iv.clip([(0, 10), (12, 20)], 5, 15) == [(5.0, 10.0), (12.0, 15.0)]
    assert iv.contains(iv.merge([(0, 1), (2, 3)]), 3.0) and not iv.contains(iv.merge([(0, 1), (2, 3)]), 1.5)
    assert iv.union_length([]) == 0.0 and iv.intersection([], [(0, 1)]) == []


@pytest.mark.parametrize("bad", [[(2, 1)], [(0, math.nan)], [(0, math.inf)], [(1,)]])
def test_interval_errors(bad: list[tuple[float, ...]]) -> None:
    with pytest.raises(ValueError):
        iv.merge(bad)


bound = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
one = st.tuples(bound, bound).map(lambda p: (min(p), max(p)))
many = st.lists(one, max_size=12)


def _canonical(m: list[tuple[float, float]]) -> bool:
    return all(s < e for s, e in m) and all(a[1] < b[0] for a, b in itertools.pairwise(m))


@given(many)
def test_merge_is_canonical_and_idempotent(a: list[tuple[float, float]]) -> None:
    m = iv.merge(a)
    assert _canonical(m)
    assert iv.merge(m) == m
    assert iv.merge(reversed(a)) == m


@given(many)
def test_union_length_bounds(a: list[tuple[float, float]]) -> None:
    u = iv.union_length(a)
    assert u <= math.fsum(e - s for s, e in a) + 1e-9
    assert u >= max((e - s for s, e in a), default=0.0) - 1e-9


@given(many, many)
def test_intersection_symmetric_and_bounded(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> None:
    assert iv.intersection(a, b) == iv.intersection(b, a)
    assert iv.intersection_length(a, b) == iv.intersection_length(b, a)
    assert iv.intersection_length(a, b) <= min(iv.union_length(a), iv.union_length(b)) + 1e-9
    assert _canonical(iv.intersection(a, b))
    assert iv.intersection(a, a) == iv.merge(a)


@given(many, many)
def test_inclusion_exclusion(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> None:
    both = iv.union_length(a + b)
    assert math.isclose(both, iv.union_length(a) + iv.union_length(b) - iv.intersection_length(a, b), abs_tol=1e-6)


@given(many, many)
def test_difference(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> None:
    diff = iv.difference(a, b)
    assert _canonical(diff)
    assert iv.intersection_length(diff, b) == pytest.approx(0.0, abs=1e-9)
    assert math.isclose(iv.union_length(diff), iv.union_length(a) - iv.intersection_length(a, b), abs_tol=1e-6)
    assert iv.merge(diff + iv.intersection(a, b)) == iv.merge(a)


@given(many, st.floats(min_value=-10, max_value=1010, allow_nan=False))
def test_contains_matches_membership(a: list[tuple[float, float]], t: float) -> None:
    assert iv.contains(iv.merge(a), t) == any(s <= t <= e for s, e in a if e > s)
