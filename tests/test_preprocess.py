"""Test-time resize, normalisation and padding against the official rule and OpenCV's warp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from aios_core.model.preprocess import (
    PIXEL_MEAN_RGB,
    PIXEL_STD_RGB,
    prepare_batch,
    resized_size,
)


@pytest.mark.parametrize(
    ("original_hw", "expected_hw"),
    [
        ((480, 640), (800, 1066)),  # short side -> 800, long side int(800 * 640 / 480)
        ((1080, 1920), (750, 1333)),  # long side capped: short = round(1333 * 1080 / 1920)
        ((720, 1280), (750, 1333)),
        ((1280, 720), (1333, 750)),  # portrait
        ((1000, 800), (1000, 800)),  # short side already 800: unchanged
        ((600, 2000), (400, 1333)),
        ((37, 53), (800, 1145)),  # upscaling, long side truncated from 1145.9
        ((801, 799), (802, 800)),
        # 1333 * 1497 / 2666 = 748.5 exactly: Python's round goes to the even 748.
        ((1497, 2666), (748, 1332)),
    ],
)
def test_resized_size_follows_official_rule(original_hw, expected_hw):
    assert resized_size(*original_hw) == expected_hw


def _official_reference(rgb: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """What the official pipeline computes: float32 affine warp of the whole image, clip, then
    mmcv-style normalisation. Returns (3, out_h, out_w)."""
    h, w = rgb.shape[:2]
    src = np.float32([[w / 2, h / 2], [w / 2, h], [w, h / 2]])
    dst = np.float32([[out_w / 2, out_h / 2], [out_w / 2, out_h], [out_w, out_h / 2]])
    matrix = cv2.getAffineTransform(src, dst).astype(np.float32)
    warped = cv2.warpAffine(
        rgb.astype(np.float32), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR
    )
    warped = np.clip(warped, 0, 255).astype(np.float32)
    mean = np.float32(PIXEL_MEAN_RGB)
    std = np.float32(PIXEL_STD_RGB)
    normalised = ((warped - mean).astype(np.float64) * (1.0 / std.astype(np.float64)))
    return normalised.astype(np.float32).transpose(2, 0, 1)


def _opencv_tolerance() -> float:
    # OpenCV >= 4.11 samples at float32 positions (what we reproduce exactly); older builds
    # quantise positions to 1/32 px, a few grey levels on noisy images.
    major, minor = (int(p) for p in cv2.__version__.split(".")[:2])
    return 1e-5 if (major, minor) >= (4, 11) else 0.2


def _noisy_image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("size_hw", "short", "max_side"),
    [((37, 53), 64, 100), ((90, 60), 40, 100), ((50, 200), 64, 100), ((33, 47), 33, 100)],
)
def test_resample_matches_official_warp(size_hw, short, max_side):
    rgb = _noisy_image(*size_hw, seed=size_hw[0])
    batch = prepare_batch([rgb], "cpu", short_side_px=short, max_side_px=max_side)
    out_h, out_w = resized_size(*size_hw, short, max_side)
    expected = _official_reference(rgb, out_h, out_w)
    assert batch.images.shape == (1, 3, out_h, out_w)
    np.testing.assert_allclose(batch.images[0].numpy(), expected, atol=_opencv_tolerance(), rtol=0)


def test_default_sizes_on_a_real_resize():
    rgb = _noisy_image(48, 64, seed=3)
    batch = prepare_batch([rgb], "cpu")
    assert batch.images.shape == (1, 3, 800, 1066)
    np.testing.assert_allclose(
        batch.images[0].numpy(), _official_reference(rgb, 800, 1066),
        atol=_opencv_tolerance(), rtol=0,
    )


def test_padding_layout_and_mask():
    small = _noisy_image(20, 30, seed=1)  # -> (40, 60) with short side 40
    tall = _noisy_image(50, 25, seed=2)  # -> (80, 40)
    batch = prepare_batch([small, tall], "cpu", short_side_px=40, max_side_px=100)
    assert batch.images.shape == (2, 3, 80, 60)
    assert batch.padding_mask.shape == (2, 80, 60)
    assert batch.padding_mask.dtype == torch.bool
    assert batch.original_sizes.tolist() == [[20, 30], [50, 25]]
    assert batch.resized_sizes.tolist() == [[40, 60], [80, 40]]
    expected_mask = torch.ones(2, 80, 60, dtype=torch.bool)
    expected_mask[0, :40, :60] = False
    expected_mask[1, :80, :40] = False
    assert torch.equal(batch.padding_mask, expected_mask)
    # Padding is zero in normalised space; valid pixels are not all zero.
    assert torch.count_nonzero(batch.images[0, :, 40:, :]) == 0
    assert torch.count_nonzero(batch.images[1, :, :, 40:]) == 0
    assert torch.count_nonzero(batch.images[1, :, :80, :40]) > 0
    np.testing.assert_allclose(batch.resize_scale_xy.numpy(), [[2.0, 2.0], [40 / 25, 80 / 50]])
    # Each image is prepared independently of its batch mates.
    alone = prepare_batch([tall], "cpu", short_side_px=40, max_side_px=100)
    assert torch.equal(alone.images[0], batch.images[1, :, :80, :40])


def test_batch_mixing_sizes_keeps_every_image_in_its_slot():
    images = [_noisy_image(20, 30, 6), _noisy_image(50, 25, 7), _noisy_image(20, 30, 8)]
    batch = prepare_batch(images, "cpu", short_side_px=40, max_side_px=100)
    for i, image in enumerate(images):
        alone = prepare_batch([image], "cpu", short_side_px=40, max_side_px=100)
        h, w = alone.images.shape[-2:]
        assert torch.equal(batch.images[i, :, :h, :w], alone.images[0])
        assert not batch.padding_mask[i, :h, :w].any()
        assert batch.padding_mask[i].sum() == 80 * 60 - h * w


def test_unresized_image_is_only_normalised():
    rgb = _noisy_image(40, 50, seed=4)
    batch = prepare_batch([rgb], "cpu", short_side_px=40)
    mean = np.array(PIXEL_MEAN_RGB)[:, None, None]
    std = np.array(PIXEL_STD_RGB)[:, None, None]
    expected = (rgb.transpose(2, 0, 1) - mean) / std
    np.testing.assert_allclose(batch.images[0].numpy(), expected, atol=1e-5)


def test_input_layouts_agree():
    rgb = _noisy_image(21, 34, seed=5)
    variants = [
        rgb,
        torch.from_numpy(rgb),  # (H, W, 3) uint8
        torch.from_numpy(rgb).permute(2, 0, 1),  # (3, H, W) uint8
        torch.from_numpy(rgb).permute(2, 0, 1).float(),  # (3, H, W) float 0..255
    ]
    prepared = [prepare_batch([v], "cpu", short_side_px=30).images for v in variants]
    for other in prepared[1:]:
        assert torch.equal(prepared[0], other)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ([], "empty"),
        (np.zeros((4, 4, 3), np.uint8), "sequence"),
        ([np.zeros((4, 4, 3), np.float32)], "uint8"),
        ([np.zeros((4, 4, 4), np.uint8)], r"\(H, W, 3\)"),
        ([np.zeros((4, 4), np.uint8)], r"\(H, W, 3\)"),
        ([torch.zeros(4, 4, 4)], r"\(3, H, W\)"),
        ([torch.zeros(3, 4, 4, dtype=torch.int32)], "dtype"),
        ([np.zeros((0, 4, 3), np.uint8)], "empty"),
        (["image.jpg"], "numpy array or torch tensor"),
    ],
)
def test_invalid_inputs_raise_value_error(images, message):
    with pytest.raises(ValueError, match=message):
        prepare_batch(images, "cpu")


def test_error_names_the_offending_image():
    good = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="image 1"):
        prepare_batch([good, np.zeros((8, 8, 2), np.uint8)], "cpu")


# Input sizes (h, w) whose official matrix carries translation terms that move single columns
# by an ulp (OpenCV's fused multiply-add), including one whose last columns OpenCV maps one
# by one (the tail of its vector loop); a pure-scaling warp differs there by up to 0.03.
TIE_SIZES_HW = [(1862, 1745), (1945, 1578), (1107, 1315), (1624, 685), (1022, 849),
                (1521, 1854), (560, 1706), (813, 1578)]


def _check_against_opencv(size_hw, seed: int, short: int = 800, max_side: int | None = 1333):
    rgb = _noisy_image(*size_hw, seed=seed)
    batch = prepare_batch([rgb], "cpu", short_side_px=short, max_side_px=max_side)
    out_h, out_w = resized_size(*size_hw, short, max_side)
    np.testing.assert_allclose(batch.images[0].numpy(), _official_reference(rgb, out_h, out_w),
                               atol=_opencv_tolerance(), rtol=0, err_msg=str(size_hw))


@pytest.mark.parametrize("size_hw", TIE_SIZES_HW)
def test_resample_matches_opencv_where_the_matrix_rounding_matters(size_hw):
    _check_against_opencv(size_hw, seed=size_hw[1])


def test_resample_matches_opencv_on_random_small_sizes():
    rng = np.random.default_rng(17)
    for _ in range(60):
        size_hw = (int(rng.integers(5, 200)), int(rng.integers(5, 200)))
        _check_against_opencv(size_hw, seed=size_hw[0], short=int(rng.integers(4, 120)),
                              max_side=int(rng.integers(120, 240)))


@pytest.mark.slow
def test_resample_matches_opencv_on_150_random_full_sizes():
    rng = np.random.default_rng(150)
    for _ in range(150):
        _check_against_opencv((int(rng.integers(20, 2000)), int(rng.integers(20, 2000))), seed=1)
