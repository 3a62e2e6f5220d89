"""Tracking details that decide crossing times: tracks that leave the picture, and
boxes that show only part of an object (occluded) or more than it (merged)."""

from __future__ import annotations

import numpy as np

from borderwatch.config import LineConfig, ScanConfig, TrackConfig
from borderwatch.scan.pipeline import Scanner, _Memo
from borderwatch.track import BlobTracker

W, H = 640, 360


def _box(cx: float, bottom: float, w: float = 20.0, h: float = 50.0) -> np.ndarray:
    return np.array([[cx - w / 2, bottom - h, cx + w / 2, bottom]], dtype=np.float32)


def test_a_track_that_left_the_picture_does_not_capture_a_newcomer():
    trk = BlobTracker(TrackConfig(), W, 0.04, H, edge_px=3.0)
    t, ids = 0.0, set()
    # Walks down and out through the bottom edge at 5 px a frame, the box cut by it.
    for k in range(40):
        bottom = min(H, 200 + 5 * k)
        h = 50.0 - max(0.0, 200 + 5 * k - H)
        if h <= 4:
            break
        out = trk.update(_box(420, bottom, h=h), t)
        ids.update(int(i) for i in out.track_id)
        t += 0.04
    assert len(ids) == 1
    first = ids.pop()
    # Half a second later another object enters 70 px to the left and walks up.
    t += 0.5
    later: set[int] = set()
    for k in range(10):
        out = trk.update(_box(350, H - 10 - 5 * k), t)
        later.update(int(i) for i in out.track_id)
        t += 0.04
    assert later and first not in later


def test_a_track_still_in_the_picture_is_found_again_after_a_gap():
    # Control for the test above: the same gap away from the edges keeps the id.
    trk = BlobTracker(TrackConfig(), W, 0.04, H, edge_px=3.0)
    t, ids = 0.0, set()
    for k in range(20):
        out = trk.update(_box(300, 100 + 2 * k), t)
        ids.update(int(i) for i in out.track_id)
        t += 0.04
    t += 0.5
    for k in range(5):
        out = trk.update(_box(300, 100 + 2 * (20 + 13 + k)), t)
        ids.update(int(i) for i in out.track_id)
        t += 0.04
    assert len(ids) == 1


def _walker_then_quiet(found_at: tuple[float, float], frames: int = 40) -> tuple[set[int], set[int]]:
    """A walker goes up at 2 px a frame for ``frames`` frames, is lost, and after 0.6 s
    without analysed frames (a quiet scene is analysed sparsely) one box is seen at
    ``found_at``."""
    trk = BlobTracker(TrackConfig(), W, 0.04, H, edge_px=3.0)
    walker: set[int] = set()
    for k in range(frames):
        walker.update(int(i) for i in trk.update(_box(186, 320 - 2 * k), 0.04 * k).track_id)
    later: set[int] = set()
    for k in range(3):
        later.update(int(i) for i in trk.update(_box(*found_at), 0.04 * (frames - 1 + 15 + k)).track_id)
    return walker, later


def test_a_lost_walker_does_not_take_a_box_beyond_his_own_reach():
    walker, later = _walker_then_quiet((486, 244))  # 300 px off; he walks 50 px/s
    assert len(walker) == 1 and later and not later & walker


def test_a_lost_walker_is_found_again_within_his_reach():
    # Control for the test above: 40 px further along his way.
    walker, later = _walker_then_quiet((186, 202))
    assert len(walker) == 1 and later == walker


def test_a_lost_walker_is_not_found_behind_where_he_was_going():
    # He walked 120 px up (more than twice his size: a clear heading) and is lost at
    # bottom 202; a box 60 px back down his way is within his reach but behind him
    # (occlusion-s10: a walker lost behind a bush took a patch behind him).
    walker, later = _walker_then_quiet((186, 262), frames=60)
    assert len(walker) == 1 and later and not later & walker
    # Control: as far along his way, he is found again.
    walker, later = _walker_then_quiet((186, 142), frames=60)
    assert len(walker) == 1 and later == walker


def test_a_patch_that_stayed_put_does_not_capture_a_walker_far_off():
    # A trail camera: one frame a second, so the distance gate spans much of the picture.
    trk = BlobTracker(TrackConfig(), W, 1.0, H, edge_px=3.0, sparse=True)
    trk.set_lost_seconds(3.5)
    patch: set[int] = set()
    for k in range(5):  # a flickering patch below the line, seen in five frames
        patch.update(int(i) for i in trk.update(_box(486, 244, w=14, h=26), float(k)).track_id)
    assert len(patch) == 1
    walker: set[int] = set()
    for k in range(4):  # it is gone; a walker comes down from the top, 330 px away
        walker.update(int(i) for i in trk.update(_box(157, 42 + 42 * k), 5.0 + k).track_id)
    assert walker and not walker & patch


