"""Training forward + criterion on the tiny network: names, weights, finiteness, gradients, and
the loss formulas on hand-made predictions."""

from __future__ import annotations

import math

import pytest
import torch
from synthetic_training_data import RandomImageSet
from tiny_network import SHIFTED_STAGES, SHORT_STAGES, TINY, build_tiny_network

from aios_core.body.camera import aios_project_points
from aios_core.body.rotations import axis_angle_to_matrix
from aios_core.model.config import AiOSConfig
from aios_core.training import (
    AiOSCriterion,
    DenoisingConfig,
    TrainingForward,
    official_loss_weights,
    pad_images,
    random_targets,
)
from aios_core.training.loop import TrainingJob, train
from aios_core.training.losses_detection import Matched, keypoint_losses
from aios_core.training.losses_smplx import pose_losses, projected_joints_losses
from aios_core.training.run_config import TrainConfig

LAST = TINY.dec_layers - 1


@pytest.fixture(scope="module")
def trained_step():
    torch.manual_seed(0)
    network = build_tiny_network(0)
    trainer = TrainingForward(network, DenoisingConfig(dn_number=6)).train()
    g = torch.Generator().manual_seed(1)
    images, mask = pad_images([torch.randn(3, 64, 80, generator=g), torch.randn(3, 56, 72)])
    targets = [random_targets(4, (64, 80), g), random_targets(0, (56, 72), g)]
    outputs = trainer(images, mask, targets)
    criterion = AiOSCriterion(network.config)
    return network, outputs, targets, criterion, criterion(outputs, targets)


def _expected_names(config: AiOSConfig = TINY) -> set[str]:
    box = {"loss_ce", "loss_body_bbox", "loss_body_giou"}
    dn = {"dn_loss_ce", "dn_loss_bbox", "dn_loss_giou"}
    parts = ("lhand", "rhand", "face")
    # SMPL-X terms: all present from the body stage on (part terms x 0 there, as official).
    smplx = {f"loss_smpl_pose_{j}" for j in ("root", "body", "lhand", "rhand", "jaw")}
    smplx |= {"loss_smpl_beta", "loss_smpl_expr"}
    smplx |= {f"loss_smpl_{p}_{k}" for p in ("body", *parts) for k in ("kp2d", "kp3d", "kp3d_ra")}
    body = box | smplx | {"loss_keypoints", "loss_oks"}
    body |= {f"loss_{p}_{k}" for p in parts for k in ("bbox", "giou")}
    whole = body | {f"loss_{p}_{k}" for p in parts for k in ("keypoints", "oks")}
    names = {f"{n}_interm" for n in box} | whole | dn
    for layer in range(config.dec_layers - 1):
        stage = (box if layer < config.num_box_decoder_layers
                 else body if layer < config.num_hand_face_decoder_layers else whole)
        names |= {f"{n}_{layer}" for n in stage | dn}
    return names | {"total"}


def test_terms_are_named_finite_and_weighted(trained_step) -> None:
    _, _, _, criterion, losses = trained_step
    assert set(losses) == _expected_names()
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    weights = official_loss_weights()
    expected_total = 0.0
    for name, value in losses.items():
        if name == "total":
            continue
        base = name.removesuffix("_interm")
        if base[-1].isdigit():
            base = base.rsplit("_", 1)[0]
        expected_total += float(value.detach()) * weights[base]
    assert float(losses["total"].detach()) == pytest.approx(expected_total, rel=1e-5)
    # Official engine.py damping of layer-4 hand / face joint terms; interm coefficient 1.
    assert criterion.weight("loss_smpl_lhand_kp3d_4") == pytest.approx(0.01)
    assert criterion.weight("loss_smpl_rhand_kp2d_4") == pytest.approx(0.05)
    assert criterion.weight("loss_smpl_lhand_kp3d_ra_4") == pytest.approx(0.1)
    assert criterion.weight("loss_smpl_face_kp2d_4") == pytest.approx(0.1)
    assert criterion.weight("loss_ce_interm") == 2.0 and criterion.weight("dn_loss_bbox_1") == 2.5
    # Body-stage part terms are kept at exactly 0 (official x 0).
    assert float(losses["loss_smpl_expr_2"].detach()) == 0.0
    assert float(losses["loss_smpl_face_kp2d_3"].detach()) == 0.0


