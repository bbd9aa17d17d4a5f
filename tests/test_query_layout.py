"""Token layout of the person groups and the per-person self-attention mask."""

from __future__ import annotations

import torch

from aios_core.model.query_layout import (
    BodyStageLayout,
    WholeBodyStageLayout,
    group_attention_mask,
    token_indices,
)


def test_body_stage_slots():
    layout = BodyStageLayout(17)
    assert layout.tokens == 21
    assert list(layout.body_keypoints) == list(range(1, 18))
    assert layout.box_slots == [0, 18, 19, 20]


def test_whole_body_stage_slots_cover_every_token_once():
    layout = WholeBodyStageLayout(17, 6, 6)
    assert layout.tokens == 39
    assert layout.box_slots == [0, 18, 25, 32]
    slots = (
        [layout.body_box, *layout.body_keypoints, layout.lhand_box, *layout.lhand_keypoints]
        + [layout.rhand_box, *layout.rhand_keypoints, layout.face_box, *layout.face_keypoints]
    )
    assert slots == list(range(39))


def test_token_indices_are_group_major():
    assert token_indices(3, 5, [0, 3]) == [0, 3, 5, 8, 10, 13]
    assert token_indices(2, 4, range(1, 3)) == [1, 2, 5, 6]


def _mask_by_rules(groups: int, tokens: int, box_slots: list[int]) -> torch.Tensor:
    """Row by row: block other groups, then reopen box -> box pairs across all groups."""
    total = groups * tokens
    mask = torch.zeros(total, total, dtype=torch.bool)
    boxes = [i for i in range(total) if i % tokens in box_slots]
    for row in range(total):
        start = (row // tokens) * tokens
        mask[row, :start] = True
        mask[row, start + tokens :] = True
        if row % tokens in box_slots:
            mask[row, boxes] = False
    return mask


def test_group_attention_mask_matches_the_rules():
    for groups, tokens, boxes in [(3, 7, [0, 4, 5, 6]), (4, 39, [0, 18, 25, 32]), (1, 5, [0])]:
        expected = _mask_by_rules(groups, tokens, boxes)
        assert torch.equal(group_attention_mask(groups, tokens, boxes, torch.device("cpu")),
                           expected)


def test_keypoint_tokens_only_see_their_own_person():
    mask = group_attention_mask(3, 4, [0], torch.device("cpu"))
    # token 5 = group 1, slot 1 (a keypoint): sees 4..7 only
    assert (~mask[5]).nonzero().flatten().tolist() == [4, 5, 6, 7]
    # token 4 = group 1 box: its own group plus the other boxes 0 and 8
    assert (~mask[4]).nonzero().flatten().tolist() == [0, 4, 5, 6, 7, 8]