def test_a_fast_mover_keeps_its_track_from_its_first_views():
    # Control for the test above: a new track has not moved yet either, but must still
    # be followed by distance when its object moves more than its size a frame.
    trk = BlobTracker(TrackConfig(), W, 0.04, H, edge_px=3.0)
    ids: set[int] = set()
    for k in range(8):
        ids.update(int(i) for i in trk.update(_box(100 + 60 * k, 200), 0.04 * k).track_id)
    assert len(ids) == 1


def _births_beside(parent: list[np.ndarray], piece: np.ndarray, sparse: bool = False) -> dict[int, bool]:
    """Boxes ``parent[k]`` are tracked one per frame; on the last three frames ``piece``
    appears beside it (and moves 50 px a frame to the left): ``{track id: fragment}``
    of the births reported, but the parent's."""
    dt = 1.0 if sparse else 0.1
    trk = BlobTracker(TrackConfig(), W, dt, H, edge_px=3.0, sparse=sparse)
    births: dict[int, bool] = {}
    for k, box in enumerate(parent):
        boxes = box.reshape(1, 4).astype(np.float32)
        j = k - (len(parent) - 3)
        if j >= 0:
            boxes = np.concatenate([boxes, piece + [[-50 * j, 0, -50 * j, 0]]])
        out = trk.update(boxes, dt * k)
        births.update({tid: b.fragment for tid, b in out.births.items() if b.time_s > 0})
    return births


def _walker(shrink_from: int) -> list[np.ndarray]:
    """A walker going right 60 px a frame (more than his size by frame 5, so he is not
    parked), whose box shrinks from the top (leaving the picture bottom-first, or
    breaking up) from frame ``shrink_from`` on."""
    return [np.array([60 * k, 100 + 40 * max(0, k - shrink_from + 1), 100 + 60 * k, 300]) for k in range(9)]


# Inside the walker's box of frame 5 (x 300-400, y 100-300), not of frame 6 (x 360-460,
# y 140-300).
PIECE = np.array([[310, 110, 350, 130]], np.float32)


def test_a_piece_broken_off_a_tracked_blob_is_a_fragment():
    # Its spawning box is not shown to the counters (the scanner skips fragments).
    assert list(_births_beside(_walker(6), PIECE).values()) == [True]


def test_a_newcomer_beside_a_tracked_blob_is_no_fragment():
    # Controls: the same box outside the walker's boxes, and the piece on a trail camera,
    # where a second is long enough for a new object to stand where a walker stood.
    assert list(_births_beside(_walker(6), PIECE + [[200, 0, 200, 0]]).values()) == [False]
    assert list(_births_beside(_walker(6), PIECE, sparse=True).values()) == [False]


def test_on_a_trail_camera_a_piece_of_a_flickering_patch_is_a_fragment():
    # trailcam-s5: a patch that never moved flickers below the line in pieces.
    patch = [np.array([240, 220, 264, 278]) + [2 * (k % 2), 0, 0, 0] for k in range(9)]
    piece = np.array([[242, 222, 252, 238]], np.float32)
    births = _births_beside(patch, piece, sparse=True)
    assert births and all(births.values()), births


def _merge_then_split(frames: range, merged: range) -> tuple[list[int], list[int], set[int], int, int]:
    """A walks right at 2 px a frame, B up at 4 px a frame, swaying 5 px a frame to the
    right in its last 3 frames before ``merged`` (a gait's sway: its Kalman filter takes
    it for a velocity); while ``merged`` their blobs are one box (their union). Returns
    the ids on A's and on B's box per frame after the merge, every id reported as hosting
    during it, and A's and B's ids before it."""
    trk = BlobTracker(TrackConfig(), W, 0.04, H, edge_px=3.0)
    on_a: list[int] = []
    on_b: list[int] = []
    hosting: set[int] = set()
    before: dict[str, int] = {}
    for k in frames:
        a = np.array([30 + 2 * k, 150, 90 + 2 * k, 210], np.float32)
        sway = 5 * min(3, max(0, k - merged.start + 4))
        b = np.array([150 + sway, 350 - 4 * k, 210 + sway, 410 - 4 * k], np.float32)
        if k in merged:
            boxes = np.array([[min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]], np.float32)
        else:
            boxes = np.stack([a, b])
        out = trk.update(boxes, 0.04 * k)
        hosting |= set(out.hosting) if k in merged else set()
        if k in merged:
            continue
        near = {int(i): bx for bx, i in zip(out.xyxy, out.track_id)}
        id_a = next((i for i, bx in near.items() if np.abs(bx - a).max() < 8), -1)
        id_b = next((i for i, bx in near.items() if np.abs(bx - b).max() < 8), -1)
        if k < merged.start:
            before = {"a": id_a, "b": id_b}
        else:
            on_a.append(id_a)
            on_b.append(id_b)
    return on_a, on_b, hosting, before["a"], before["b"]


