"""A small random-weight AiOS for fast CPU tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from aios_core.body.embedded_smplx import random_body_model_buffers
from aios_core.model.config import AiOSConfig
from aios_core.model.config_record import MODEL_CONFIG_KEY, config_record
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


# TINY at a 64 px test-time short side: the whole network in ~0.1 s a frame on one CPU core,
# for tests that run many clips through worker processes.
TINY_SMALL_INPUT = replace(TINY, inference_short_side_px=64, inference_max_side_px=96)


def write_tiny_checkpoint(path: Path, config: AiOSConfig = TINY_SMALL_INPUT,
                          seed: int = 0) -> Path:
    """A checkpoint of a random network of ``config`` that records the config, so
    ``AiOS.from_checkpoint(path)`` (and any `aios` command) rebuilds it from the file alone."""
    model = build_tiny_network(seed, config)
    torch.save({"model": model.state_dict(), MODEL_CONFIG_KEY: config_record(config)}, path)
    return path
