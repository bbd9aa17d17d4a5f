"""Where each part token sits in the decoder's flattened query sequence, and who may attend to whom.

After the box stage every kept person (a "group") is expanded into consecutive tokens:

body stage (``body_stage_tokens`` = Nb + 4 per group)::

    [body box] [Nb body keypoints] [lhand box] [rhand box] [face box]

whole-body stage (``whole_body_stage_tokens`` = Nb + 2 Nh + Nf + 4 per group)::

    [body box] [Nb body kps] [lhand box] [Nh lhand kps] [rhand box] [Nh rhand kps]
    [face box] [Nf face kps]

Groups follow each other, so token ``t`` of group ``g`` is at ``g * tokens_per_group + t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class BodyStageLayout:
    """Slots within one group of the body stage."""

    num_body_points: int

    @property
    def tokens(self) -> int:
        return self.num_body_points + 4

    @property
    def body_box(self) -> int:
        return 0

    @property
    def body_keypoints(self) -> range:
        return range(1, self.num_body_points + 1)

    @property
    def lhand_box(self) -> int:
        return self.num_body_points + 1

    @property
    def rhand_box(self) -> int:
        return self.num_body_points + 2

    @property
    def face_box(self) -> int:
        return self.num_body_points + 3

    @property
    def box_slots(self) -> list[int]:
        return [self.body_box, self.lhand_box, self.rhand_box, self.face_box]


@dataclass(frozen=True)
class WholeBodyStageLayout:
    """Slots within one group of the whole-body stage."""

    num_body_points: int
    num_hand_points: int
    num_face_points: int

    @property
    def tokens(self) -> int:
        return self.num_body_points + 2 * self.num_hand_points + self.num_face_points + 4

    @property
    def body_box(self) -> int:
        return 0

    @property
    def body_keypoints(self) -> range:
        return range(1, self.num_body_points + 1)

    @property
    def lhand_box(self) -> int:
        return self.num_body_points + 1

    @property
    def lhand_keypoints(self) -> range:
        return range(self.lhand_box + 1, self.lhand_box + 1 + self.num_hand_points)

    @property
    def rhand_box(self) -> int:
        return self.num_body_points + self.num_hand_points + 2

    @property
    def rhand_keypoints(self) -> range:
        return range(self.rhand_box + 1, self.rhand_box + 1 + self.num_hand_points)

    @property
    def face_box(self) -> int:
        return self.num_body_points + 2 * self.num_hand_points + 3

    @property
    def face_keypoints(self) -> range:
        return range(self.face_box + 1, self.face_box + 1 + self.num_face_points)

    @property
    def box_slots(self) -> list[int]:
        return [self.body_box, self.lhand_box, self.rhand_box, self.face_box]


def token_indices(num_groups: int, tokens_per_group: int, slots: range | list[int]) -> list[int]:
    """Sequence positions of the given slots in every group, group-major (g0 slots, g1 slots...)."""
    slot_set = set(slots)
    total = num_groups * tokens_per_group
    return [index for index in range(total) if index % tokens_per_group in slot_set]


def index_tensor(indices: list[int], device: torch.device) -> Tensor:
    return torch.tensor(indices, dtype=torch.long, device=device)


def group_attention_mask(
    num_groups: int, tokens_per_group: int, box_slots: list[int], device: torch.device
) -> Tensor:
    """(N, N) bool self-attention mask, True = blocked, N = num_groups * tokens_per_group.

    Every token attends within its own group; box tokens additionally attend to the box tokens of
    all groups (the official eval-time ``attn_mask2``/``attn_mask3``).
    """
    total = num_groups * tokens_per_group
    group_of = torch.arange(total, device=device) // tokens_per_group
    blocked = group_of[:, None] != group_of[None, :]
    is_box = torch.zeros(total, dtype=torch.bool, device=device)
    is_box[index_tensor(token_indices(num_groups, tokens_per_group, box_slots), device)] = True
    blocked &= ~(is_box[:, None] & is_box[None, :])
    return blocked
