"""Golden numbers: a seeded random network's fp32 outputs on two small images, stored in the repo.

Any change to the network's numerics (layer order, summation order, a kernel, preprocessing)
shows up here at once. The network is fed the stored input, so the outputs test the network
alone; the input is written by the torch preprocessing path, which is the same on every CPU,
and the CPU path (the official's OpenCV calls, whose kernels differ by CPU) is held to it within
``TORCH_PATH_TOLERANCE``. The numbers were written from the network as it stood when this test
was added; regenerate them only for a deliberate numerics change, and say so in the commit:

    python3 -m tests.test_golden_numbers --write
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aios_core.inference.preprocess import TORCH_PATH_TOLERANCE, prepare_batch, torch_network_input
from aios_core.model.network import OUTPUT_KEYS
from tests.tiny_network import build_tiny_network

GOLDEN_NPZ = Path(__file__).parent / "data" / "golden_tiny_network.npz"
# Two sizes, so the resize, the padding mask and the per-level shapes all differ.
IMAGE_SIZES_HW = ((48, 64), (90, 60))
SHORT_SIDE_PX, MAX_SIDE_PX = 64, 128
VERTEX_STRIDE = 97  # every 97th vertex of each person keeps the file small (~110 of 10475)
# Matrix libraries pick kernels by CPU and shape, so outputs move at float32 rounding between
# machines: measured at most 1.4e-6 (relative to 1 + |value|) between AVX-512 and AVX2 paths
# (MKL, oneDNN, ATen, Numba; tests/test_instruction_set_paths.py); the bound keeps a 7x margin.
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


def golden_input(image: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 3, H, W) network input by the torch path (equal on every CPU) and its padding mask."""
    mask = prepare_batch([image], "cpu", SHORT_SIDE_PX, MAX_SIDE_PX).padding_mask
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    return torch_network_input(pixels, *mask.shape[-2:]), mask


def network_outputs(model, images: torch.Tensor, mask: torch.Tensor, **options) -> dict:
    """'<output key>' -> float32 array of the first image's outputs (vertices subsampled)."""
    raw = model(images, mask, **options)
    outputs = {}
    for key in OUTPUT_KEYS:
        value = raw[key][0]
        if key == "pred_smpl_verts":
            value = value[:, ::VERTEX_STRIDE]
        outputs[key] = value.float().numpy()
    return outputs


def compute_golden_outputs(inputs: list[np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """'<image index>/<output key>' -> float32 array of the tiny network's forward, fp32, on
    ``inputs`` ((3, H, W) each; default: the torch path's input of each golden image)."""
    model = build_tiny_network(seed=0)
    outputs: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for index, image in enumerate(golden_images()):
            pixels, mask = golden_input(image)
            if inputs is not None:
                pixels = torch.from_numpy(inputs[index])[None]
            outputs[f"{index}/input"] = pixels[0].numpy()
            for key, value in network_outputs(model, pixels, mask).items():
                outputs[f"{index}/{key}"] = value
    return outputs


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN_NPZ) as stored:
        return dict(stored)


@pytest.fixture(scope="module")
def computed(golden) -> dict[str, np.ndarray]:
    return compute_golden_outputs([golden[f"{i}/input"] for i in range(len(IMAGE_SIZES_HW))])


def test_golden_file_holds_every_output(golden, computed):
    assert sorted(golden) == sorted(computed)
    for key, value in golden.items():
        assert value.shape == computed[key].shape, key


@pytest.mark.parametrize("key", [f"{i}/{k}" for i in range(2) for k in OUTPUT_KEYS])
def test_outputs_equal_the_golden_numbers(golden, computed, key):
    np.testing.assert_allclose(computed[key], golden[key], rtol=TOLERANCE, atol=TOLERANCE,
                               err_msg=key)


@pytest.mark.parametrize("index", range(len(IMAGE_SIZES_HW)))
def test_torch_preprocessing_reproduces_the_stored_input_exactly(golden, index):
    pixels, _ = golden_input(golden_images()[index])
    np.testing.assert_array_equal(pixels[0].numpy(), golden[f"{index}/input"])


@pytest.mark.parametrize("index", range(len(IMAGE_SIZES_HW)))
def test_cpu_preprocessing_is_within_the_opencv_spread_of_the_stored_input(golden, index):
    batch = prepare_batch([golden_images()[index]], "cpu", SHORT_SIDE_PX, MAX_SIDE_PX)
    np.testing.assert_allclose(batch.images[0].numpy(), golden[f"{index}/input"],
                               rtol=0, atol=TORCH_PATH_TOLERANCE)


def test_inference_poses_only_the_returned_people_with_the_same_numbers(golden):
    model = build_tiny_network(seed=0)
    _, mask = golden_input(golden_images()[0])
    pixels = torch.from_numpy(golden["0/input"])[None]
    probabilities = torch.from_numpy(golden["0/pred_logits"]).sigmoid()
    # Between the scores, so some people are returned and some are not.
    threshold = float(probabilities.flatten().sort()[0][6])
    returned = (probabilities >= threshold).any(-1)
    assert 0 < int(returned.sum()) < len(returned)
    with torch.inference_mode():
        outputs = network_outputs(model, pixels, mask, posed_score_threshold=threshold)
    for key in ("pred_smpl_kp3d", "pred_smpl_verts"):
        np.testing.assert_allclose(outputs[key][returned.numpy()],
                                   golden[f"0/{key}"][returned.numpy()],
                                   rtol=TOLERANCE, atol=TOLERANCE)
        assert not outputs[key][~returned.numpy()].any()
    np.testing.assert_allclose(outputs["pred_logits"], golden["0/pred_logits"],
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
