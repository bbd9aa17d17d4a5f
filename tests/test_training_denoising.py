"""Denoising queries: mask layout, no leak into the matching queries, DN groups isolated."""

from __future__ import annotations

import torch
from tiny_network import TINY, build_tiny_network

from aios_core.model.decoder import DenoisingQueries
from aios_core.training import DenoisingConfig, TrainingForward, pad_images, random_targets
from aios_core.training.denoising import build_denoising_queries, denoising_attention_mask

DN = 6


def test_mask_layout() -> None:
    matching = torch.tensor([[False, True, False], [True, False, False], [False, False, False]])
    group_2 = torch.arange(DN)[:, None] // 2 != torch.arange(DN)[None, :] // 2
    mask = denoising_attention_mask(matching, [group_2, torch.zeros(DN, DN, dtype=torch.bool)], 4)
    assert mask.shape == (2 * 4, DN + 3, DN + 3)
    for row in range(8):
        image = row // 4  # rows are image-major, then heads
        m = mask[row]
        assert m[DN:, :DN].all()  # matching queries never see denoising ones
        assert torch.equal(m[DN:, DN:], matching)
        assert not m[:DN, DN:].any()  # denoising queries see the matching ones
        expected = group_2 if image == 0 else torch.zeros(DN, DN, dtype=torch.bool)
        assert torch.equal(m[:DN, :DN], expected)


def test_queries_repeat_the_ground_truth_with_bounded_noise() -> None:
    torch.manual_seed(0)
    net = build_tiny_network(0)
    g = torch.Generator().manual_seed(2)
    targets = [random_targets(4, generator=g), random_targets(0, generator=g)]
    batch = build_denoising_queries(targets, net.label_enc, TINY, DenoisingConfig(dn_number=10))
    # Image 0: two full repetitions of its 4 boxes, then 2 random ones of them.
    assert torch.equal(batch.boxes[0, :8], targets[0].boxes.repeat(2, 1))
    assert all(any(torch.equal(b, gt) for gt in targets[0].boxes) for b in batch.boxes[0, 8:])
    assert (batch.labels[0] == 1).all() and (batch.labels[1] == TINY.num_classes).all()
    noisy = batch.queries.boxes_unsigmoid.sigmoid()
    clean = batch.boxes[0]
    bound = 0.4 * torch.cat((clean[:, 2:] / 2, clean[:, 2:]), -1) + 1e-4
    assert ((noisy[0] - clean).abs() <= bound).all()
    masks = batch.queries.attention_masks
    assert [m.shape[-1] for m in masks] == [
        10 + TINY.num_queries,
        10 + TINY.num_group * TINY.body_stage_tokens,
        10 + TINY.num_group * TINY.whole_body_stage_tokens,
    ]


def _run_decoder(net, images, mask, denoising: DenoisingQueries | None):
    features, masks, positions = net.project_features(images, mask)
    return net.transformer(features, masks, positions, denoising).decoder


def test_denoising_does_not_leak_and_groups_are_isolated() -> None:
    torch.manual_seed(0)
    net = build_tiny_network(0)
    g = torch.Generator().manual_seed(3)
    images, mask = pad_images([torch.randn(3, 64, 80, generator=g)] * 2)
    targets = [random_targets(2, generator=g), random_targets(3, generator=g)]
    dn = build_denoising_queries(targets, net.label_enc, TINY, DenoisingConfig(dn_number=DN))
    with torch.no_grad():
        plain = _run_decoder(net, images, mask, None)
        with_dn = _run_decoder(net, images, mask, dn.queries)
        # Change DN group 0 (queries 0-1) of image 0 only.
        content = dn.queries.content.clone()
        content[0, :2] += torch.randn(content[0, :2].shape, generator=g)  # not a constant shift
        changed = DenoisingQueries(content, dn.queries.boxes_unsigmoid, dn.queries.attention_masks)
        with_changed_dn = _run_decoder(net, images, mask, changed)

    assert with_dn.num_denoising == DN and plain.num_denoising == 0
    for layer, hidden in enumerate(plain.hidden_states):
        # The matching queries behave exactly as without denoising (up to rounding).
        assert torch.allclose(with_dn.hidden_states[layer][:, DN:], hidden, atol=1e-4)
        assert torch.allclose(with_dn.references[layer + 1][:, DN:], plain.references[layer + 1],
                              atol=1e-4)
        assert torch.allclose(with_changed_dn.hidden_states[layer][:, DN:], hidden, atol=1e-4)
        # Other DN groups of image 0, and all of image 1, are unaffected by group 0.
        new, old = with_changed_dn.hidden_states[layer], with_dn.hidden_states[layer]
        assert torch.allclose(new[0, 2:DN], old[0, 2:DN], atol=1e-5)
        assert torch.allclose(new[1, :DN], old[1, :DN], atol=1e-5)
        assert (new[0, :2] - old[0, :2]).abs().max() > 1e-4  # ... while group 0 itself moved


def test_training_forward_switches_denoising_with_mode() -> None:
    torch.manual_seed(0)
    trainer = TrainingForward(build_tiny_network(0), DenoisingConfig(dn_number=DN))
    images, mask = pad_images([torch.randn(3, 64, 80)])
    targets = [random_targets(2)]
    with torch.no_grad():
        train_out = trainer.train()(images, mask, targets)
        eval_out = trainer.eval()(images, mask, targets)
    assert len(train_out["dn"]) == TINY.dec_layers and train_out["dn_boxes"].shape == (1, DN, 4)
    assert eval_out["dn"] == [] and "dn_boxes" not in eval_out
    # The final layer of the training forward equals the inference network's predictions.
    inference = trainer.network(images, mask)
    for key in ("pred_logits", "pred_boxes", "pred_face_keypoints", "pred_smpl_beta"):
        assert torch.allclose(eval_out["layers"][-1][key], inference[key], atol=1e-6)
        assert torch.allclose(train_out["layers"][-1][key], inference[key], atol=1e-4)
