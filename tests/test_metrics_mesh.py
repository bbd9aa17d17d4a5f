import numpy as np
import pytest

from aios_core.evaluation.aios_protocol import match_by_body_keypoints, ubody_visible_vertices
from aios_core.evaluation.alignment import similarity_align
from aios_core.evaluation.mesh_errors import (
    MeshPartIds,
    PersonErrorSums,
    hand_joint_regressors,
    vertex_error_sums,
)
from aios_core.evaluation.mesh_summary import (
    distributed_batches,
    evaluate_mesh_benchmark,
    sequential_batches,
    summarize_mesh_errors,
)

V = 10475
IDS = MeshPartIds(left_hand=np.arange(1000, 1100), right_hand=np.arange(2000, 2100),
                  face=np.arange(3000, 3200))


def make_regressor() -> np.ndarray:
    """Each joint: the mean of 5 vertices below 600, away from the hand/face ids."""
    reg = np.zeros((55, V))
    for j in range(55):
        reg[j, 10 * j:10 * j + 5] = 0.2
    return reg


J_REG = make_regressor()
J14 = J_REG[:14]


def gt_meshes(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.3, size=(n, V, 3))


def shift_left_hand(meshes: np.ndarray, shifts_m) -> np.ndarray:
    out = meshes.copy()
    for i, s in enumerate(shifts_m):
        out[i, IDS.left_hand, 0] += s
    return out


def test_translation_costs_nothing():
    gt = gt_meshes(2)
    result = evaluate_mesh_benchmark("arctic", gt + [0.3, -0.2, 2.0], gt, J_REG, IDS)
    for value in result.metrics_mm.values():
        assert value == pytest.approx(0.0, abs=1e-9)


def test_a_shifted_hand_gives_its_distance_only_in_pve():
    gt = gt_meshes(1)
    pred = shift_left_hand(gt, [0.01])  # 10 mm; the wrist (regressed from vertices < 600) stays
    m = evaluate_mesh_benchmark("arctic", pred, gt, J_REG, IDS).metrics_mm
    assert m["mpvpe_l_hand"] == pytest.approx(10.0)
    assert m["pa_mpvpe_l_hand"] == pytest.approx(0.0, abs=1e-9)  # a pure translation of the part
    assert m["mpvpe_r_hand"] == pytest.approx(0.0)
    assert m["mpvpe_hand"] == pytest.approx(5.0)
    assert m["mpvpe_all"] == pytest.approx(10.0 * 100 / V)


def test_similarity_of_gt_gives_zero_pa_and_the_analytic_pve():
    gt = gt_meshes(1)
    pelvis = J_REG[0] @ gt[0]
    pred = (pelvis + 2.0 * (gt[0] - pelvis))[None]  # scaled x2 about the pelvis
    m = evaluate_mesh_benchmark("arctic", pred, gt, J_REG, IDS).metrics_mm
    for key in ("pa_mpvpe_all", "pa_mpvpe_l_hand", "pa_mpvpe_r_hand", "pa_mpvpe_face"):
        assert m[key] == pytest.approx(0.0, abs=1e-8)
    expected = 1000 * np.linalg.norm(gt[0] - pelvis, axis=1).mean()
    assert m["mpvpe_all"] == pytest.approx(expected)


def test_quirks_average_batches_only_when_batch_size_matters():
    gt = gt_meshes(3)
    pred = shift_left_hand(gt, [0.010, 0.020, 0.060])
    key = "mpvpe_l_hand"
    fair = evaluate_mesh_benchmark("ehf", pred, gt, J_REG, IDS, j14_regressor=J14)
    assert fair.metrics_mm[key] == pytest.approx(30.0)
    quirky = evaluate_mesh_benchmark("ehf", pred, gt, J_REG, IDS, j14_regressor=J14,
                                     official_quirks=True, batch_size=2)
    assert quirky.metrics_mm[key] == pytest.approx((15.0 + 60.0) / 2)  # batches {0,1}, {2}
    one_each = evaluate_mesh_benchmark("ehf", pred, gt, J_REG, IDS, j14_regressor=J14,
                                       official_quirks=True, batch_size=1)
    assert one_each.metrics_mm[key] == pytest.approx(30.0)
    # Equal batches: the pooled mean of batch means equals the per-person mean.
    gt4 = gt_meshes(4)
    pred4 = shift_left_hand(gt4, [0.010, 0.020, 0.060, 0.030])
    even = [evaluate_mesh_benchmark("arctic", pred4, gt4, J_REG, IDS, official_quirks=q,
                                    batch_size=2).metrics_mm[key] for q in (False, True)]
    assert even[0] == pytest.approx(even[1]) == pytest.approx(30.0)


