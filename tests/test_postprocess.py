"""Post-processing of a synthetic raw output against an independent per-person computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aios_core.inference.postprocess import DEFAULT_SCORE_THRESHOLD, postprocess
from aios_core.inference.preprocess import PreparedBatch

GROUPS, CLASSES, JOINTS, VERTICES = 12, 2, 7, 9
ORIGINAL_HW = [(480, 640), (300, 200)]
RESIZED_HW = [(800, 1066), (1200, 800)]


def _batch() -> PreparedBatch:
    b = len(ORIGINAL_HW)
    original = torch.tensor(ORIGINAL_HW)
    resized = torch.tensor(RESIZED_HW)
    return PreparedBatch(
        images=torch.zeros(b, 3, 4, 4),
        padding_mask=torch.zeros(b, 4, 4, dtype=torch.bool),
        original_sizes=original,
        resized_sizes=resized,
        resize_scale_xy=(resized.flip(-1) / original.flip(-1)).float(),
    )


def _raw_outputs(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    b = len(ORIGINAL_HW)

    def rand(*shape):
        return torch.rand(*shape, generator=g)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    logits = randn(b, GROUPS, CLASSES) * 2.0
    logits[0, 3] = torch.tensor([4.0, 5.0])  # one query strong in both classes
    cam = torch.cat((0.5 + rand(b, GROUPS, 1), randn(b, GROUPS, 2) * 0.2), dim=-1)
    boxes = torch.cat((0.2 + 0.6 * rand(b, GROUPS, 2), 0.05 + 0.3 * rand(b, GROUPS, 2)), -1)
    return {
        "pred_logits": logits,
        "pred_boxes": boxes,
        "pred_lhand_boxes": rand(b, GROUPS, 4),
        "pred_rhand_boxes": rand(b, GROUPS, 4),
        "pred_face_boxes": rand(b, GROUPS, 4),
        "pred_keypoints": rand(b, GROUPS, 3 * 17),
        "pred_lhand_keypoints": rand(b, GROUPS, 3 * 6),
        "pred_rhand_keypoints": rand(b, GROUPS, 3 * 6),
        "pred_face_keypoints": rand(b, GROUPS, 3 * 6),
        "pred_smpl_expr": randn(b, GROUPS, 10),
        "pred_smpl_beta": randn(b, GROUPS, 10),
        "pred_smpl_cam": cam,
        "pred_smpl_kp3d": randn(b, GROUPS, JOINTS, 3) * 0.3,
        "pred_smpl_verts": randn(b, GROUPS, VERTICES, 3) * 0.3,
        "pred_smpl_fullpose": randn(b, GROUPS, 159),
    }


def _expected_people(out, image, threshold, num_select=50):
    """Straightforward per-person version of the official post-processing, in float64."""
    logits = out["pred_logits"][image].double().numpy()
    probability = 1.0 / (1.0 + np.exp(-logits))
    entries = sorted(
        ((probability[q, c], q) for q in range(GROUPS) for c in range(CLASSES)),
        key=lambda e: -e[0],
    )[:num_select]
    h, w = ORIGINAL_HW[image]
    people = []
    for score, q in entries:
        if score < threshold:
            break
        cx, cy, bw, bh = out["pred_boxes"][image, q].double().numpy()
        pose = out["pred_smpl_fullpose"][image, q].double().numpy()
        s, tx, ty = out["pred_smpl_cam"][image, q].double().numpy()
        transl = np.array([tx / s, ty / s, 1.0 / s])
        joints = out["pred_smpl_kp3d"][image, q].double().numpy() + transl
        rh, rw = RESIZED_HW[image]
        # Camera of the network: 5000 px focal length in the resized image, centred there.
        fx, fy = 5000.0 * w / rw, 5000.0 * h / rh
        projected = np.stack(
            (fx * joints[:, 0] / joints[:, 2] + w / 2, fy * joints[:, 1] / joints[:, 2] + h / 2),
            axis=-1,
        )
        keypoints = out["pred_keypoints"][image, q, :34].double().numpy().reshape(17, 2)
        people.append({
            "scores": score,
            "query_indices": q,
            "body_boxes_xyxy_px": np.array(
                [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
            ),
            "body_keypoints_px": keypoints * [w, h],
            "global_orient": pose[:3],
            "body_pose": pose[3:66].reshape(21, 3),
            "left_hand_pose": pose[66:111].reshape(15, 3),
            "right_hand_pose": pose[111:156].reshape(15, 3),
            "jaw_pose": pose[156:],
            "betas": out["pred_smpl_beta"][image, q].double().numpy(),
            "transl_m": transl,
            "joints_cam_m": joints,
            "vertices_cam_m": out["pred_smpl_verts"][image, q].double().numpy() + transl,
            "smplx_joints_px": projected,
        })
    return people


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.9])
def test_matches_independent_per_person_computation(threshold):
    out = _raw_outputs()
    results = postprocess(out, _batch(), threshold=threshold)
    assert len(results) == 2
    for image, result in enumerate(results):
        expected = _expected_people(out, image, threshold)
        assert len(result) == len(expected)
        assert result.image_size_hw == ORIGINAL_HW[image]
        for field in expected[0] if expected else []:
            want = np.array([person[field] for person in expected])
            np.testing.assert_allclose(
                getattr(result, field), want, rtol=1e-5, atol=1e-4, err_msg=field
            )


def test_top_k_counts_query_class_pairs():
    out = _raw_outputs()
    result = postprocess(out, _batch(), threshold=0.0, num_select=5)[0]
    assert len(result) == 5
    # Query 3 is the strongest in both classes, so it fills the first two slots.
    assert result.query_indices[:2].tolist() == [3, 3]
    assert np.all(np.diff(result.scores) <= 0)


def test_everything_is_in_original_pixels():
    out = _raw_outputs()
    # A box covering the whole (unpadded) network input covers the whole original image.
    out["pred_boxes"][:] = torch.tensor([0.5, 0.5, 1.0, 1.0])
    results = postprocess(out, _batch(), threshold=0.0)
    for (h, w), result in zip(ORIGINAL_HW, results, strict=True):
        assert len(result) == GROUPS * CLASSES  # fewer pairs than num_select
        np.testing.assert_allclose(
            result.body_boxes_xyxy_px, np.tile([0, 0, w, h], (len(result), 1)), atol=1e-3
        )
        np.testing.assert_allclose(result.principal_point_px, [w / 2, h / 2], rtol=1e-6)
    rh, rw = RESIZED_HW[0]
    h, w = ORIGINAL_HW[0]
    np.testing.assert_allclose(results[0].focal_px, [5000 * w / rw, 5000 * h / rh], rtol=1e-6)


def test_default_threshold_is_the_official_demo_default():
    out = _raw_outputs()
    default = postprocess(out, _batch())
    explicit = postprocess(out, _batch(), threshold=DEFAULT_SCORE_THRESHOLD)
    assert DEFAULT_SCORE_THRESHOLD == 0.3
    for a, b in zip(default, explicit, strict=True):
        np.testing.assert_array_equal(a.scores, b.scores)
        assert np.all(a.scores >= 0.3)


def test_threshold_above_every_score_gives_empty_results():
    results = postprocess(_raw_outputs(), _batch(), threshold=1.0)
    for result in results:
        assert len(result) == 0
        assert result.body_pose.shape == (0, 21, 3)
        assert result.vertices_cam_m.shape == (0, VERTICES, 3)
        assert list(result) == []


def test_invalid_threshold_is_rejected():
    with pytest.raises(ValueError, match="threshold"):
        postprocess(_raw_outputs(), _batch(), threshold=1.5)


def test_without_body_model_outputs_mesh_fields_are_none():
    out = _raw_outputs()
    del out["pred_smpl_kp3d"], out["pred_smpl_verts"]
    result = postprocess(out, _batch(), threshold=0.0)[0]
    assert result.joints_cam_m is None
    assert result.vertices_cam_m is None
    assert result.smplx_joints_px is None
    assert result[0].vertices_cam_m is None


def test_person_view_matches_batched_arrays():
    result = postprocess(_raw_outputs(), _batch(), threshold=0.0)[1]
    person = result[2]
    assert person.score == pytest.approx(float(result.scores[2]))
    np.testing.assert_array_equal(person.body_box_xyxy_px, result.body_boxes_xyxy_px[2])
    np.testing.assert_array_equal(person.right_hand_pose, result.right_hand_pose[2])
    np.testing.assert_array_equal(person.vertices_cam_m, result.vertices_cam_m[2])
    assert len(list(result)) == len(result)
    with pytest.raises(IndexError):
        result[len(result)]