def test_two_objects_merged_into_one_blob_keep_their_tracks_when_it_splits():
    # animal-s7: a crossing animal walked into a wandering one's blob and out of its
    # top; at the split the two tracks swapped and the crossing was timed 5 frames late.
    on_a, on_b, hosting, id_a, id_b = _merge_then_split(range(72), range(40, 65))
    assert id_a >= 0 and id_b >= 0 and id_a != id_b
    assert set(on_a) == {id_a} and set(on_b) == {id_b}
    # While merged, the blob's track holds the other object too: its box edges may be
    # the other's, and the scanner does not show them to the counters.
    assert hosting and hosting <= {id_a, id_b}


def _scanner() -> Scanner:
    cfg = ScanConfig(lines=[LineConfig(points=[(0.0, 0.5), (1.0, 0.5)])])
    return Scanner(cfg, W, H, sparse=False, frame_interval=0.04)


def _views(boxes: list[tuple[float, float, float, float]]) -> list[str]:
    """What the scanner makes of a track's boxes, one per frame."""
    sc = _scanner()
    out = []
    m = _Memo(0, 0, 0.0, np.zeros(2), 0)
    for k, b in enumerate(boxes):
        box = np.array(b, dtype=np.float64)
        pt = sc._ground_point(box)
        m.observed += 1
        left, top, right, bottom = sc._borders(box)
        out.append(sc._view(m, box, pt, left or right or bottom, top, 0.04 * k))
    return out


def test_a_box_whose_legs_are_hidden_is_not_a_whole_view():
    whole = [(300, 100 + 2 * k, 320, 150 + 2 * k) for k in range(6)]
    # A bush's top edge at y = 170: the box bottom stays there while the walker goes on.
    hidden = [(300, 112 + 2 * k, 320, 170) for k in range(6, 12)]
    # 46 px of a usual 50 is within the gait's spread; from 44 px on the box is short.
    assert _views(whole + hidden)[6:] == ["whole"] + ["hidden"] * 5


def test_an_object_shrinking_with_distance_is_never_taken_as_hidden():
    # Height and width shrink together: perspective, not occlusion. Its bottom stays its
    # ground point ("short" views are shown to the counters).
    boxes = [(300, 200 - 4 * k, 300 + 40 - 2 * k, 200 - 4 * k + 80 - 4 * k) for k in range(14)]
    views = _views(boxes)
    assert views[:3] == ["whole"] * 3 and set(views) <= {"whole", "short"} and "short" in views


def _walk_up(sc: Scanner, m: _Memo, frames: int, bottom0: float = 250.0) -> float:
    """Feed ``frames`` whole views of a 50 px walker going up 2 px a frame; returns the time."""
    t = 0.0
    for k in range(frames):
        box = np.array([300, bottom0 - 50 - 2 * k, 320, bottom0 - 2 * k], dtype=np.float64)
        m.observed += 1
        assert sc._view(m, box, sc._ground_point(box), False, False, t) == "whole"
        t += 0.04
    return t


def _after_walk(box: tuple[float, float, float, float], dt: float, true_bottom: float) -> tuple[str, np.ndarray, bool | None, float]:
    """A box seen ``dt`` s after the walk of :func:`_walk_up` (8 frames): its view, the
    placed ground point, whether the placing is clear, and the ground y of a walker
    whose feet are at ``true_bottom``."""
    sc = _scanner()
    m = _Memo(0, 0, 0.0, np.zeros(2), 0)
    t = _walk_up(sc, m, 8)
    b = np.array(box, dtype=np.float64)
    m.observed += 1
    view = sc._view(m, b, sc._ground_point(b), False, False, t + dt)
    ground, clear = sc._place(m, b, sc._ground_point(b), t + dt)
    return view, ground, clear, true_bottom - sc.motion.ground_bias


def test_a_walker_whose_head_a_bush_hides_keeps_its_feet_as_ground():
    # The bush's lower edge at y = 212 hides the head; the feet go on rising.
    view, ground, clear, truth = _after_walk((300, 212, 320, 230), 0.04, 230)
    assert view == "hidden" and clear is True
    assert abs(ground[1] - truth) <= 1.0


def test_a_walker_whose_legs_a_bush_hides_is_placed_by_its_head():
    # The bush's top edge at y = 222 hides the legs; the head goes on rising.
    view, ground, clear, truth = _after_walk((300, 180, 320, 222), 0.04, 230)
    assert view == "hidden" and clear is True
    assert abs(ground[1] - truth) <= 1.0


def test_a_box_showing_only_the_middle_is_not_placed():
    # Bushes above and below: only the torso between y = 200 and 215 shows. Neither the
    # box bottom nor its top plus the usual height is where the walker stands.
    view, _, clear, _ = _after_walk((300, 200, 320, 215), 0.04, 230)
    assert view == "hidden" and clear is False


