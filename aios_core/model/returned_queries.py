"""Which queries become people: the post-processor's top-k over queries x classes and its score
threshold, shared by the network (it poses SMPL-X only for those) and ``inference.postprocess``."""

from __future__ import annotations

import torch
from torch import Tensor


def top_scored_queries(logits: Tensor, num_select: int) -> tuple[Tensor, Tensor]:
    """(B, G, K) class logits -> (scores (B, S), query indices (B, S)), S = min(num_select, G*K).

    Top-k of the sigmoid over the flattened queries x classes, sorted by descending score.
    """
    batch, groups, classes = logits.shape
    probabilities = logits.sigmoid().reshape(batch, groups * classes)
    scores, flat_index = torch.topk(probabilities, min(num_select, groups * classes), dim=1)
    return scores, torch.div(flat_index, classes, rounding_mode="floor")


def returned_people(logits: Tensor, num_select: int, threshold: float) -> Tensor:
    """(B, G, K) class logits -> (B, G) bool: the queries ``postprocess`` returns people for."""
    scores, query = top_scored_queries(logits.float(), num_select)
    returned = torch.zeros(logits.shape[:2], dtype=torch.bool, device=logits.device)
    rows = torch.arange(logits.shape[0], device=logits.device)[:, None].expand_as(query)
    returned[rows[scores >= threshold], query[scores >= threshold]] = True
    return returned