def test_ehf_right_hand_pa_mpjpe_quirk():
    gt = gt_meshes(2)
    pred = gt + np.random.default_rng(3).normal(scale=0.01, size=gt.shape)
    _, right = hand_joint_regressors(J_REG)
    gt_j, aligned = right @ gt, similarity_align(right @ pred, right @ gt)
    correct = 1000 * np.linalg.norm(aligned - gt_j, axis=-1).mean()
    joint_axis = 1000 * np.sqrt(((aligned - gt_j) ** 2).sum(axis=1)).mean()
    fair = evaluate_mesh_benchmark("ehf", pred, gt, J_REG, IDS, j14_regressor=J14).metrics_mm
    quirky = evaluate_mesh_benchmark("ehf", pred, gt, J_REG, IDS, j14_regressor=J14,
                                     official_quirks=True, batch_size=1).metrics_mm
    assert fair["pa_mpjpe_r_hand"] == pytest.approx(correct)
    assert quirky["pa_mpjpe_r_hand"] == pytest.approx(joint_axis)
    assert joint_axis > 2 * correct
    # "Hands" uses the correct right-hand value in both modes.
    assert quirky["pa_mpjpe_hand"] == pytest.approx(fair["pa_mpjpe_hand"])


def test_hand_regressor_layout():
    left, right = hand_joint_regressors(J_REG)
    assert left.shape == right.shape == (21, V)
    np.testing.assert_array_equal(right[0], J_REG[21])
    np.testing.assert_array_equal(left[1:4], J_REG[[37, 38, 39]])
    assert left[4, 5361] == 1.0 and right[20, 8022] == 1.0 and right[20].sum() == 1.0


def test_ubody_visibility_and_the_zero_rule():
    gt = np.random.default_rng(5).normal(scale=0.005, size=(2, V, 3))
    gt[0, IDS.left_hand, 0] += 1.0  # 5000 px right of the centre: outside an 800 px image
    cam = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # depth 1, no shift
    image_wh = np.array([800.0, 600.0])
    visible = ubody_visible_vertices(gt, cam, image_wh)
    assert not visible[0, IDS.left_hand].any() and visible[1].all()
    assert visible[0].sum() == V - 100
    pred = shift_left_hand(gt, [0.040, 0.010])
    key = "mpvpe_l_hand"
    fair = evaluate_mesh_benchmark("ubody", pred, gt, J_REG, IDS, visible=visible).metrics_mm
    assert fair[key] == pytest.approx(10.0)  # person 0 has no visible left hand: left out
    assert fair["mpvpe_hand"] == pytest.approx((0.0 + 5.0) / 2)
    one_each = evaluate_mesh_benchmark("ubody", pred, gt, J_REG, IDS, visible=visible,
                                       official_quirks=True, batch_size=1).metrics_mm
    assert one_each[key] == pytest.approx((0.0 + 10.0) / 2)  # the empty part scores 0
    pooled = evaluate_mesh_benchmark("ubody", pred, gt, J_REG, IDS, visible=visible,
                                     official_quirks=True, batch_size=2).metrics_mm
    assert pooled[key] == pytest.approx(10.0)


def test_per_person_datasets_and_missing_face():
    gt = gt_meshes(3)
    pred = shift_left_hand(gt, [0.010, 0.020, 0.060])
    fair = evaluate_mesh_benchmark("egobody", pred, gt, J_REG, IDS)
    quirky = evaluate_mesh_benchmark("egobody", pred, gt, J_REG, IDS, official_quirks=True)
    assert fair.metrics_mm["mpvpe_l_hand"] == pytest.approx(30.0)
    assert quirky.metrics_mm["mpvpe_l_hand"] == pytest.approx(30.0)  # per person: no batches
    assert fair.metrics_mm["mpvpe_face"] == pytest.approx(0.0)
    assert quirky.metrics_mm["mpvpe_face"] is None
    assert quirky.to_dict()["metrics"]["pa_mpvpe_face"] is None


def test_chunked_sums_equal_one_pass():
    gt = gt_meshes(3)
    pred = shift_left_hand(gt, [0.010, 0.020, 0.060])
    whole = vertex_error_sums(pred, gt, J_REG, IDS)
    chunks = PersonErrorSums.concatenate([vertex_error_sums(pred[:1], gt[:1], J_REG, IDS),
                                          vertex_error_sums(pred[1:], gt[1:], J_REG, IDS)])
    for key, value in whole.sums_m.items():
        np.testing.assert_allclose(chunks.sums_m[key], value)
    expected = summarize_mesh_errors(whole, "arctic").metrics_mm
    assert summarize_mesh_errors(chunks, "arctic").metrics_mm == pytest.approx(expected)


def test_batch_layouts():
    assert [b.tolist() for b in sequential_batches(5, 2)] == [[0, 1], [2, 3], [4]]
    # 2 GPUs, 2 per GPU, 5 images: padded to 6 by repeating image 0; rank 0 gets 0, 2, 4 and
    # rank 1 gets 1, 3, 0; batches interleave rank by rank.
    assert [b.tolist() for b in distributed_batches(5, 2, 2)] == [[0, 2], [1, 3], [4], [0]]


def test_top1_prediction_is_matched_to_the_closest_gt():
    gt = np.stack([np.full((25, 2), 100.0), np.full((25, 2), 500.0)])
    pred = np.full((1, 25, 2), 480.0)
    pred_idx, gt_idx = match_by_body_keypoints(pred, gt, np.array([1000.0, 800.0]))
    assert pred_idx.tolist() == [0] and gt_idx.tolist() == [1]
    conf = np.ones((2, 25))
    assert match_by_body_keypoints(pred, gt, np.array([1000.0, 800.0]), conf)[1].tolist() == [1]
