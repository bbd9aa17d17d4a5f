"""A small random-weight AiOS for fast CPU tests."""

from __future__ import annotations

import torch

from aios_core.model.config import AiOSConfig
from aios_core.model.embedded_body_model import random_body_model_buffers
from aios_core.model.network import AiOS

# Small enough for CPU tests, but with the official stage layout (2 box layers, 2 body layers,
# whole-body from layer 4) and the official token counts per person.
TINY = AiOSConfig(
    hidden_dim=64,
    nheads=4,
    enc_layers=1,
    dec_layers=5,
    dim_feedforward=128,
    num_queries=40,
    num_group=5,
)


def _randomise(model: AiOS, seed: int) -> AiOS:
    """Random weights everywhere (the zero-initialised heads would hide indexing mistakes)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("body_model.", "backbone.")):
                continue  # the backbone keeps its (stable) default init
            fan_in = p[0].numel() if p.dim() > 1 else 10.0
            p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)
    random_body_model_buffers(model.body_model, g)
    return model.eval()


# Non-default stage layouts (box / body / whole-body layers 3 / 2 / 1 and 1 / 2 / 1), narrower.
SHIFTED_STAGES = AiOSConfig(hidden_dim=32, nheads=2, enc_layers=1, dec_layers=6,
                            num_box_decoder_layers=3, num_hand_face_decoder_layers=5,
                            dim_feedforward=64, num_queries=20, num_group=3)
SHORT_STAGES = AiOSConfig(hidden_dim=32, nheads=2, enc_layers=1, dec_layers=4,
                          num_box_decoder_layers=1, num_hand_face_decoder_layers=3,
                          dim_feedforward=64, num_queries=20, num_group=3)


def build_tiny_network(seed: int = 0, config: AiOSConfig = TINY) -> AiOS:
    torch.manual_seed(seed)
    return _randomise(AiOS(config), seed=seed + 1)
