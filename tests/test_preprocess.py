"""Test-time resize, normalisation and padding against the official rule and its OpenCV calls."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from aios_core.inference.preprocess import (
    PIXEL_MEAN_RGB,
    PIXEL_STD_RGB,
    TORCH_PATH_TOLERANCE,
    prepare_batch,
    resized_size,
    torch_network_input,
)
from aios_core.inference.preprocess_opencv import normalise_rgb_


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
    """The official inference path step by step (``load_img(path, 'BGR')``,
    ``augmentation_keep_size`` with its whole-image box, mmcv's ``Normalize``) on an image that
    ``cv2.imread`` would have returned as ``rgb[..., ::-1]``. Returns (3, out_h, out_w)."""
    image = rgb[..., ::-1].astype(np.float32)  # load_img: BGR, float32
    h, w = image.shape[:2]
    # gen_trans_from_patch_cv for the box (0, 0, w, h), scale 1, rotation 0.
    centre = np.array([0 + 0.5 * w, 0 + 0.5 * h], dtype=np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    src[0] = centre
    src[1] = centre + np.array([0, h * 0.5], dtype=np.float32)
    src[2] = centre + np.array([w * 0.5, 0], dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0] = [out_w * 0.5, out_h * 0.5]
    dst[1] = dst[0] + np.array([0, out_h * 0.5], dtype=np.float32)
    dst[2] = dst[0] + np.array([out_w * 0.5, 0], dtype=np.float32)
    matrix = cv2.getAffineTransform(np.float32(src), np.float32(dst)).astype(np.float32)
    patch = cv2.warpAffine(image, matrix, (int(out_w), int(out_h)), flags=cv2.INTER_LINEAR)
    patch = patch.astype(np.float32)
    # The colour scale is an integer array of ones: the product is float64, then clipped.
    patch = np.clip(patch * np.array([1, 1, 1])[None, None, :], 0, 255).astype(np.float32)
    # mmcv.imnormalize(img, mean, std, to_rgb=True) with Normalize's float32 statistics.
    normalised = patch.copy().astype(np.float32)
    mean = np.float64(np.array(PIXEL_MEAN_RGB, dtype=np.float32).reshape(1, -1))
    std_reciprocal = 1 / np.float64(np.array(PIXEL_STD_RGB, dtype=np.float32).reshape(1, -1))
    cv2.cvtColor(normalised, cv2.COLOR_BGR2RGB, normalised)
    cv2.subtract(normalised, mean, normalised)
    cv2.multiply(normalised, std_reciprocal, normalised)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def _noisy_image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _check_against_official(size_hw, seed: int, short: int = 800, max_side: int | None = 1333):
    """The CPU path equals the official operations bit for bit; the torch path (GPUs) is within
    its stated tolerance of them."""
    rgb = _noisy_image(*size_hw, seed=seed)
    batch = prepare_batch([rgb], "cpu", short_side_px=short, max_side_px=max_side)
    out_h, out_w = resized_size(*size_hw, short, max_side)
    expected = _official_reference(rgb, out_h, out_w)
    assert batch.images.shape == (1, 3, out_h, out_w)
    np.testing.assert_array_equal(batch.images[0].numpy(), expected, err_msg=str(size_hw))
    pixels = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    np.testing.assert_allclose(torch_network_input(pixels, out_h, out_w)[0].numpy(), expected,
                               atol=TORCH_PATH_TOLERANCE, rtol=0, err_msg=str(size_hw))


@pytest.mark.parametrize(
    ("size_hw", "short", "max_side"),
    [((37, 53), 64, 100), ((90, 60), 40, 100), ((50, 200), 64, 100), ((33, 47), 33, 100)],
)
def test_resample_matches_official_warp(size_hw, short, max_side):
    _check_against_official(size_hw, size_hw[0], short, max_side)


def test_default_sizes_on_a_real_resize():
    _check_against_official((48, 64), seed=3)
    assert prepare_batch([_noisy_image(48, 64, 3)], "cpu").images.shape == (1, 3, 800, 1066)


def test_an_image_already_at_size_goes_through_the_official_warp_too():
    # Short side already 800: the official still warps (an identity matrix) and normalises.
    _check_against_official((800, 1000), seed=9)


def test_tolerance_tells_the_official_warp_from_cv2_resize():
    # The torch path's tolerance is far below what a half-pixel shift (cv2.resize) moves.
    rgb = _noisy_image(40, 60, seed=11)
    shifted = cv2.resize(rgb.astype(np.float32), (90, 60), interpolation=cv2.INTER_LINEAR)
    official = _official_reference(rgb, 60, 90)
    assert np.abs(official - normalise_rgb_(shifted).transpose(2, 0, 1)).max() > 100 * (
        TORCH_PATH_TOLERANCE)


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
# by an ulp, including ones whose last columns OpenCV's vector loop maps one by one; a
# pure-scaling warp differs there by up to 0.03.
TIE_SIZES_HW = [(1862, 1745), (1945, 1578), (1107, 1315), (1624, 685), (1022, 849),
                (1521, 1854), (560, 1706), (813, 1578)]


@pytest.mark.parametrize("size_hw", TIE_SIZES_HW)
def test_resample_matches_official_where_the_matrix_rounding_matters(size_hw):
    _check_against_official(size_hw, seed=size_hw[1])


def test_resample_matches_official_on_random_small_sizes():
    rng = np.random.default_rng(17)
    for _ in range(60):
        size_hw = (int(rng.integers(5, 200)), int(rng.integers(5, 200)))
        _check_against_official(size_hw, seed=size_hw[0], short=int(rng.integers(4, 120)),
                                max_side=int(rng.integers(120, 240)))


@pytest.mark.slow
def test_resample_matches_official_on_150_random_full_sizes():
    rng = np.random.default_rng(150)
    for _ in range(150):
        _check_against_official((int(rng.integers(20, 2000)), int(rng.integers(20, 2000))), seed=1)
