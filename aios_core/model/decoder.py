"""The three-stage whole-body decoder (official ``TransformerDecoder`` of AiOS, eval path).

Stage 1, body location (layers ``[0, num_box)``): one token per two-stage query, each refining a
body box. After its last layer the ``num_group`` best queries are kept and each is expanded into
body keypoint tokens and lhand / rhand / face box tokens.

Stage 2, body refinement (layers ``[num_box, num_hand_face)``): all tokens of a person refine
their boxes; after its last layer each hand / face box spawns its keypoint tokens.

Stage 3, whole-body refinement (layers ``[num_hand_face, dec_layers)``).

From stage 2 on, self-attention is masked per person (box tokens also see other persons' box
tokens); at eval it is computed group by group (``group_attention``), in training with the
dense masks that also cover the denoising queries. The prediction heads used here are owned by
the network and attached with ``attach_heads`` (the official code assigns the same ModuleLists
onto the decoder, so their parameters appear under both ``bbox_embed.*`` and
``transformer.decoder.bbox_embed.*``).
In training, ``DenoisingQueries`` (noised ground-truth boxes, see aios_core/training) are put in
front of the sequence; every layer refines their body box with ``bbox_embed`` and stage
transitions pass them through unchanged, as the official training forward does. Without them the
computation is exactly the eval path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aios_core.model.config import AiOSConfig
from aios_core.model.decoder_layer import DeformableDecoderLayer
from aios_core.model.decoder_stages import (
    PartUpdate,
    refine_boxes,
    select_top_groups,
    spawn_part_tokens,
)
from aios_core.model.group_attention import GroupAttentionPattern
from aios_core.model.heads import PredictionHeads
from aios_core.model.layers import MLP, inverse_sigmoid
from aios_core.model.query_layout import (
    BodyStageLayout,
    WholeBodyStageLayout,
    index_tensor,
    token_indices,
)
from aios_core.model.sine_embedding import sine_embed_positions

# Head lists the decoder uses, in the order the official network attaches them.
DECODER_HEAD_NAMES = (
    "bbox_embed",
    "pose_embed",
    "pose_hw_embed",
    "class_embed",
    "bbox_hand_embed",
    "bbox_hand_hw_embed",
    "pose_hand_embed",
    "pose_hand_hw_embed",
    "bbox_face_embed",
    "bbox_face_hw_embed",
    "pose_face_embed",
    "pose_face_hw_embed",
)


@dataclass
class DenoisingQueries:
    """Training-only queries placed before the decoder's own queries (D of them per image)."""

    content: Tensor  # (B, D, C) embeddings of the (noised) labels
    boxes_unsigmoid: Tensor  # (B, D, 4) logits of the noised (cx, cy, w, h) boxes
    # Self-attention masks of the three stages, (B * heads, D + N, D + N) bool, True = blocked,
    # with N = num_queries, num_group * body-stage tokens, num_group * whole-body tokens.
    attention_masks: tuple[Tensor, Tensor, Tensor]

    @property
    def count(self) -> int:
        return self.content.shape[1]


def _prepend(denoising: Tensor, x: Tensor) -> Tensor:
    """Put the denoising rows (first dim) back in front; a no-op without them."""
    return torch.cat((denoising, x), dim=0) if denoising.shape[0] else x


@dataclass
class DecoderOutput:
    """Per layer: normalised output tokens and that layer's input reference boxes."""

    hidden_states: list[Tensor]  # dec_layers x (B, D + N_layer, C), after the shared LayerNorm
    references: list[Tensor]  # dec_layers + 1 x (B, D + N, 4) sigmoid boxes; [i] = layer i input
    num_denoising: int = 0  # D: leading denoising queries in every entry (0 at eval)


