"""The assembled AiOS network: checkpoint layout, head sharing, output contract, padding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aios_core.body.embedded_smplx import random_body_model_buffers
from aios_core.model.config import AiOSConfig
from aios_core.model.network import OUTPUT_KEYS, AiOS
from tests.tiny_network import TINY, build_tiny_network

STATE_DICT_TSV = Path(__file__).parent / "data" / "aios_state_dict.tsv"

@pytest.fixture(scope="module")
def tiny_model() -> AiOS:
    return build_tiny_network(seed=0)


def _images(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def _expected_shapes(batch: int, config: AiOSConfig) -> dict[str, tuple[int, ...]]:
    g = config.num_group
    return {
        "pred_logits": (batch, g, config.num_classes),
        "pred_boxes": (batch, g, 4),
        "pred_lhand_boxes": (batch, g, 4),
        "pred_rhand_boxes": (batch, g, 4),
        "pred_face_boxes": (batch, g, 4),
        "pred_keypoints": (batch, g, 3 * config.num_body_points),
        "pred_lhand_keypoints": (batch, g, 3 * config.num_hand_points),
        "pred_rhand_keypoints": (batch, g, 3 * config.num_hand_points),
        "pred_face_keypoints": (batch, g, 3 * config.num_face_points),
        "pred_smpl_pose": (batch, g, 22, 3, 3),
        "pred_smpl_rhand_pose": (batch, g, 15, 3, 3),
        "pred_smpl_lhand_pose": (batch, g, 15, 3, 3),
        "pred_smpl_jaw_pose": (batch, g, 1, 3, 3),
        "pred_smpl_expr": (batch, g, 10),
        "pred_smpl_beta": (batch, g, 10),
        "pred_smpl_cam": (batch, g, 3),
        "pred_smpl_kp3d": (batch, g, 144, 3),
        "pred_smpl_verts": (batch, g, 10475, 3),
        "pred_smpl_fullpose": (batch, g, 53 * 3),
    }


def _read_official_layout() -> dict[str, tuple[tuple[int, ...], str]]:
    """key -> (shape, dtype) from the TSV written from the official model (header line first)."""
    layout = {}
    for line in STATE_DICT_TSV.read_text().splitlines()[1:]:
        key, shape, dtype = line.split("\t")
        layout[key] = (tuple(int(n) for n in shape.split("x")), dtype)
    return layout


@pytest.mark.skipif(not STATE_DICT_TSV.exists(), reason="official key list not generated yet")
def test_state_dict_equals_the_official_layout():
    official = _read_official_layout()
    state = AiOS().state_dict()
    ours = {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()}
    assert sorted(set(official) - set(ours)) == []
    assert sorted(set(ours) - set(official)) == []
    mismatched = {k: (ours[k], official[k]) for k in ours if ours[k] != official[k]}
    assert mismatched == {}
    # Same order too, so a saved state dict reads like the official one.
    assert list(ours) == list(official)


def test_decoder_and_encoder_heads_are_the_network_heads(tiny_model):
    decoder = tiny_model.transformer.decoder
    for name in ("bbox_embed", "class_embed", "pose_embed", "pose_hw_embed", "bbox_hand_embed",
                 "bbox_hand_hw_embed", "pose_hand_embed", "pose_hand_hw_embed",
                 "bbox_face_embed", "bbox_face_hw_embed", "pose_face_embed", "pose_face_hw_embed"):
        assert getattr(decoder, name) is getattr(tiny_model, name)
    # Keypoint size heads repeat one module; the other lists hold independent copies.
    for name in ("pose_hw_embed", "pose_hand_hw_embed", "pose_face_hw_embed"):
        entries = list(getattr(tiny_model, name))
        assert all(entry is entries[0] for entry in entries)
    boxes = list(tiny_model.bbox_embed)
    assert len({id(b) for b in boxes}) == len(boxes) == TINY.dec_layers
    assert tiny_model.transformer.enc_out_bbox_embed not in boxes
    keys = tiny_model.state_dict().keys()
    assert "transformer.decoder.pose_hw_embed.1.layers.0.weight" in keys
    assert "pose_hw_embed.1.layers.0.weight" in keys


def test_head_list_lengths_follow_the_stages(tiny_model):
    model = tiny_model
    after_box = TINY.dec_layers - TINY.num_box_decoder_layers
    after_parts = TINY.dec_layers - TINY.num_hand_face_decoder_layers
    assert len(model.pose_embed) == after_box + 1  # 17 keypoints: extra spawning head
    assert len(model.bbox_hand_embed) == after_box + 1
    assert len(model.bbox_hand_hw_embed) == after_box
    assert len(model.pose_hand_embed) == after_parts + 1
    assert len(model.pose_face_hw_embed) == after_parts
    hidden = TINY.hidden_dim
    # Body-stage SMPL-X heads read one token, whole-body-stage heads the concatenated parts.
    assert model.smpl_hand_pose_embed[0].layers[0].in_features == hidden
    assert model.smpl_hand_pose_embed[2].layers[0].in_features == hidden * (6 + 3)
    assert model.smpl_jaw_embed[2].layers[0].in_features == hidden * (6 + 2)
    assert model.smpl_pose_embed[0].layers[0].in_features == hidden * (17 + 4)


@pytest.mark.parametrize("batch", [1, 2])
def test_outputs_have_the_documented_shapes(tiny_model, batch):
    images = _images(batch, 96, 128)
    mask = torch.zeros(batch, 96, 128, dtype=torch.bool)
    with torch.no_grad():
        out = tiny_model(images, mask)
    assert tuple(out) == OUTPUT_KEYS
    assert {k: tuple(v.shape) for k, v in out.items()} == _expected_shapes(batch, TINY)
    assert all(torch.isfinite(v).all() for v in out.values())
    # Boxes and keypoints are sigmoid outputs; keypoint visibilities are sigmoid(1).
    assert ((out["pred_boxes"] > 0) & (out["pred_boxes"] < 1)).all()
    visibility = out["pred_keypoints"][..., 34:]
    torch.testing.assert_close(visibility, torch.full_like(visibility, 0.7310586))
    # Rotations are proper: R^T R = I.
    rot = out["pred_smpl_pose"]
    eye = torch.eye(3).expand_as(rot)
    torch.testing.assert_close(rot.transpose(-1, -2) @ rot, eye, atol=1e-5, rtol=0)


def test_fullpose_is_the_axis_angle_of_the_rotation_outputs(tiny_model):
    from aios_core.body.rotations import matrix_to_axis_angle_aios

    with torch.no_grad():
        out = tiny_model(_images(1, 96, 128), torch.zeros(1, 96, 128, dtype=torch.bool))
    matrices = torch.cat(
        [out[k] for k in ("pred_smpl_pose", "pred_smpl_lhand_pose", "pred_smpl_rhand_pose",
                          "pred_smpl_jaw_pose")],
        dim=2,
    )
    expected = matrix_to_axis_angle_aios(matrices).reshape(1, TINY.num_group, -1)
    torch.testing.assert_close(out["pred_smpl_fullpose"], expected)


def test_batched_padded_images_match_running_each_alone(tiny_model):
    """Batch elements are independent: each image gives the same result on its own canvas.

    (Running an image unpadded is NOT equivalent, in the official model too: the GroupNorm of
    the input projections pools statistics over the padded area.)
    """
    height, width = 96, 128
    images = _images(2, height, width, seed=5)
    mask = torch.zeros(2, height, width, dtype=torch.bool)
    mask[0, 80:, :] = True  # image 0 is 80 x 128
    mask[1, :, 100:] = True  # image 1 is 96 x 100
    images = images.masked_fill(mask[:, None], 0.0)
    with torch.no_grad():
        together = tiny_model(images, mask)
        alone = [tiny_model(images[i : i + 1], mask[i : i + 1]) for i in range(2)]
    for key in OUTPUT_KEYS:
        for i in range(2):
            torch.testing.assert_close(together[key][i], alone[i][key][0], atol=1e-4, rtol=1e-4)


def test_padding_changes_nothing_for_an_unpadded_image_in_the_batch(tiny_model):
    """The padding of one image must not leak into another image of the batch."""
    height, width = 96, 128
    images = _images(2, height, width, seed=7)
    mask = torch.zeros(2, height, width, dtype=torch.bool)
    mask[1, 64:, :] = True
    with torch.no_grad():
        out_a = tiny_model(images, mask)
        other = images.clone()
        other[1] = _images(1, height, width, seed=8)[0]
        out_b = tiny_model(other, mask)
    torch.testing.assert_close(out_a["pred_boxes"][0], out_b["pred_boxes"][0])
    assert not torch.allclose(out_a["pred_boxes"][1], out_b["pred_boxes"][1])


@pytest.mark.slow
def test_released_architecture_forward_shapes():
    torch.manual_seed(0)
    model = AiOS().eval()
    random_body_model_buffers(model.body_model, torch.Generator().manual_seed(0))
    # 256 x 320 gives 1700 encoder tokens, enough for the 900 two-stage queries.
    with torch.no_grad():
        out = model(_images(1, 256, 320), torch.zeros(1, 256, 320, dtype=torch.bool))
    assert {k: tuple(v.shape) for k, v in out.items()} == _expected_shapes(1, AiOSConfig())


def test_decoder_expands_persons_into_part_tokens(tiny_model):
    images = _images(2, 96, 128, seed=3)
    mask = torch.zeros(2, 96, 128, dtype=torch.bool)
    mask[1, :, 90:] = True
    with torch.no_grad():
        features, masks, positions = tiny_model.project_features(images, mask)
        decoded = tiny_model.transformer(features, masks, positions).decoder
    g, q = TINY.num_group, TINY.num_queries
    assert [h.shape[1] for h in decoded.hidden_states] == [q, q, g * 21, g * 21, g * 39]
    assert [r.shape[1] for r in decoded.references] == [q, q, g * 21, g * 21, g * 39, g * 39]

    decoder = tiny_model.transformer.decoder
    # Body keypoint tokens are spawned with size sigmoid(hw) x their person's box size.
    body_stage = decoded.references[TINY.num_box_decoder_layers].reshape(2, g, 21, 4)
    expected_wh = torch.sigmoid(decoder.hw.weight) * body_stage[:, :, :1, 2:]
    torch.testing.assert_close(body_stage[:, :, 1:18, 2:], expected_wh)
    # Left-hand keypoints are spawned relative to the left-hand box (slot 18).
    whole = decoded.references[TINY.num_hand_face_decoder_layers].reshape(2, g, 39, 4)
    expected_wh = torch.sigmoid(decoder.hw_lhand_kps.weight) * whole[:, :, 18:19, 2:]
    torch.testing.assert_close(whole[:, :, 19:25, 2:], expected_wh)
    expected_wh = torch.sigmoid(decoder.hw_face_kps.weight) * whole[:, :, 32:33, 2:]
    torch.testing.assert_close(whole[:, :, 33:39, 2:], expected_wh)


def test_too_small_input_is_reported(tiny_model):
    with pytest.raises(ValueError, match="input too small"):
        tiny_model(_images(1, 32, 32), torch.zeros(1, 32, 32, dtype=torch.bool))


def test_attention_drops_a_cpu_padding_mask_only_when_it_pads_nothing():
    from aios_core.model.transformer import _padding_for_attention

    unpadded = torch.zeros(2, 30, dtype=torch.bool)
    assert _padding_for_attention(unpadded) is None  # zeroing no value would change nothing
    padded = unpadded.clone()
    padded[1, 25:] = True
    assert _padding_for_attention(padded) is padded
