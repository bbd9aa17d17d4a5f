"""A file laid out like the released checkpoint (random tensors, official shapes) loads strictly."""

import argparse
from pathlib import Path

import torch

from aios_core import AiOS

MANIFEST = Path(__file__).parent / "data" / "aios_state_dict.tsv"


def random_official_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for line in MANIFEST.read_text().splitlines()[1:]:
        key, shape_text, dtype_text = line.split("\t")
        shape = () if shape_text == "scalar" else tuple(int(n) for n in shape_text.split("x"))
        dtype = getattr(torch, dtype_text)
        if dtype.is_floating_point:
            state[key] = torch.randn(shape, generator=generator, dtype=dtype)
        else:
            state[key] = torch.randint(0, 50, shape, generator=generator, dtype=dtype)
    return state


def test_random_official_checkpoint_loads_strictly(tmp_path):
    state = random_official_state_dict()
    path = tmp_path / "aios_checkpoint.pth"
    # As the official training script saves it, metadata included.
    torch.save(
        {"model": state, "epoch": 3, "args": argparse.Namespace(lr=1e-4, backbone="resnet50")},
        path,
    )
    model = AiOS.from_checkpoint(path, device="cpu")
    assert not model.training
    loaded = model.state_dict()
    for key in (
        "backbone.0.body.conv1.weight",
        "transformer.level_embed",
        "transformer.encoder.layers.5.self_attn.value_proj.weight",
        "smpl_cam_embed.0.layers.2.bias",
        "body_model.v_template",
        "body_model.faces_tensor",
    ):
        assert torch.equal(loaded[key], state[key]), key
