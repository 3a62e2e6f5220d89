"""Time-weighted scoring of camera-health verdicts against fault truth."""

from __future__ import annotations

import json

import pytest

from borderwatch.cli import main
from borderwatch.errors import TruthError
from borderwatch.eval.health import clean_impaired_s, load_scan_coverage, score_health, total


def iv(cause, s, e):
    return {"cause": cause, "start_s": s, "end_s": e}


def test_perfect_and_partial_overlap_per_cause():
    truth = [iv("frozen", 10, 20), iv("blackout", 30, 40)]
    pred = [iv("frozen", 11, 21), iv("blackout", 30, 40), iv("light_change", 29.8, 30.2)]
    sc = score_health(truth, pred, 60.0, "c")
    f, b = sc.causes["frozen"], sc.causes["blackout"]
    assert (f.truth_s, f.pred_s, f.hit_s) == (10, 10, 9)
    assert f.recall == pytest.approx(0.9) and f.precision == pytest.approx(0.9)
    assert b.recall == 1.0 and b.precision == 1.0
    assert sc.other_s == {"light_change": pytest.approx(0.4)}
    assert not sc.clean


def test_wrong_cause_is_neither_recall_nor_precision():
    sc = score_health([iv("defocus", 0, 10)], [iv("frozen", 0, 10)], 20.0)
    assert sc.causes["defocus"].recall == 0.0
    assert sc.causes["defocus"].precision == 1.0  # nothing flagged as defocus
    assert sc.other_s == {"frozen": 10.0}


def test_overlapping_predictions_count_once_and_totals_are_time_weighted():
    a = score_health([iv("moved", 0, 10)], [iv("moved", 0, 6), iv("moved", 4, 10)], 10.0, "a")
    assert a.causes["moved"].pred_s == 10.0 and a.causes["moved"].precision == 1.0
    b = score_health([iv("moved", 0, 30)], [iv("moved", 0, 15)], 30.0, "b")
    t = total([a, b])
    assert t.causes["moved"].recall == pytest.approx(25 / 40)


def test_clean_clips_report_every_flagged_second():
    clean = score_health([], [iv("glare", 1, 3)], 10.0, "clean")
    assert clean.clean and clean_impaired_s([clean]) == 2.0
    assert clean_impaired_s([score_health([], [], 10.0)]) == 0.0


def test_bad_intervals_are_errors():
    with pytest.raises(TruthError, match="needs 'cause'"):
        score_health([{"start_s": 1, "end_s": 2}], [], 5.0)
    with pytest.raises(TruthError, match="before it starts"):
        score_health([], [iv("glare", 3, 1)], 5.0)


def _scan_dir(tmp_path, intervals, duration=60.0, coverage=True):
    d = tmp_path / "scan"
    d.mkdir()
    (d / "crossings.jsonl").write_text("")
    cov = {"duration_s": duration, "impaired_intervals": intervals} if coverage else None
    (d / "summary.json").write_text(json.dumps({"status": "complete", "coverage": cov}))
    return d


def _truth(tmp_path, faults):
    t = {"version": 1, "fps": "25", "crossings": [], "lines": [{"name": "border", "sides": ["A", "B"]}]}
    if faults is not None:
        t["faults"] = faults
    p = tmp_path / "clip.truth.json"
    p.write_text(json.dumps(t))
    return p


def test_eval_cli_scores_health_when_the_truth_has_faults(tmp_path, capsys):
    d = _scan_dir(tmp_path, [iv("frozen", 10, 20)])
    truth = _truth(tmp_path, [{"kind": "freeze", **iv("frozen", 10, 22)}])
    assert main(["eval", str(d), str(truth), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (c,) = out["health"]["clips"][0]["causes"]
    assert c["cause"] == "frozen" and c["recall"] == pytest.approx(10 / 12, abs=1e-3) and c["precision"] == 1.0
    assert main(["eval", str(d), str(truth)]) == 0
    assert "Camera health" in capsys.readouterr().out


def test_eval_cli_without_faults_in_truth_skips_health(tmp_path, capsys):
    d = _scan_dir(tmp_path, [iv("frozen", 10, 20)])
    assert main(["eval", str(d), str(_truth(tmp_path, None)), "--json"]) == 0
    assert "health" not in json.loads(capsys.readouterr().out)


def test_scan_without_coverage_is_a_clear_error(tmp_path, capsys):
    d = _scan_dir(tmp_path, [], coverage=False)
    with pytest.raises(TruthError, match="no coverage"):
        load_scan_coverage(d)
    assert main(["eval", str(d), str(_truth(tmp_path, []))]) == 2
    assert "no coverage" in capsys.readouterr().err
