"""Denoising (DN) queries of AiOS training (official ``AiOSSMPLX.prepare_for_dn2``).

Every image gets ``dn_number`` extra decoder queries made from its ground-truth body boxes
(repeated to fill the count), with label noise (half of the labels replaced by a random id of
the label book) and box noise (centre moved by up to 0.4 * half the size, size by up to 0.4 of
itself). The decoder must recover the clean box and the "person" label from them. Attention
masks keep the matching queries from seeing the denoising ones and keep each repetition of the
ground truth ("DN group") from seeing the others; the matching part keeps its eval-time masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aios_core.data.image_targets import ImageTargets
from aios_core.model.config import AiOSConfig
from aios_core.model.decoder import DenoisingQueries
from aios_core.model.layers import inverse_sigmoid
from aios_core.model.query_layout import BodyStageLayout, WholeBodyStageLayout, group_attention_mask


@dataclass
class DenoisingConfig:
    """Official ``aios_smplx_{pretrain,train}.py`` values."""

    dn_number: int = 100  # denoising queries per image
    box_noise_scale: float = 0.4
    label_noise_ratio: float = 0.5


@dataclass
class DenoisingBatch:
    """The decoder's input queries and the clean targets they must be mapped back to."""

    queries: DenoisingQueries
    labels: Tensor  # (B, D) long clean class ids; num_classes ("no object") for empty images
    boxes: Tensor  # (B, D, 4) clean (cx, cy, w, h); random boxes for empty images


def _repeat_indices(count: int, total: int, device: torch.device) -> Tensor:
    """``total`` indices into ``count`` items: whole repetitions, then a random remainder."""
    base = torch.arange(count, device=device)
    remainder = base[torch.randint(0, count, (total % count,), device=device)]
    return torch.cat((base.repeat(total // count), remainder))


def _dn_group_mask(num_gt: int, dn_number: int, device: torch.device) -> Tensor:
    """(D, D) True where denoising query i may not see j: different repetitions of the gt."""
    if num_gt == 0:
        return torch.zeros(dn_number, dn_number, dtype=torch.bool, device=device)
    group = torch.arange(dn_number, device=device) // num_gt
    return group[:, None] != group[None, :]


def denoising_attention_mask(
    matching_mask: Tensor, dn_masks: list[Tensor], num_heads: int
) -> Tensor:
    """(B * heads, D + N, D + N) mask: matching (N, N) block as given (None-equivalent: all
    False), matching rows blind to the denoising columns, per-image DN group blocks."""
    dn_number, n = dn_masks[0].shape[0], matching_mask.shape[0]
    batch = len(dn_masks)
    mask = torch.zeros(
        batch, dn_number + n, dn_number + n, dtype=torch.bool, device=matching_mask.device
    )
    mask[:, dn_number:, :dn_number] = True
    mask[:, dn_number:, dn_number:] = matching_mask
    mask[:, :dn_number, :dn_number] = torch.stack(dn_masks)
    # Row b * heads + h belongs to image b (nn.MultiheadAttention's layout).
    return mask.repeat_interleave(num_heads, dim=0)


def build_denoising_queries(
    targets: list[ImageTargets],
    label_embedding: nn.Embedding,
    model_config: AiOSConfig,
    config: DenoisingConfig,
) -> DenoisingBatch:
    """Noised ground truth -> decoder queries + masks. Uses the global torch RNG."""
    device = label_embedding.weight.device
    d, c = config.dn_number, model_config
    labels, boxes = [], []
    for t in targets:
        if t.num_persons > 0:
            index = _repeat_indices(t.num_persons, d, device)
            labels.append(t.labels[index])
            boxes.append(t.boxes[index])
        else:
            # No ground truth: random boxes labelled "no object".
            labels.append(torch.full((d,), c.num_classes, dtype=torch.long, device=device))
            boxes.append(torch.rand(d, 4, device=device))
            # The official also draws (unused) random keypoints here; drawing them keeps the
            # RNG stream, hence the noise below, identical to the official for a given seed.
            torch.rand(d, 3 * c.num_body_points, device=device)
    clean_labels, clean_boxes = torch.stack(labels), torch.stack(boxes)  # (B, D), (B, D, 4)

    noisy_labels = clean_labels.clone()
    if config.label_noise_ratio > 0:
        chosen = torch.rand_like(noisy_labels.float()) < config.label_noise_ratio
        noisy_labels[chosen] = torch.randint_like(noisy_labels[chosen], 0, c.dn_labelbook_size)
    noisy_boxes = clean_boxes.clone()
    if config.box_noise_scale > 0:
        # Centre moves by up to scale * half the size, size by up to scale * itself.
        spread = torch.cat((clean_boxes[..., 2:] / 2, clean_boxes[..., 2:]), dim=-1)
        noise = torch.rand_like(noisy_boxes) * 2 - 1.0
        noisy_boxes = (noisy_boxes + noise * spread * config.box_noise_scale).clamp(0.0, 1.0)

    dn_masks = [_dn_group_mask(t.num_persons, d, device) for t in targets]
    body, whole = BodyStageLayout(c.num_body_points), WholeBodyStageLayout(
        c.num_body_points, c.num_hand_points, c.num_face_points
    )
    stage_masks = (
        torch.zeros(c.num_queries, c.num_queries, dtype=torch.bool, device=device),
        group_attention_mask(c.num_group, body.tokens, body.box_slots, device),
        group_attention_mask(c.num_group, whole.tokens, whole.box_slots, device),
    )
    masks = tuple(denoising_attention_mask(m, dn_masks, c.nheads) for m in stage_masks)
    queries = DenoisingQueries(
        content=label_embedding(noisy_labels),
        boxes_unsigmoid=inverse_sigmoid(noisy_boxes),
        attention_masks=masks,  # type: ignore[arg-type]
    )
    return DenoisingBatch(queries=queries, labels=clean_labels, boxes=clean_boxes)
