import numpy as np
import pytest

from aios_core.tracking import PersonTracker, TrackerConfig
from aios_core.tracking.tracker import box_iou

K = 17
# A fixed body layout in box-relative coordinates (x, y in [0, 1]).
_TEMPLATE = np.random.default_rng(0).uniform(0.1, 0.9, size=(K, 2))


def person(x_left: float, y_top: float, width: float, height: float, rng=None):
    """Box (4,) and keypoints (K, 2) of a synthetic person, with optional pixel noise."""
    box = np.array([x_left, y_top, x_left + width, y_top + height])
    kps = np.array([x_left, y_top]) + _TEMPLATE * np.array([width, height])
    if rng is not None:
        box = box + rng.normal(0, 1.0, 4)
        kps = kps + rng.normal(0, 2.0, kps.shape)
    return box, kps


def run(tracker: PersonTracker, frames: list[list[tuple]], rng) -> list[dict[str, int]]:
    """Feed frames of named detections in shuffled order; ids per name per frame."""
    out = []
    for detections in frames:
        order = rng.permutation(len(detections))
        names = [detections[i][0] for i in order]
        boxes = np.array([detections[i][1] for i in order]).reshape(-1, 4)
        kps = np.array([detections[i][2] for i in order]).reshape(-1, K, 2)
        ids = tracker.update(boxes, kps, np.ones(len(order)))
        out.append(dict(zip(names, ids.tolist(), strict=True)))
    return out


def test_two_people_crossing_keep_their_ids():
    rng = np.random.default_rng(1)
    frames = []
    for f in range(30):
        # A walks right, B walks left; they overlap almost completely mid-sequence.
        a = person(20 + 10 * f, 50, 60, 160, rng)
        b = person(310 - 10 * f, 60, 55, 150, rng)
        frames.append([("a", *a), ("b", *b)])
    ids = run(PersonTracker(), frames, rng)
    assert len({d["a"] for d in ids}) == 1
    assert len({d["b"] for d in ids}) == 1
    assert ids[0]["a"] != ids[0]["b"]


def test_crossing_with_box_only_detections():
    rng = np.random.default_rng(2)
    tracker = PersonTracker()
    seen = {"a": set(), "b": set()}
    for f in range(30):
        a, _ = person(20 + 10 * f, 50, 60, 160, rng)
        b, _ = person(310 - 10 * f, 60, 55, 150, rng)
        swap = f % 2 == 1
        boxes = np.stack([b, a] if swap else [a, b])
        ids = tracker.update(boxes)
        seen["a"].add(int(ids[1] if swap else ids[0]))
        seen["b"].add(int(ids[0] if swap else ids[1]))
    assert len(seen["a"]) == 1 and len(seen["b"]) == 1 and seen["a"] != seen["b"]


@pytest.mark.parametrize("missing, same_id", [(3, True), (5, True), (6, False), (12, False)])
def test_short_gaps_keep_the_id_long_gaps_do_not(missing, same_id):
    rng = np.random.default_rng(3)
    tracker = PersonTracker(TrackerConfig(max_age=5))
    frames = []
    for f in range(10 + missing + 5):
        walker = person(10 + 4 * f, 40, 50, 140, rng)
        bystander = person(400, 40, 50, 140, rng)
        visible = f < 10 or f >= 10 + missing
        frames.append(([("walker", *walker)] if visible else []) + [("bystander", *bystander)])
    ids = run(tracker, frames, rng)
    before = {d["walker"] for d in ids[:10]}
    after = {d["walker"] for d in ids[10 + missing :]}
    assert len(before) == 1 and len(after) == 1
    assert (before == after) is same_id
    assert len({d["bystander"] for d in ids}) == 1
    # A new id is a fresh one, never the bystander's.
    assert not after & {ids[0]["bystander"]}


def test_new_people_get_new_ids_and_ids_are_never_reused():
    rng = np.random.default_rng(4)
    tracker = PersonTracker(TrackerConfig(max_age=2))
    frames = [[("a", *person(10, 10, 50, 120, rng))] for _ in range(5)]
    frames += [[("a", *person(10, 10, 50, 120, rng)), ("c", *person(300, 20, 50, 120, rng))]]
    frames += [[] for _ in range(4)]  # everyone leaves long enough to be forgotten
    frames += [[("a", *person(10, 10, 50, 120, rng))]]  # same place, but a new track
    ids = run(tracker, frames, rng)
    a_first, c_first, a_back = ids[0]["a"], ids[5]["c"], ids[-1]["a"]
    assert {d["a"] for d in ids[:6]} == {a_first}
    assert len({a_first, c_first, a_back}) == 3
    assert a_back > c_first > a_first


def test_gating_rejects_distant_matches_and_low_scores_do_not_start_tracks():
    tracker = PersonTracker(TrackerConfig(min_new_track_score=0.5))
    box, kps = person(0, 0, 50, 100)
    first = tracker.update(box[None], kps[None], np.array([0.9]))
    far_box, far_kps = person(500, 0, 50, 100)
    ids = tracker.update(
        np.stack([far_box, box + 1]), np.stack([far_kps, kps + 1]), np.array([0.3, 0.9])
    )
    assert ids[1] == first[0]
    assert ids[0] == -1  # unmatched (too far) and too weak to start a track
    assert len(tracker.tracks) == 1


def test_box_iou_against_hand_computed_values():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 5.0, 15.0, 15.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]])
    np.testing.assert_allclose(box_iou(a, b), [[25 / 175, 0.0, 1.0]])