@pytest.mark.parametrize("config", [SHIFTED_STAGES, SHORT_STAGES], ids=["box3-body2", "box1-body2"])
def test_a_training_step_supervises_each_layer_by_the_networks_stages(tmp_path, config) -> None:
    """The trainer's criterion takes its stage boundaries from the network's AiOSConfig (it
    used defaults of 2 / 4: KeyError for the first layout, too few terms for the second)."""
    train_config = TrainConfig(stage="finetune", epochs=1, batch_size=1, num_workers=0,
                               samples_per_epoch=1, dn_number=2, use_ema=False)
    logged: list[dict[str, float]] = []
    train(TrainingJob(network=build_tiny_network(0, config), dataset=RandomImageSet(1),
                      config=train_config, run_dir=tmp_path, device=torch.device("cpu")),
          on_step=lambda _progress, values: logged.append(values))
    assert set(logged[0]) == _expected_names(config)
    body_layer = config.num_box_decoder_layers  # a body-stage layer: 30 terms, not 3 + 3 DN
    assert len([n for n in logged[0] if n.endswith(f"_{body_layer}")]) == 30 + 3
    # The damped hand / face joint terms belong to the first whole-body layer.
    criterion = AiOSCriterion(config)
    first_whole = config.num_hand_face_decoder_layers
    assert criterion.weight(f"loss_smpl_lhand_kp3d_{first_whole}") == pytest.approx(0.01)
    assert criterion.weight(f"loss_smpl_rhand_kp2d_{first_whole}") == pytest.approx(0.05)
    assert criterion.weight(f"loss_smpl_lhand_kp3d_{first_whole - 1}") == pytest.approx(0.1)


# term -> parameters it must reach / must not reach
GRADIENT_CASES = [
    ("loss_ce_interm", ["transformer.enc_out_class_embed.weight", "transformer.enc_output.weight"],
     ["class_embed.0.weight"]),
    ("loss_body_bbox_interm", ["transformer.enc_out_bbox_embed.layers.2.weight"], []),
    ("loss_ce_0", ["class_embed.0.weight", "transformer.decoder.layers.0.linear1.weight"],
     ["class_embed.1.weight"]),
    ("dn_loss_ce", ["label_enc.weight", f"class_embed.{LAST}.weight"], []),
    ("dn_loss_bbox_1", ["bbox_embed.1.layers.2.weight"], ["smpl_pose_embed.0.layers.2.weight"]),
    ("loss_keypoints_2", ["pose_embed.0.layers.2.weight"], ["smpl_beta_embed.0.layers.2.weight"]),
    ("loss_lhand_bbox_3", ["bbox_hand_embed.1.layers.2.weight",
                           "bbox_hand_hw_embed.1.layers.2.weight"], []),
    ("loss_smpl_body_kp2d_2", ["smpl_cam_embed.0.layers.2.weight",
                               "smpl_pose_embed.0.layers.2.weight"],
     ["smpl_hand_pose_embed.0.layers.2.weight"]),
    ("loss_smpl_body_kp3d_3", ["smpl_beta_embed.1.layers.2.weight"],
     ["smpl_cam_embed.1.layers.2.weight"]),
    ("loss_lhand_keypoints", ["pose_hand_embed.0.layers.2.weight"], []),
    ("loss_face_keypoints", ["pose_face_embed.0.layers.2.weight"], []),
    ("loss_smpl_pose_jaw", ["smpl_jaw_embed.2.layers.2.weight"], []),
    ("loss_smpl_face_kp3d", ["smpl_expr_embed.2.layers.2.weight"], []),
    ("loss_smpl_rhand_kp3d_ra", ["smpl_hand_pose_embed.2.layers.2.weight"], []),
]


def test_body_stage_expression_head_gets_a_zero_gradient(trained_step) -> None:
    """Official: x 0 terms keep the body-stage expression heads in the graph (zero gradient,
    not None), which matters for weight decay and for DDP without find_unused_parameters."""
    network, _, _, _, losses = trained_step
    head = network.smpl_expr_embed[0].layers[2].weight
    (grad,) = torch.autograd.grad(losses["total"], [head], retain_graph=True, allow_unused=True)
    assert grad is not None and float(grad.abs().sum()) == 0.0


def test_gradients_reach_the_right_parameters(trained_step) -> None:
    network, _, _, _, losses = trained_step
    params = dict(network.named_parameters(remove_duplicate=False))
    for term, reached, untouched in GRADIENT_CASES:
        names = reached + untouched
        grads = torch.autograd.grad(
            losses[term], [params[n] for n in names], retain_graph=True, allow_unused=True
        )
        for name, grad in zip(names, grads, strict=True):
            moved = grad is not None and bool(grad.abs().sum() > 0)
            assert moved == (name in reached), f"{term} -> {name}: gradient {moved}"


def _one_person_outputs(targets, noise: float) -> dict:
    """One image, one group whose predictions equal the first target person (+ noise)."""
    t = targets[0]
    pose = axis_angle_to_matrix(t.smplx_pose[:1])[None]  # (1, 1, 53, 3, 3)
    g = torch.Generator().manual_seed(3)
    return {
        "pred_keypoints": torch.cat((t.body_keypoints()[:1, :34], torch.ones(1, 17)), -1)[None],
        "pred_lhand_keypoints": t.lhand_keypoints()[None, :1] + noise,
        "pred_rhand_keypoints": t.rhand_keypoints()[None, :1],
        "pred_face_keypoints": t.face_keypoints()[None, :1],
        "pred_smpl_pose": pose[:, :, :22] + noise,
        "pred_smpl_lhand_pose": pose[:, :, 22:37],
        "pred_smpl_rhand_pose": pose[:, :, 37:52],
        "pred_smpl_jaw_pose": pose[:, :, 52:],
        "pred_smpl_kp3d": 0.2 * torch.randn(1, 1, 137, 3, generator=g) + torch.tensor([0, 0, 3]),
        "pred_smpl_cam": torch.tensor([[[0.8, 0.05, -0.1]]]),
    }


