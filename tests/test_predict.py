"""predict_images end to end with a stand-in network: batching, devices, units, threshold."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aios_core.inference.predict import predict_images
from aios_core.inference.preprocess import prepare_batch

GROUPS = 4
# Per query, class-1 probability: two people above the default threshold 0.3, two below.
PERSON_SCORES = torch.tensor([0.9, 0.2, 0.6, 0.1])


class _StandInNetwork(nn.Module):
    """Returns the official output keys; every person's body box spans the valid image."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls = []

    def forward(self, images, padding_mask):
        self.calls.append((images.clone(), padding_mask.clone(), torch.is_inference_mode_enabled()))
        b = images.shape[0]
        logits = torch.stack(
            (torch.full((GROUPS,), -9.0), torch.logit(PERSON_SCORES)), dim=-1
        ).expand(b, GROUPS, 2)
        full_box = torch.tensor([0.5, 0.5, 1.0, 1.0]).expand(b, GROUPS, 4)
        cam = torch.tensor([0.25, 0.0, 0.0]).expand(b, GROUPS, 3)
        joints = torch.zeros(b, GROUPS, 3, 3)
        joints[..., 0] = torch.tensor([0.0, 0.5, -0.5])  # on the optical axis, right, left
        return {
            "pred_logits": logits * self.scale,
            "pred_boxes": full_box,
            "pred_lhand_boxes": full_box,
            "pred_rhand_boxes": full_box,
            "pred_face_boxes": full_box,
            "pred_keypoints": torch.full((b, GROUPS, 51), 0.5),
            "pred_lhand_keypoints": torch.full((b, GROUPS, 18), 0.5),
            "pred_rhand_keypoints": torch.full((b, GROUPS, 18), 0.5),
            "pred_face_keypoints": torch.full((b, GROUPS, 18), 0.5),
            "pred_smpl_expr": torch.zeros(b, GROUPS, 10),
            "pred_smpl_beta": torch.zeros(b, GROUPS, 10),
            "pred_smpl_cam": cam,
            "pred_smpl_kp3d": joints,
            "pred_smpl_verts": torch.zeros(b, GROUPS, 5, 3),
            "pred_smpl_fullpose": torch.zeros(b, GROUPS, 159),
        }


def _images():
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (48, 64, 3), dtype=np.uint8),
        rng.integers(0, 256, (90, 60, 3), dtype=np.uint8),
    ]


def test_predict_runs_one_batch_per_input_size_in_inference_mode():
    network = _StandInNetwork()
    images = _images() + [_images()[0]]  # two of one size, one of another
    predict_images(network, images)
    assert len(network.calls) == 2
    for (seen_images, seen_mask, inference_mode), members in zip(
        network.calls, ([images[0], images[2]], [images[1]]), strict=True
    ):
        expected = prepare_batch(members, "cpu")
        assert torch.equal(seen_images, expected.images)
        assert torch.equal(seen_mask, expected.padding_mask)
        assert inference_mode


def test_mixed_sizes_give_the_same_results_as_one_by_one():
    images = _images()
    together = predict_images(_StandInNetwork(), images)
    alone = [predict_images(_StandInNetwork(), [image])[0] for image in images]
    for joint, single in zip(together, alone, strict=True):
        assert joint.image_size_hw == single.image_size_hw
        np.testing.assert_allclose(joint.body_boxes_xyxy_px, single.body_boxes_xyxy_px, atol=1e-4)
        np.testing.assert_allclose(joint.scores, single.scores, atol=1e-6)


def test_predict_returns_people_in_original_pixels():
    results = predict_images(_StandInNetwork(), _images())
    assert [r.image_size_hw for r in results] == [(48, 64), (90, 60)]
    for result in results:
        h, w = result.image_size_hw
        # Default threshold 0.3 keeps queries 0 and 2, best first.
        assert result.query_indices.tolist() == [0, 2]
        np.testing.assert_allclose(result.scores, [0.9, 0.6], rtol=1e-5)
        np.testing.assert_allclose(result.body_boxes_xyxy_px, [[0, 0, w, h]] * 2, atol=1e-3)
        np.testing.assert_allclose(result.body_keypoints_px[0], [[w / 2, h / 2]] * 17, atol=1e-3)
        np.testing.assert_allclose(result.transl_m, [[0, 0, 4.0]] * 2, rtol=1e-6)
        # A joint on the optical axis lands on the principal point (the image centre); one
        # 0.5 m to the side at 4 m depth lands fx * 0.125 px away.
        joints_px = result.smplx_joints_px[0]
        np.testing.assert_allclose(joints_px[0], [w / 2, h / 2], atol=1e-3)
        np.testing.assert_allclose(joints_px[1, 0] - w / 2, result.focal_px[0] * 0.125, rtol=1e-5)
        np.testing.assert_allclose(result.vertices_cam_m[0], [[0, 0, 4.0]] * 5, rtol=1e-6)


def test_explicit_threshold():
    results = predict_images(_StandInNetwork(), _images(), threshold=0.05)
    assert [len(r) for r in results] == [4, 4]
    assert results[0].query_indices.tolist() == [0, 2, 1, 3]