def test_no_placing_by_a_prediction_older_than_its_evidence():
    # Out of sight for longer than its recent views span: coming out from behind the
    # bush, neither end of the box is trusted by guesswork.
    sc = _scanner()
    m = _Memo(0, 0, 0.0, np.zeros(2), 0)
    _walk_up(sc, m, 8)  # seen for 0.28 s, then 2.1 s out of sight
    k = 60
    box = np.array([300, 250 - 2 * k - 50, 320, 250 - 2 * k - 10], dtype=np.float64)
    _, clear = sc._place(m, box, sc._ground_point(box), 0.04 * k)
    assert clear is None


def test_a_box_merged_with_a_neighbour_takes_its_ground_from_its_own_edge():
    # Walks up at 2 px a frame; then a parked object below it joins its blob, whose
    # bottom stays at y = 260 while the top (the walker's head) goes on rising.
    view, ground, _, truth = _after_walk((300, 176, 320, 260), 0.16, 226)
    assert view == "merged"
    assert abs(ground[1] - truth) <= 2.0


def test_a_box_cut_by_the_top_border_keeps_its_ground_point():
    # Enters from the top (the box grows out of the border), walks down, turns and
    # leaves through the top (the box shrinks into it). Its bottom is its own throughout.
    entering = [(300, 0, 320, 6 + 6 * k) for k in range(8)]
    walking = [(300, 2 * k, 320, 50 + 2 * k) for k in range(1, 8)]
    leaving = [(300, 0, 320, 40 - 4 * k) for k in range(8)]
    assert set(_views(entering + walking + leaving)) == {"whole"}


def test_a_wide_merged_box_is_merged_whatever_its_shape():
    # A neighbour walking along beside and below the track: the union box is taller
    # but, being wider too, keeps nearly the usual height/width ratio.
    view, ground, clear, truth = _after_walk((270, 182, 320, 252), 0.0, 232)
    assert view == "merged" and clear is True
    assert abs(ground[1] - truth) <= 1.0


def test_height_follows_perspective_from_recent_whole_views():
    from collections import deque

    from borderwatch.scan.pipeline import _height_at

    # A walker coming towards the camera: feet 2 px lower and height 0.6 px more a frame.
    grows = deque((150.0 + 2 * k, 45.0 + 0.6 * k) for k in range(8))
    usual = 46.8  # the lower middle of the last five, behind the walker's growth
    assert abs(_height_at(grows, 190.0, usual) - (45.0 + 0.6 * 20)) < 0.5
    # Clamped: a fit is not stretched far beyond what was seen.
    assert _height_at(grows, 400.0, usual) == 1.33 * usual
    # Nothing to go by: too few views, too few rows spanned, or a shrinking height as
    # the feet come nearer (box noise, not perspective).
    assert _height_at(deque(list(grows)[:3]), 190.0, usual) == usual
    assert _height_at(deque((150.0 + 0.5 * k, 45.0 + k) for k in range(8)), 190.0, usual) == usual
    assert _height_at(deque((150.0 + 2 * k, 50.0 - 0.6 * k) for k in range(8)), 190.0, usual) == usual


def _views_of(sc: Scanner, m: _Memo, heights: list[float], t0: float = 0.0) -> list[str]:
    """Views of a walker going up 2 px a frame with these box heights, one a frame."""
    out = []
    for k, h in enumerate(heights):
        bottom = 300.0 - 2 * k
        box = np.array([300, bottom - h, 318, bottom], dtype=np.float64)
        m.observed += 1
        out.append(sc._view(m, box, sc._ground_point(box), False, False, t0 + 0.04 * k))
    return out


def test_a_height_learned_from_a_head_coming_out_of_a_bush_is_soon_relearned():
    # Head first out of the bush: two views 12 and 14 px high set the usual height;
    # then the whole 50 px walker, steady. After a second he is whole again, not
    # "merged" for the 3 s that a height learned from enough views is trusted.
    sc = _scanner()
    m = _Memo(0, 0, 0.0, np.zeros(2), 0)
    views = _views_of(sc, m, [12, 14, 16, 20, 22] + [50.0] * 40)
    assert views[5:25] == ["merged"] * 20
    assert views[-1] == "whole"


def test_a_well_learned_height_is_kept_through_a_long_merge():
    # Control for the test above: five views of 50 px, then 70 px boxes for 1.6 s (a
    # neighbour joined) stay "merged".
    sc = _scanner()
    m = _Memo(0, 0, 0.0, np.zeros(2), 0)
    views = _views_of(sc, m, [50.0] * 8 + [70.0] * 40)
    assert views[:8] == ["whole"] * 8
    assert set(views[8:]) == {"merged"}

