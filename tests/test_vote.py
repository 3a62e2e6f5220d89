"""Label vote over a track and matching of track boxes to detections."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from borderwatch.track.vote import LabelVote, assign_labels

Obs = list[tuple[str, float]]


@pytest.mark.parametrize(
    "observations,expected",
    [
        pytest.param([], ("unknown", 0.0), id="no-observation"),
        pytest.param([("person", 0.8)], ("person", 1.0), id="single"),
        pytest.param(
            [("person", 0.5), ("animal", 0.5), ("person", 1.0)], ("person", 0.75), id="majority"
        ),
        # Many weak agreeing looks beat one confident mistake.
        pytest.param(
            [("vehicle", 0.95)] + [("person", 0.4)] * 3, ("person", 1.2 / 2.15), id="weak-many"
        ),
        # Exact tie on summed score: the label seen more often wins ...
        pytest.param(
            [("animal", 0.5), ("animal", 0.5), ("person", 1.0)], ("animal", 0.5), id="tie-count"
        ),
        # ... then the fixed order person > vehicle > animal, regardless of arrival order.
        pytest.param([("animal", 0.5), ("vehicle", 0.5)], ("vehicle", 0.5), id="tie-priority"),
        pytest.param([("vehicle", 0.5), ("person", 0.5)], ("person", 0.5), id="tie-priority-2"),
        # Float summation order must not flip a tie (0.1 + 0.2 != 0.3 in binary).
        pytest.param(
            [("vehicle", 0.1), ("vehicle", 0.2), ("person", 0.3), ("animal", 0.05)],
            ("vehicle", 0.3 / 0.65),
            id="tie-float-noise-count-wins",
        ),
        pytest.param([("zebra-ish", 0.5), ("other", 0.5)], ("other", 0.5), id="tie-alpha"),
        pytest.param(
            [("person", 0.0), ("person", float("nan"))], ("unknown", 0.0), id="no-weight"
        ),
    ],
)
def test_vote_table(observations: Obs, expected: tuple[str, float]) -> None:
    v = LabelVote()
    for label, score in observations:
        v.add(1, label, score)
    label, conf = v.result(1)
    assert label == expected[0]
    assert conf == pytest.approx(expected[1])


def test_tracks_are_independent_and_drop_evicts() -> None:
    v = LabelVote()
    v.add(1, "person", 0.9)
    v.add(2, "animal", 0.7)
    assert v.result(1) == ("person", 1.0) and v.result(2) == ("animal", 1.0)
    v.drop(1)
    v.drop(99)  # unknown id is not an error
    assert 1 not in v and 2 in v and len(v) == 1
    assert v.result(1) == ("unknown", 0.0)


def test_memory_is_bounded_by_max_tracks() -> None:
    v = LabelVote(max_tracks=3)
    for tid in range(1000):
        v.add(tid, "person", 0.5)
    assert len(v) == 3
    assert v.result(0) == ("unknown", 0.0) and v.result(999)[0] == "person"


def test_recently_updated_track_survives_eviction() -> None:
    v = LabelVote(max_tracks=2)
    v.add(1, "person", 0.5)
    v.add(2, "person", 0.5)
    v.add(1, "person", 0.5)  # 1 is now the most recent
    v.add(3, "animal", 0.5)  # evicts 2, the least recently updated
    assert 1 in v and 2 not in v and 3 in v


def test_update_takes_assign_labels_output() -> None:
    v = LabelVote()
    v.update([4, 5, 6], [("vehicle", 0.6), None, ("animal", 0.2)])
    assert v.result(4) == ("vehicle", 1.0)
    assert 5 not in v
    with pytest.raises(ValueError):
        v.update([1, 2], [None])


def _det(boxes: list[list[float]], names: list[str], scores: list[float]) -> sv.Detections:
    return sv.Detections(
        xyxy=np.array(boxes, np.float32).reshape(-1, 4),
        confidence=np.array(scores, np.float32),
        class_id=np.zeros(len(boxes), int),
        data={"class_name": np.array(names)},
    )


PERSON_BOX = [100, 100, 140, 200]  # 40 x 100


@pytest.mark.parametrize(
    "track,expected",
    [
        pytest.param([100, 100, 140, 200], "person", id="same-box"),
        # Only the moving legs: IoU 0.15, but fully inside the person box.
        pytest.param([110, 170, 130, 200], "person", id="fragment-inside"),
        # Person plus a long shadow: IoU = 4000 / 8000 = 0.5.
        pytest.param([100, 100, 180, 200], "person", id="blob-with-shadow"),
        # A huge blob containing a small detection is not enough (IoU 0.04).
        pytest.param([0, 0, 400, 250], None, id="small-det-in-huge-blob"),
        pytest.param([300, 300, 340, 400], None, id="disjoint"),
        # IoU 0.23, detection covers 0.375 of the track box.
        pytest.param([125, 100, 165, 200], None, id="weak-overlap"),
    ],
)
def test_assign_labels_measures(track: list[float], expected: str | None) -> None:
    det = _det([PERSON_BOX], ["person"], [0.9])
    (got,) = assign_labels(np.array([track], float), det)
    assert (got[0] if got else None) == expected


def test_assign_labels_prefers_better_overlap_then_score() -> None:
    det = _det(
        [[0, 0, 100, 100], [0, 0, 100, 100], [50, 0, 150, 100]],
        ["animal", "vehicle", "person"],
        [0.4, 0.8, 0.99],
    )
    out = assign_labels(np.array([[0, 0, 100, 100], [1000, 0, 1010, 10]], float), det)
    assert out == [("vehicle", pytest.approx(0.8)), None]


def test_assign_labels_empty_inputs() -> None:
    empty = _det([], [], [])
    assert assign_labels(np.array([[0, 0, 10, 10]], float), empty) == [None]
    assert assign_labels(np.empty((0, 4)), _det([PERSON_BOX], ["person"], [0.9])) == []
