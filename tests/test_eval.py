"""borderwatch.eval: matching rules, aggregation, loading errors, CLI; and the peer pipeline."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from borderwatch.cli import main
from borderwatch.errors import TruthError
from borderwatch.eval import Event, aggregate, evaluate, load_predictions, load_truth, match
from borderwatch.eval.report import report_dict

ROOT = Path(__file__).resolve().parents[1]
VIDEO_DIR = ROOT.parent / "shared" / "data" / "video"


def ev(t: float, d: str = "A->B", line: str = "border", label: str = "person", id: int = 0) -> Event:
    a, b = d.split("->")
    return Event(id, line, a, b, t, label)


# (name, truth, pred, tolerance, expected (tp, fp, fn, duplicates, direction_errors))
CASES = [
    ("exact", [ev(1.0)], [ev(1.0)], 1.0, (1, 0, 0, 0, 0)),
    ("within tolerance", [ev(1.0)], [ev(1.9)], 1.0, (1, 0, 0, 0, 0)),
    ("at tolerance is a match", [ev(1.0)], [ev(2.0)], 1.0, (1, 0, 0, 0, 0)),
    ("outside tolerance", [ev(1.0)], [ev(2.1)], 1.0, (0, 1, 1, 0, 0)),
    ("earlier prediction", [ev(5.0)], [ev(4.2)], 1.0, (1, 0, 0, 0, 0)),
    ("tighter tolerance", [ev(1.0)], [ev(1.3)], 0.25, (0, 1, 1, 0, 0)),
    ("duplicate", [ev(1.0)], [ev(1.0), ev(1.3)], 1.0, (1, 1, 0, 1, 0)),
    ("two duplicates", [ev(1.0)], [ev(0.6), ev(1.0), ev(1.5)], 1.0, (1, 2, 0, 2, 0)),
    ("direction error", [ev(1.0)], [ev(1.0, "B->A")], 1.0, (0, 1, 1, 0, 1)),
    ("opposite direction far away", [ev(1.0)], [ev(5.0, "B->A")], 1.0, (0, 1, 1, 0, 0)),
    # The truth is already matched, so the reversed prediction explains no miss: plain FP.
    ("reversed extra near matched", [ev(1.0)], [ev(1.0), ev(1.1, "B->A")], 1.0, (1, 1, 0, 0, 0)),
    ("two lines", [ev(1.0, line="l1"), ev(1.0, line="l2")], [ev(1.1, line="l2"), ev(1.2, line="l1")], 1.0, (2, 0, 0, 0, 0)),
    ("wrong line", [ev(1.0, line="l1")], [ev(1.0, line="l2")], 1.0, (0, 1, 1, 0, 0)),
    ("empty predictions", [ev(1.0), ev(2.0)], [], 1.0, (0, 0, 2, 0, 0)),
    ("empty truth", [], [ev(1.0)], 1.0, (0, 1, 0, 0, 0)),
    ("both empty", [], [], 1.0, (0, 0, 0, 0, 0)),
    # Greedy nearest-first would pair 1.9 with 2.0 and strand 2.9; optimal gets both.
    ("optimal beats greedy", [ev(1.0), ev(2.0)], [ev(1.9), ev(2.9)], 1.0, (2, 0, 0, 0, 0)),
    ("back and forth", [ev(1.0), ev(3.0, "B->A"), ev(5.0)], [ev(1.2), ev(3.1, "B->A"), ev(4.8)], 1.0, (3, 0, 0, 0, 0)),
    ("missed reversal", [ev(1.0), ev(1.5, "B->A")], [ev(1.1), ev(1.4)], 1.0, (1, 1, 1, 0, 1)),
]


@pytest.mark.parametrize("name,truth,pred,tol,expected", CASES, ids=[c[0] for c in CASES])
def test_match_cases(name: str, truth: list[Event], pred: list[Event], tol: float, expected: tuple[int, ...]) -> None:
    r = match(truth, pred, tolerance_s=tol, fps=25)
    assert (r.tp, r.fp, r.fn, r.duplicates, r.direction_errors) == expected
    assert r.tp + r.fp == len(pred) and r.tp + r.fn == len(truth)
    assert r.duplicates + r.direction_errors <= r.fp


def test_zero_denominators() -> None:
    # No predictions: nothing false was claimed (precision 1), everything missed.
    r = match([ev(1.0)], [])
    assert (r.precision, r.recall, r.f1) == (1.0, 0.0, 0.0)
    # No truth: nothing missed (recall 1), everything claimed is false.
    r = match([], [ev(1.0)])
    assert (r.precision, r.recall, r.f1) == (0.0, 1.0, 0.0)
    # A quiet scene correctly reported as quiet is a perfect score.
    r = match([], [])
    assert (r.precision, r.recall, r.f1) == (1.0, 1.0, 1.0)
    assert r.time_error_max_s is None and r.time_error_max_frames is None


def test_time_errors_and_breakdowns() -> None:
    truth = [ev(1.0, id=1), ev(2.0, "B->A", label="car", id=2), ev(9.0, id=3)]
    pred = [ev(1.2, id=10, label="object"), ev(1.9, "B->A", id=11, label="object")]
    r = match(truth, pred, fps=25)
    assert math.isclose(r.time_error_max_s or 0, 0.2) and math.isclose(r.time_error_mean_s or 0, 0.15)
    assert math.isclose(r.time_error_max_frames or 0, 5.0) and math.isclose(r.time_error_mean_frames or 0, 3.75)
    assert r.false_negative_ids == [3] and r.false_positive_ids == []
    assert r.label_mismatches == 2
    d = r.to_dict()
    assert d["per_direction"]["border:A->B"] == {
        "truth": 2, "pred": 1, "tp": 1, "fp": 0, "fn": 1, "recall": 0.5, "precision": 1.0, "f1": pytest.approx(2 / 3)
    }  # fmt: skip
    assert d["per_label"]["car"]["truth"] == 1 and d["per_label"]["car"]["tp"] == 1
    assert d["per_label"]["object"]["pred"] == 2 and d["per_label"]["object"]["fp"] == 0
    assert {m["pred_id"] for m in d["matches"]} == {10, 11}
    json.dumps(d)  # serialisable as is
    # Without a frame rate the seconds remain and the frames are unknown.
    r = match(truth, pred)
    assert r.time_error_max_frames is None and r.time_error_max_s is not None


def test_aggregate_sums_counts_and_recomputes_rates() -> None:
    a = match([ev(1.0), ev(5.0)], [ev(1.1)], fps=25, clip="a")  # recall 0.5, precision 1
    b = match([ev(1.0)], [ev(1.0), ev(1.5), ev(8.0)], fps=10, clip="b")  # recall 1, precision 1/3
    t = aggregate([a, b])
    assert (t.clips, t.truth, t.pred, t.tp, t.fp, t.fn, t.duplicates) == (2, 3, 4, 2, 2, 1, 1)
    assert math.isclose(t.recall, 2 / 3) and math.isclose(t.precision, 0.5)  # micro, not mean of rates
    assert t.fps is None  # mixed rates; frame errors still come per pair
    assert math.isclose(t.time_error_max_frames or 0, 2.5)
    assert t.per_direction["border:A->B"].truth == 3
    assert aggregate([]).truth == 0
    rep = report_dict([a, b])
    assert rep["total"]["tp"] == 2 and len(rep["clips"]) == 2


# --- files -------------------------------------------------------------------------------


def truth_doc(crossings: list[dict]) -> dict:
    return {
        "version": 1, "video": "clip.mp4", "width": 640, "height": 360, "fps": "25/1", "time_base": "1/25",
        "frames": 500, "duration_s": 20.0, "margin_px": 8,
        "lines": [{"name": "border", "points": [[0, 0.5], [1, 0.5]], "sides": ["A", "B"]}],
        "crossings": crossings, "distractors": [], "spec": {},
    }  # fmt: skip


def tc(id: int, t: float, d: str = "A->B", label: str = "person") -> dict:
    a, b = d.split("->")
    return {"id": id, "time_s": t, "frame": round(t * 25), "line": "border", "from_side": a, "to_side": b,
            "label": label, "actor_id": id, "occluded": False}  # fmt: skip


def pc(id: int, t: float, d: str = "A->B") -> dict:
    a, b = d.split("->")
    return {"id": id, "time_s": t, "frame": round(t * 25), "line": "border", "from_side": a, "to_side": b,
            "track_id": id, "label": "object", "score": 0.9, "inferred": False, "direction": d}  # fmt: skip


def write_case(tmp: Path, name: str, truth: list[dict], pred: list[dict]) -> tuple[Path, Path]:
    t = tmp / f"{name}.json"
    t.write_text(json.dumps(truth_doc(truth) | {"video": f"{name}.mp4"}))
    d = tmp / f"{name}-scan"
    d.mkdir()
    (d / "crossings.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pred))
    (d / "summary.json").write_text("{}")
    return d, t


def test_evaluate_files(tmp_path: Path) -> None:
    d, t = write_case(tmp_path, "c1", [tc(0, 2.0), tc(1, 6.0, "B->A")], [pc(1, 2.08), pc(2, 6.1)])
    r = evaluate(d, t)
    assert r.clip == "c1" and r.fps == 25.0
    assert (r.tp, r.fp, r.fn, r.direction_errors) == (1, 1, 1, 1)
    assert math.isclose(r.time_error_max_frames or 0, 2.0)
    assert evaluate(d / "crossings.jsonl", t).tp == 1  # the JSONL file itself works too
    assert load_truth(t).lines == {"border": ("A", "B")}


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d1, t1 = write_case(tmp_path, "alpha", [tc(0, 2.0), tc(1, 6.0)], [pc(1, 2.0), pc(2, 2.4), pc(3, 6.5)])
    d2, t2 = write_case(tmp_path, "beta", [tc(0, 1.0, "B->A")], [])
    assert main(["eval", str(d1), str(t1), str(d2), str(t2)]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "total" in out and "recall" in out
    assert main(["eval", str(d1), str(t1), "--tolerance", "0.45", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tolerance_s"] == 0.45
    c = data["clips"][0]
    assert (c["tp"], c["fp"], c["fn"], c["duplicates"]) == (1, 2, 1, 1)
    assert data["total"]["clips"] == 1


def test_cli_help_has_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--help"]) == 0
    out = capsys.readouterr().out
    assert "borderwatch eval" in out and "--tolerance" in out


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d, t = write_case(tmp_path, "c", [tc(0, 1.0)], [pc(1, 1.0)])
    assert main(["eval", str(d)]) == 2  # odd number of paths
    assert main(["eval", str(d), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("borderwatch: error:") and "missing.json" in err[-1]


BAD_TRUTH = [
    ("not json", '{"version": 1,\n "crossings": [}', ":2: not valid JSON"),
    ("top level list", "[]", "JSON object"),
    ("no crossings", '{"version": 1}', "'crossings' must be a list"),
    ("missing key", json.dumps(truth_doc([{"time_s": 1.0, "line": "border", "from_side": "A"}])), "crossings[0]: missing 'to_side'"),
    ("time not number", json.dumps(truth_doc([tc(0, 1.0) | {"time_s": "soon"}])), "'time_s' must be a finite number"),
    ("bad fps", json.dumps(truth_doc([]) | {"fps": "fast"}), "'fps'"),
    ("future version", json.dumps(truth_doc([]) | {"version": 9}), "version 9"),
]


@pytest.mark.parametrize("name,text,message", BAD_TRUTH, ids=[b[0] for b in BAD_TRUTH])
def test_malformed_truth(tmp_path: Path, name: str, text: str, message: str) -> None:
    p = tmp_path / "truth.json"
    p.write_text(text)
    with pytest.raises(TruthError) as info:
        load_truth(p)
    msg = str(info.value)
    assert str(p) in msg and message in msg and "\n" not in msg


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(TruthError, match="no such file"):
        load_truth(tmp_path / "nope.json")
    with pytest.raises(TruthError, match="no crossings.jsonl"):
        load_predictions(tmp_path)
    with pytest.raises(ValueError):  # TruthError is also a ValueError for callers that catch builtins
        load_truth(tmp_path / "nope.json")


@pytest.mark.parametrize(
    "lines,message",
    [
        (['{"time_s": 1, "line": "border", "from_side": "A", "to_side": "B"}', "{oops"], ":2: not valid JSON"),
        (['{"time_s": 1, "line": "border", "from_side": "A"}'], ":1: missing 'to_side'"),
        (["[1, 2]"], ":1: expected a JSON object"),
        (['{"time_s": null, "line": "b", "from_side": "A", "to_side": "B"}'], ":1: 'time_s'"),
    ],
)
def test_malformed_predictions(tmp_path: Path, lines: list[str], message: str) -> None:
    (tmp_path / "crossings.jsonl").write_text("\n".join(lines) + "\n\n")
    with pytest.raises(TruthError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_predictions(tmp_path)


def test_side_name_mismatch_warns(tmp_path: Path) -> None:
    d, t = write_case(tmp_path, "c", [tc(0, 1.0)], [pc(1, 1.0, "CA->US")])
    r = evaluate(d, t)
    assert r.tp == 0 and any("sides" in w for w in r.warnings)


# --- the peer pipeline ---------------------------------------------------------------------


def load_peer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bw_bench_peer", ROOT / "benchmarks" / "peer.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _moving_box_clip(path: Path, moves: list[tuple[int, int, int, int, int, int]], n: int = 150) -> None:
    import cv2

    w, h = 320, 240
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (w, h))
    bg = np.random.default_rng(0).integers(60, 90, (h, w, 1)).repeat(3, 2).astype(np.uint8)
    for f in range(n):
        img = bg.copy()
        for f0, f1, x0, y0, x1, y1 in moves:
            if f0 <= f <= f1:
                u = (f - f0) / (f1 - f0)
                x, y = int(x0 + u * (x1 - x0)), int(y0 + u * (y1 - y0))
                cv2.rectangle(img, (x - 15, y - 15), (x + 15, y + 15), (255, 255, 255), -1)
        vw.write(img)
    vw.release()


def test_peer_direction_matches_borderwatch_convention(tmp_path: Path) -> None:
    # Horizontal line drawn left to right: side A is above. Down = A->B, up = B->A.
    clip = tmp_path / "updown.avi"
    _moving_box_clip(clip, [(30, 70, 80, 20, 80, 220), (90, 130, 240, 220, 240, 20)])
    s = load_peer().run_peer(clip, [(0, 0.5), (1, 0.5)], tmp_path / "out")
    got = [json.loads(x) for x in (tmp_path / "out" / "crossings.jsonl").read_text().splitlines()]
    assert [(c["from_side"], c["to_side"]) for c in got] == [("A", "B"), ("B", "A")]
    assert s["frames"] == 150
    # Vertical line drawn top to bottom: walking down the screen, your left is screen right.
    clip2 = tmp_path / "leftright.avi"
    _moving_box_clip(clip2, [(30, 70, 20, 120, 300, 120)])
    load_peer().run_peer(clip2, [(0.5, 0), (0.5, 1)], tmp_path / "out2", sides=("E", "W"))
    got = [json.loads(x) for x in (tmp_path / "out2" / "crossings.jsonl").read_text().splitlines()]
    assert [(c["from_side"], c["to_side"]) for c in got] == [("W", "E")]


# Hand labels from ../shared/data/video/labels.csv (approximate crossing frames).
REAL = [
    ("intel-car-detection.mp4", "0,0.5 1,0.5", 12.5, [(80, "B->A"), (210, "B->A"), (205, "A->B"), (332, "A->B")]),
    ("bgslibrary-video.avi", "0.5,0 0.5,1", 30.0, [(82, "B->A"), (145, "B->A"), (145, "B->A"), (230, "B->A"), (320, "B->A")]),
]


@pytest.mark.parametrize("name,line,fps,labels", REAL, ids=[r[0] for r in REAL])
def test_peer_on_real_clip(tmp_path: Path, name: str, line: str, fps: float, labels: list[tuple[int, str]]) -> None:
    video = VIDEO_DIR / name
    if not video.exists():
        pytest.skip(f"{video} not available")
    peer = load_peer()
    out = tmp_path / "peer"
    summary = peer.run_peer(video, peer.parse_line(line), out)
    preds = load_predictions(out)  # valid borderwatch crossings.jsonl
    assert summary["frames"] > 0 and len(preds) == summary["crossings"]
    truth = [ev(f / fps, d, label="car", id=i) for i, (f, d) in enumerate(labels)]
    # Hand labels are approximate (+-10 frames), hence the wider tolerance.
    r = match(truth, preds, tolerance_s=1.5, fps=fps, clip=name)
    print(f"\npeer on {name}: {summary['counts']} in {summary['elapsed_s']:.2f}s; "
          f"TP {r.tp} FP {r.fp} FN {r.fn} dup {r.duplicates} dir-err {r.direction_errors}")  # fmt: skip