def test_formulas_on_hand_made_predictions() -> None:
    t = random_targets(1, (60, 90), torch.Generator().manual_seed(4))
    t.smplx_pose_valid[:] = 1.0
    t.joints_2d_trunc[:] = 1.0
    for part in ("lhand", "rhand", "face"):
        getattr(t, f"{part}_box_valid")[:] = 1.0
    matched = Matched.from_matches([(torch.tensor([0]), torch.tensor([0]))], [t])

    exact = _one_person_outputs([t], 0.0)
    # Project the predicted joints the way the loss does, by hand, as the 2-D target.
    cam = exact["pred_smpl_cam"][0, 0]
    scale = cam[0] + 1e-9
    camera_t = torch.stack((cam[1] / scale, cam[2] / scale, 1 / scale))
    points = exact["pred_smpl_kp3d"][0, 0] + camera_t
    uv = 5000.0 * points[:, :2] / points[:, 2:] + torch.tensor([45.0, 30.0])
    t.joints_2d[0, :, :2] = uv / torch.tensor([90.0, 60.0])
    assert torch.allclose(
        aios_project_points(points - camera_t, cam, torch.tensor([90.0, 60.0])), uv, atol=1e-3
    )
    exact = _one_person_outputs([t], 0.0)  # 2-D keypoint predictions from the new joints_2d
    for value in (
        *keypoint_losses(exact, matched, with_parts=True).values(),
        *pose_losses(exact, matched, with_parts=True).values(),
        *projected_joints_losses(exact, matched, with_parts=True).values(),
    ):
        assert float(value) == pytest.approx(0.0, abs=1e-4)

    noisy = _one_person_outputs([t], 0.01)
    keypoints = keypoint_losses(noisy, matched, with_parts=True)
    # 12 coordinates off by 0.01, weights = trunc flags (all 1); one supervised person.
    assert float(keypoints["loss_lhand_keypoints"]) == pytest.approx(0.12, rel=1e-4)
    pose = pose_losses(noisy, matched, with_parts=False)
    assert float(pose["loss_smpl_pose_root"]) == pytest.approx(0.09, rel=1e-4)
    assert float(pose["loss_smpl_pose_body"]) == pytest.approx(21 * 0.09, rel=1e-4)


def test_official_quirks() -> None:
    """Jaw normaliser = any-valid flag; face keypoint count uses left-hand presence."""
    g = torch.Generator().manual_seed(6)
    t = random_targets(3, generator=g)
    t.smplx_pose_valid[:, 52] = torch.tensor([1.0, 1.0, 0.0])
    outputs = _one_person_outputs([t], 0.0)
    outputs = {k: v.expand(1, 3, *v.shape[2:]) for k, v in outputs.items()}
    outputs["pred_smpl_jaw_pose"] = outputs["pred_smpl_jaw_pose"] + 0.1
    matched = Matched.from_matches([(torch.arange(3), torch.arange(3))], [t])
    jaw = pose_losses(outputs, matched, with_parts=True)["loss_smpl_pose_jaw"]
    target = axis_angle_to_matrix(t.smplx_pose[:, 52])
    pred = axis_angle_to_matrix(t.smplx_pose[0, 52]) + 0.1
    per_person = (pred - target).abs().sum((-1, -2))
    assert float(jaw) == pytest.approx(float(per_person[:2].sum()) / (1 + 1e-6), rel=1e-4)

    t.face_box_valid[:] = 1.0
    t.lhand_box_valid[:] = 1.0
    t.joints_2d_trunc[1] = 0.0  # person 1: no keypoints at all
    face_only = torch.zeros(3, 137)
    face_only[2, 24] = 1.0  # person 2: only the nose (a face point, not a hand point)
    t.joints_2d_trunc[2] = face_only[2]
    losses = keypoint_losses(outputs, matched, with_parts=True)
    face_weight = t.face_keypoints()[:, 12:]
    face_l1 = ((outputs["pred_face_keypoints"][0, :, :12] - t.face_keypoints()[:, :12]).abs()
               * face_weight.repeat_interleave(2, 1)).sum()
    assert float(face_l1) > 0
    # Left-hand points present only for person 0 -> the face term is divided by 1, not 2.
    assert float(losses["loss_face_keypoints"]) == pytest.approx(float(face_l1), rel=1e-4)
    assert not math.isclose(float(losses["loss_face_keypoints"]), float(face_l1) / 2)