class WholeBodyDecoder(nn.Module):
    """Decoder layers plus the learned part-token embeddings; keys match the official decoder."""

    def __init__(self, config: AiOSConfig):
        super().__init__()
        c = config
        self.config = config
        d_model = c.hidden_dim
        self.layers = nn.ModuleList(
            DeformableDecoderLayer(
                d_model,
                c.dim_feedforward,
                c.dropout,
                c.transformer_activation,
                c.num_feature_levels,
                c.nheads,
                c.dec_n_points,
            )
            for _ in range(c.dec_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        # Query position from the sine embedding of the 4-d anchor (2 * d_model wide).
        self.ref_point_head = MLP(2 * d_model, d_model, d_model, 2)

        # Body-stage spawning: per-keypoint content offsets and size logits (relative to the
        # body box), and one content offset + size logit per part box.
        self.hw = nn.Embedding(c.num_body_points, 2)
        self.keypoint_embed = nn.Embedding(c.num_body_points, d_model)
        self.lhand_box_embed = nn.Embedding(1, d_model)
        self.rhand_box_embed = nn.Embedding(1, d_model)
        self.face_box_embed = nn.Embedding(1, d_model)
        self.hw_lhand_bbox = nn.Embedding(1, 2)
        self.hw_rhand_bbox = nn.Embedding(1, 2)
        self.hw_face_bbox = nn.Embedding(1, 2)
        # Whole-body-stage spawning: keypoints relative to their hand / face box.
        self.hw_lhand_kps = nn.Embedding(c.num_hand_points, 2)
        self.hw_rhand_kps = nn.Embedding(c.num_hand_points, 2)
        self.hw_face_kps = nn.Embedding(c.num_face_points, 2)
        self.lhand_keypoint_embed = nn.Embedding(c.num_hand_points, d_model)
        self.rhand_keypoint_embed = nn.Embedding(c.num_hand_points, d_model)
        self.face_keypoint_embed = nn.Embedding(c.num_face_points, d_model)

        self.body_layout = BodyStageLayout(c.num_body_points)
        self.whole_layout = WholeBodyStageLayout(
            c.num_body_points, c.num_hand_points, c.num_face_points
        )
        # Eval-time per-person self-attention of the body and whole-body stages, kept as
        # structure so that only the allowed pairs are scored (training uses dense masks that
        # also cover its denoising queries).
        self.body_attention = GroupAttentionPattern(
            c.num_group, self.body_layout.tokens, tuple(self.body_layout.box_slots)
        )
        self.whole_body_attention = GroupAttentionPattern(
            c.num_group, self.whole_layout.tokens, tuple(self.whole_layout.box_slots)
        )

    def attach_heads(self, heads: PredictionHeads) -> None:
        """Mount the network's head lists (same instances, not copies) as the official does."""
        for name in DECODER_HEAD_NAMES:
            setattr(self, name, getattr(heads, name))

    # ----------------------------------------------------------------------------------------
    # Stage transitions and refinements
    # ----------------------------------------------------------------------------------------

    def _indices(self, tokens: int, slots: range | list[int], device: torch.device) -> Tensor:
        return index_tensor(token_indices(self.config.num_group, tokens, slots), device)

    def _expand_to_body_stage(
        self, layer_id: int, output: Tensor, boxes: Tensor
    ) -> tuple[Tensor, Tensor]:
        """(Q, B, C), (Q, B, 4) -> (G * (Nb + 4), B, C), (G * (Nb + 4), B, 4)."""
        c = self.config
        # The official ranks queries on the un-normalised layer output.
        class_logits = self.class_embed[layer_id](output)
        person, person_box = select_top_groups(class_logits, output, boxes, c.num_group)
        # With 17 body points the spawning head is the extra last entry of pose_embed.
        keypoint_head = self.pose_embed[-1] if c.num_body_points == 17 else self.pose_embed[0]
        spawned = [
            spawn_part_tokens(person, person_box, self.keypoint_embed, keypoint_head, self.hw),
            spawn_part_tokens(
                person, person_box, self.lhand_box_embed, self.bbox_hand_embed[-1],
                self.hw_lhand_bbox,
            ),
            spawn_part_tokens(
                person, person_box, self.rhand_box_embed, self.bbox_hand_embed[-1],
                self.hw_rhand_bbox,
            ),
            spawn_part_tokens(
                person, person_box, self.face_box_embed, self.bbox_face_embed[-1],
                self.hw_face_bbox,
            ),
        ]
        content = torch.cat([person.unsqueeze(1)] + [s[0] for s in spawned], dim=1)
        boxes = torch.cat([person_box.unsqueeze(1)] + [s[1] for s in spawned], dim=1)
        return content.flatten(0, 1), boxes.flatten(0, 1)

    def _refine_body_stage(self, layer_id: int, reference: Tensor, output: Tensor) -> Tensor:
        layout, device = self.body_layout, output.device
        tokens = layout.tokens
        stage_index = layer_id - self.config.num_box_decoder_layers
        hand_xy, hand_wh = self.bbox_hand_embed[stage_index], self.bbox_hand_hw_embed[stage_index]
        updates = [
            PartUpdate(slice(layout.body_box, None, tokens), self.bbox_embed[layer_id]),
            PartUpdate(
                self._indices(tokens, layout.body_keypoints, device),
                self.pose_embed[stage_index],
                self.pose_hw_embed[stage_index],
            ),
            PartUpdate(slice(layout.lhand_box, None, tokens), hand_xy, hand_wh),
            PartUpdate(slice(layout.rhand_box, None, tokens), hand_xy, hand_wh),
            PartUpdate(
                slice(layout.face_box, None, tokens),
                self.bbox_face_embed[stage_index],
                self.bbox_face_hw_embed[stage_index],
            ),
        ]
        return refine_boxes(reference, output, updates)

    def _expand_to_whole_body_stage(self, output: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """(G * (Nb + 4), B, ...) -> (G * (Nb + 2 Nh + Nf + 4), B, ...)."""
        layout, c = self.body_layout, self.config
        batch = output.shape[1]

        def per_group(x: Tensor, slot: int) -> Tensor:  # (G, B, ...)
            return x[slot :: layout.tokens]

        keypoint_idx = self._indices(layout.tokens, layout.body_keypoints, output.device)
        body_content = torch.cat(
            (
                per_group(output, layout.body_box).unsqueeze(1),
                output.index_select(0, keypoint_idx).view(
                    c.num_group, c.num_body_points, batch, -1
                ),
            ),
            dim=1,
        )
        body_boxes = torch.cat(
            (
                per_group(boxes, layout.body_box).unsqueeze(1),
                boxes.index_select(0, keypoint_idx).view(c.num_group, c.num_body_points, batch, 4),
            ),
            dim=1,
        )
        contents, part_boxes = [body_content], [body_boxes]
        for slot, keypoint_embed, head, size_logits in (
            (layout.lhand_box, self.lhand_keypoint_embed, self.pose_hand_embed[-1],
             self.hw_lhand_kps),
            (layout.rhand_box, self.rhand_keypoint_embed, self.pose_hand_embed[-1],
             self.hw_rhand_kps),
            (layout.face_box, self.face_keypoint_embed, self.pose_face_embed[-1],
             self.hw_face_kps),
        ):
            part, part_box = per_group(output, slot), per_group(boxes, slot)
            content, spawned = spawn_part_tokens(part, part_box, keypoint_embed, head, size_logits)
            contents.append(torch.cat((part.unsqueeze(1), content), dim=1))
            part_boxes.append(torch.cat((part_box.unsqueeze(1), spawned), dim=1))
        return torch.cat(contents, dim=1).flatten(0, 1), torch.cat(part_boxes, dim=1).flatten(0, 1)

    def _refine_whole_body_stage(self, layer_id: int, reference: Tensor, output: Tensor) -> Tensor:
        layout, device, c = self.whole_layout, output.device, self.config
        tokens = layout.tokens
        body_index = layer_id - c.num_box_decoder_layers
        part_index = layer_id - c.num_hand_face_decoder_layers
        hand_xy, hand_wh = self.bbox_hand_embed[body_index], self.bbox_hand_hw_embed[body_index]
        hand_kp_xy = self.pose_hand_embed[part_index]
        hand_kp_wh = self.pose_hand_hw_embed[part_index]
        updates = [
            PartUpdate(slice(layout.body_box, None, tokens), self.bbox_embed[layer_id]),
            PartUpdate(
                self._indices(tokens, layout.body_keypoints, device),
                self.pose_embed[body_index],
                self.pose_hw_embed[body_index],
            ),
            PartUpdate(slice(layout.lhand_box, None, tokens), hand_xy, hand_wh),
            PartUpdate(
                self._indices(tokens, layout.lhand_keypoints, device), hand_kp_xy, hand_kp_wh
            ),
            PartUpdate(slice(layout.rhand_box, None, tokens), hand_xy, hand_wh),
            PartUpdate(
                self._indices(tokens, layout.rhand_keypoints, device), hand_kp_xy, hand_kp_wh
            ),
            PartUpdate(
                slice(layout.face_box, None, tokens),
                self.bbox_face_embed[body_index],
                self.bbox_face_hw_embed[body_index],
            ),
            PartUpdate(
                self._indices(tokens, layout.face_keypoints, device),
                self.pose_face_embed[part_index],
                self.pose_face_hw_embed[part_index],
            ),
        ]
        return refine_boxes(reference, output, updates)

    def _refine_denoising(self, layer_id: int, reference: Tensor, output: Tensor) -> Tensor:
        """Denoising queries only ever refine their body box (full 4-d offset)."""
        if not reference.shape[0]:
            return reference
        return (self.bbox_embed[layer_id](output) + inverse_sigmoid(reference)).sigmoid()

    # ----------------------------------------------------------------------------------------

    def forward(
        self,
        queries: Tensor,
        reference_unsigmoid: Tensor,
        memory: Tensor,
        memory_padding_mask: Tensor | None,
        spatial_shapes: Tensor,
        level_start_index: Tensor,
        valid_ratios: Tensor,
        denoising: DenoisingQueries | None = None,
    ) -> DecoderOutput:
        """queries (D + Q, B, C) and reference_unsigmoid (D + Q, B, 4): the D denoising queries
        (none at eval) then the two-stage selection; memory (B, S, C); memory_padding_mask
        (B, S) or None (nothing padded); valid_ratios (B, L, 2) as (w, h)."""
        c = self.config
        num_dn = 0 if denoising is None else denoising.count
        self_attn_mask: Tensor | GroupAttentionPattern | None
        body_mask: Tensor | GroupAttentionPattern
        whole_body_mask: Tensor | GroupAttentionPattern
        if denoising is None:
            body_mask, whole_body_mask = self.body_attention, self.whole_body_attention
            self_attn_mask = None  # the box stage attends freely
        else:
            self_attn_mask, body_mask, whole_body_mask = denoising.attention_masks

        output = queries
        reference = reference_unsigmoid.sigmoid()
        references = [reference]
        hidden_states = []
        box_ratios = torch.cat([valid_ratios, valid_ratios], -1)[None]  # (1, B, L, 4)
        for layer_id, layer in enumerate(self.layers):
            reference_input = reference[:, :, None] * box_ratios  # (N, B, L, 4)
            query_sine = sine_embed_positions(reference_input[:, :, 0, :], c.hidden_dim // 2)
            query_pos = self.ref_point_head(query_sine)  # (N, B, C)
            output = layer(
                output,
                query_pos,
                reference_input,
                memory,
                memory_padding_mask,
                spatial_shapes,
                level_start_index,
                self_attn_mask,
            )
            hidden_states.append(self.norm(output))

            if layer_id < c.num_box_decoder_layers:
                delta = self.bbox_embed[layer_id](output)
                new_reference = (delta + inverse_sigmoid(reference)).sigmoid()
                if layer_id == c.num_box_decoder_layers - 1:
                    dn_output, dn_reference = output[:num_dn], new_reference[:num_dn]
                    output, new_reference = self._expand_to_body_stage(
                        layer_id, output[num_dn:], new_reference[num_dn:]
                    )
                    output = _prepend(dn_output, output)
                    new_reference = _prepend(dn_reference, new_reference)
                    self_attn_mask = body_mask
            else:
                if layer_id < c.num_hand_face_decoder_layers:
                    new_reference = self._refine_body_stage(
                        layer_id, reference[num_dn:], output[num_dn:]
                    )
                else:
                    new_reference = self._refine_whole_body_stage(
                        layer_id, reference[num_dn:], output[num_dn:]
                    )
                dn_reference = self._refine_denoising(
                    layer_id, reference[:num_dn], output[:num_dn]
                )
                if layer_id == c.num_hand_face_decoder_layers - 1:
                    dn_output = output[:num_dn]
                    output, new_reference = self._expand_to_whole_body_stage(
                        output[num_dn:], new_reference
                    )
                    output = _prepend(dn_output, output)
                    self_attn_mask = whole_body_mask
                new_reference = _prepend(dn_reference, new_reference)

            # The official detaches the reference fed to the next layer (gradients stop there).
            reference = new_reference.detach()
            references.append(new_reference)

        return DecoderOutput(
            hidden_states=[h.transpose(0, 1) for h in hidden_states],
            references=[r.transpose(0, 1) for r in references],
            num_denoising=num_dn,
        )
