"""Architecture hyper-parameters of the AiOS network; defaults = the released inference model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AiOSConfig:
    """Numbers that fix the network's shape and its eval-time behaviour.

    Defaults reproduce the official ``config/aios_smplx_inference.py`` (ResNet-50, 4 feature
    levels, 6 + 6 deformable layers, 900 two-stage queries, 100 person groups, 17 body / 6 hand /
    6 face keypoint tokens). Tests shrink widths and counts; the stage boundaries must keep the
    official relation checked in ``__post_init__``.
    """

    # Transformer widths.
    hidden_dim: int = 256
    nheads: int = 8
    enc_layers: int = 6
    dec_layers: int = 6
    dim_feedforward: int = 2048
    dropout: float = 0.0
    transformer_activation: str = "relu"
    num_feature_levels: int = 4
    enc_n_points: int = 4
    dec_n_points: int = 4

    # Backbone (ResNet-50 stages layer2..layer4) and its sine position encoding.
    return_interm_indices: tuple[int, ...] = (1, 2, 3)
    pe_temperature_h: float = 20.0
    pe_temperature_w: float = 20.0

    # Queries: the encoder proposes num_queries boxes; the decoder keeps num_group persons after
    # the box stage and expands each into part tokens.
    num_queries: int = 900
    num_group: int = 100
    # Persons kept by inference (the post-processor's top-k over queries x classes); only
    # these get a posed SMPL-X mesh at inference.
    num_select: int = 50
    num_classes: int = 2
    cls_prior_prob: float = 0.01
    # Width and height (normalised, before the 2**level factor) of the encoder's anchor boxes.
    proposal_base_wh: float = 0.05

    # Part tokens per person.
    num_body_points: int = 17
    num_hand_points: int = 6
    num_face_points: int = 6
    # Decoder stages: layers [0, num_box) locate bodies; [num_box, num_hand_face) refine body
    # keypoints and part boxes; [num_hand_face, dec_layers) refine the whole body.
    num_box_decoder_layers: int = 2
    num_hand_face_decoder_layers: int = 4

    # Label book of the denoising label embedding (its size fixes a checkpoint tensor; how many
    # denoising queries training adds is a training setting).
    dn_labelbook_size: int = 100

    # SMPL-X body model (the camera's fixed focal length is aios_core.body.camera's).
    num_betas: int = 10
    num_expression_coeffs: int = 10
    body_model_joint_num: int = 22  # SMPL-X root + 21 body joints regressed in 6-D
    hand_joint_num: int = 15

    # Test-time resize of every image (official: short side 800 px, long side at most 1333 px).
    # Smaller sizes trade accuracy for speed; tests use tiny ones.
    inference_short_side_px: int = 800
    inference_max_side_px: int = 1333

    def __post_init__(self) -> None:
        # The official heads pick their "2_3" variants for exactly two body-refinement layers and
        # the official forward hard-codes that count, so the stages must be laid out this way.
        if self.num_hand_face_decoder_layers != self.num_box_decoder_layers + 2:
            raise ValueError("num_hand_face_decoder_layers must equal num_box_decoder_layers + 2")
        if self.num_box_decoder_layers < 1:
            raise ValueError("num_box_decoder_layers must be at least 1")
        if self.dec_layers <= self.num_hand_face_decoder_layers:
            raise ValueError("dec_layers must exceed num_hand_face_decoder_layers")
        if self.hidden_dim % 32 or self.hidden_dim % self.nheads:
            raise ValueError("hidden_dim must be a multiple of 32 (GroupNorm) and of nheads")
        if self.num_group > self.num_queries:
            raise ValueError("num_group cannot exceed num_queries")
        if not 0 < self.inference_short_side_px <= self.inference_max_side_px:
            raise ValueError("inference_short_side_px must be in 1..inference_max_side_px")

    @property
    def num_whole_body_points(self) -> int:
        """Keypoint tokens per person in the whole-body stage (body + two hands + face)."""
        return self.num_body_points + 2 * self.num_hand_points + self.num_face_points

    @property
    def body_stage_tokens(self) -> int:
        """Tokens per person in the body stage: box, body keypoints, lhand/rhand/face boxes."""
        return self.num_body_points + 4

    @property
    def whole_body_stage_tokens(self) -> int:
        """Tokens per person in the whole-body stage: four boxes plus all keypoints."""
        return self.num_whole_body_points + 4

    @property
    def num_body_refinement_layers(self) -> int:
        return self.num_hand_face_decoder_layers - self.num_box_decoder_layers
