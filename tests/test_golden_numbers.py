"""Golden numbers: a seeded random network's fp32 outputs on two small images, stored in the repo.

Any change to the network's numerics (layer order, summation order, a kernel, preprocessing)
shows up here at once. The numbers were written from the network as it stood when this test
was added; regenerate them only for a deliberate numerics change, and say so in the commit:

    python3 -m tests.test_golden_numbers --write
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aios_core.model.network import OUTPUT_KEYS
from aios_core.model.preprocess import prepare_batch
from tests.tiny_network import build_tiny_network

GOLDEN_NPZ = Path(__file__).parent / "data" / "golden_tiny_network.npz"
# Two sizes, so the resize, the padding mask and the per-level shapes all differ.
IMAGE_SIZES_HW = ((48, 64), (90, 60))
SHORT_SIDE_PX, MAX_SIDE_PX = 64, 128
VERTEX_STRIDE = 97  # every 97th vertex of each person keeps the file small (~110 of 10475)
TOLERANCE = 1e-5


def golden_images() -> list[np.ndarray]:
    """Two seeded RGB images: a smooth gradient with noise, so features are not all alike."""
    images = []
    for seed, (height, width) in enumerate(IMAGE_SIZES_HW):
        rng = np.random.default_rng(seed)
        ramp = np.linspace(0, 200, width)[None, :, None] + np.linspace(0, 40, height)[:, None, None]
        noisy = ramp + rng.normal(0, 25, (height, width, 3))
        images.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return images


def compute_golden_outputs() -> dict[str, np.ndarray]:
    """'<image index>/<output key>' -> float32 array of the tiny network's forward, fp32."""
    model = build_tiny_network(seed=0)
    outputs: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for index, image in enumerate(golden_images()):
            batch = prepare_batch([image], "cpu", SHORT_SIDE_PX, MAX_SIDE_PX)
            outputs[f"{index}/input"] = batch.images[0].numpy()
            raw = model(batch.images, batch.padding_mask)
            for key in OUTPUT_KEYS:
                value = raw[key][0]
                if key == "pred_smpl_verts":
                    value = value[:, ::VERTEX_STRIDE]
                outputs[f"{index}/{key}"] = value.float().numpy()
    return outputs


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN_NPZ) as stored:
        return dict(stored)


@pytest.fixture(scope="module")
def computed() -> dict[str, np.ndarray]:
    return compute_golden_outputs()


def test_golden_file_holds_every_output(golden, computed):
    assert sorted(golden) == sorted(computed)
    for key, value in golden.items():
        assert value.shape == computed[key].shape, key


@pytest.mark.parametrize("key", [f"{i}/{k}" for i in range(2) for k in ("input", *OUTPUT_KEYS)])
def test_outputs_equal_the_golden_numbers(golden, computed, key):
    np.testing.assert_allclose(computed[key], golden[key], rtol=TOLERANCE, atol=TOLERANCE,
                               err_msg=key)


def test_inference_poses_only_the_returned_people_with_the_same_numbers(golden):
    model = build_tiny_network(seed=0)
    image = golden_images()[0]
    batch = prepare_batch([image], "cpu", SHORT_SIDE_PX, MAX_SIDE_PX)
    probabilities = torch.from_numpy(golden["0/pred_logits"]).sigmoid()
    # Between the scores, so some people are returned and some are not.
    threshold = float(probabilities.flatten().sort()[0][6])
    returned = (probabilities >= threshold).any(-1)
    assert 0 < int(returned.sum()) < len(returned)
    with torch.inference_mode():
        raw = model(batch.images, batch.padding_mask, posed_score_threshold=threshold)
    for key in ("pred_smpl_kp3d", "pred_smpl_verts"):
        value = raw[key][0]
        value = value[:, ::VERTEX_STRIDE] if key == "pred_smpl_verts" else value
        np.testing.assert_allclose(value[returned].numpy(), golden[f"0/{key}"][returned.numpy()],
                                   rtol=TOLERANCE, atol=TOLERANCE)
        assert not value[~returned].any()
    np.testing.assert_allclose(raw["pred_logits"][0].numpy(), golden["0/pred_logits"],
                               rtol=TOLERANCE, atol=TOLERANCE)


def test_golden_numbers_are_not_degenerate(golden):
    # A constant or NaN output would make the comparison above meaningless.
    for key, value in golden.items():
        assert np.isfinite(value).all(), key
        assert value.std() > 0, key


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python3 -m tests.test_golden_numbers --write")
    arrays = compute_golden_outputs()
    np.savez_compressed(GOLDEN_NPZ, **arrays)
    print(f"wrote {len(arrays)} arrays, {GOLDEN_NPZ.stat().st_size} bytes")
