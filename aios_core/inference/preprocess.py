"""Test-time image preparation of AiOS: resize, normalise, pad and mask a batch.

The official inference path (``datasets/INFERENCE_demo.py``) resizes every frame so its short
side is 800 px unless the long side would exceed 1333 px, with ``cv2.warpAffine`` (bilinear,
constant-zero border) under a pure scaling matrix that maps the whole image onto the new size;
then ImageNet mean/std normalisation in RGB order on 0..255 values; then the batch is
zero-padded at the bottom/right to the largest image, with a mask that is True on padding.

On the CPU the resize and normalisation are the official's own OpenCV calls
(``preprocess_opencv``), so the network input equals the official's on any CPU and OpenCV build.
Other devices (GPUs) prepare the batch where it will be used, with ``torch_network_input``: the
source position of output pixel ``x`` is about ``x * (w / ow)`` (no half-pixel shift, unlike
``cv2.resize``), computed from the official matrix's float32 coefficients as OpenCV computes
them, the four neighbours blended bilinearly, neighbours past the right/bottom edge counting as
0. It follows OpenCV's arithmetic where that is knowable, but OpenCV's own kernels differ by CPU
(vector width, fused multiply-adds, Intel IPP): measured against ``cv2.warpAffine`` the torch
path differs by at most ``TORCH_PATH_TOLERANCE`` after normalisation (see the README's fidelity
contract).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from aios_core.inference.preprocess_opencv import (
    PIXEL_MEAN_RGB,
    PIXEL_STD_RGB,
    official_network_input,
    official_warp_matrix,
)

TEST_SHORT_SIDE_PX = 800
TEST_MAX_SIDE_PX = 1333
# Bound on the torch path's difference to the official OpenCV calls, in normalised units
# (3e-3 is 0.18 grey levels). OpenCV's warp kernels differ by CPU and by whether Intel IPP runs
# them; the difference grows with the source size. Measured on noisy images: at most 2.0e-3 up
# to 7680x4320 and 9e-4 up to 2000x2000 (AMD Zen 4, IPP on), 2.4e-7 with IPP off; 7.1e-4 at
# 1862x1745 on an Intel Xeon with AMX.
TORCH_PATH_TOLERANCE = 3e-3


@dataclass
class PreparedBatch:
    """Network input for B images plus the geometry needed to map predictions back."""

    images: Tensor  # (B, 3, Hp, Wp) float32, normalised RGB, zero on padding
    padding_mask: Tensor  # (B, Hp, Wp) bool, True on padding
    original_sizes: Tensor  # (B, 2) int64 (h, w) of the input images
    resized_sizes: Tensor  # (B, 2) int64 (h, w) after resizing, before padding
    resize_scale_xy: Tensor  # (B, 2) float32 resized px per original px, (ow / w, oh / h)

    def __len__(self) -> int:
        return self.images.shape[0]


def resized_size(
    height: int,
    width: int,
    short_side_px: int = TEST_SHORT_SIDE_PX,
    max_side_px: int | None = TEST_MAX_SIDE_PX,
) -> tuple[int, int]:
    """(height, width) after the official test-time resize.

    The short side becomes ``short_side_px`` unless that pushes the long side past
    ``max_side_px``; then the target short side is ``round(max * short / long)``. The long side
    is truncated (int), not rounded, as in the official rule.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    target = short_side_px
    short, long = float(min(height, width)), float(max(height, width))
    if max_side_px is not None and long / short * target > max_side_px:
        # Python's round (half to even) on a float, as the official code does.
        target = int(round(max_side_px * short / long))
    if min(height, width) == target:
        return height, width
    if width < height:
        return int(target * height / width), target
    return target, int(target * width / height)


def as_chw_tensor(image: np.ndarray | Tensor, index: int) -> Tensor:
    """One input image as a (3, H, W) tensor on its current device (uint8 or float 0..255)."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(
                f"image {index}: numpy images must be uint8 RGB (H, W, 3), got dtype {image.dtype}"
            )
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"image {index}: numpy images must have shape (H, W, 3), got {image.shape}"
            )
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    if isinstance(image, Tensor):
        if image.dtype != torch.uint8 and not image.dtype.is_floating_point:
            raise ValueError(
                f"image {index}: tensors must be uint8 or floating point (0..255), "
                f"got dtype {image.dtype}"
            )
        if image.ndim != 3 or 3 not in (image.shape[0], image.shape[2]):
            raise ValueError(
                f"image {index}: tensors must have shape (3, H, W) or (H, W, 3), "
                f"got {tuple(image.shape)}"
            )
        # A (3, W, 3) tensor is ambiguous; torch's channel-first layout wins.
        return image if image.shape[0] == 3 else image.permute(2, 0, 1)
    raise ValueError(
        f"image {index}: expected a numpy array or torch tensor, got {type(image).__name__}"
    )


def _fma32(a: np.ndarray, b: np.ndarray | np.float32, c: np.ndarray | np.float32) -> np.ndarray:
    """float32 a * b + c rounded once, as OpenCV's vector code computes it (the float32 product
    is exact in float64; the sum is rounded to float64 and then to float32)."""
    return (np.float64(b) * np.asarray(a, np.float64) + np.float64(c)).astype(np.float32)


def _official_inverse_warp(in_h: int, in_w: int, out_h: int, out_w: int) -> np.ndarray:
    """The official warp matrix, inverted the way ``cv2.warpAffine`` inverts it -> (2, 3) float32.

    The official matrix is float32 with tiny non-zero translation terms (~1e-13); OpenCV inverts
    it in float64 through the determinant and samples with float32 coefficients.
    """
    m = official_warp_matrix(in_h, in_w, out_h, out_w).astype(np.float64)
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    det = 1.0 / det if det != 0 else 0.0
    a11, a22, a12, a21 = m[1, 1] * det, m[0, 0] * det, -m[0, 1] * det, -m[1, 0] * det
    b1 = -a11 * m[0, 2] - a12 * m[1, 2]
    b2 = -a21 * m[0, 2] - a22 * m[1, 2]
    return np.array([[a11, a12, b1], [a21, a22, b2]]).astype(np.float32)


# OpenCV's warp loop maps this many output pixels per step with fused multiply-adds and the
# remaining pixels of each row one by one with separate roundings (two 8-float AVX2 vectors).
_OPENCV_WARP_STEP_PX = 16


def _source_positions(inverse: np.ndarray, out_h: int, out_w: int) -> tuple[np.ndarray, ...]:
    """Source x of every output column and source y of every output row, float32, computed
    with OpenCV's operations: x = fma(a11, col, b1) in the vector part of a row, the rounded
    product plus b1 in its tail; y = row * a22 + b2 (row terms in float32, not fused).

    The official matrix has m01 = 0 exactly, so x does not depend on the row; its m10 ~ 1e-16
    moves y by less than half an ulp except on row 0, where it can make the position a tiny
    negative number: that samples exactly what position 0 samples (the weight rounds to 1).
    """
    a11, a12, b1 = inverse[0]
    _, a22, b2 = inverse[1]
    assert a12 == 0, "the official scaling warp has no shear"
    cols = np.arange(out_w, dtype=np.float32)
    vector_part = _fma32(cols, a11, b1)
    tail = (cols * a11).astype(np.float32) + b1
    first_tail = out_w // _OPENCV_WARP_STEP_PX * _OPENCV_WARP_STEP_PX
    x = np.where(np.arange(out_w) >= first_tail, tail, vector_part)
    y = (np.arange(out_h, dtype=np.float32) * a22).astype(np.float32) + b2
    return np.maximum(x, np.float32(0)), np.maximum(y, np.float32(0))


def _source_taps(
    position: np.ndarray, in_len: int, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Neighbour indices and blend weight along one axis of the official scaling warp.

    Returns (lower index, upper index, weight of the upper neighbour), each (out_len,); an
    upper index equal to ``in_len`` points at the zero border row/column appended by the caller.
    """
    lower = np.floor(position)
    upper_weight = (position - lower).astype(np.float32)
    lower_index = np.minimum(lower.astype(np.int64), in_len)
    upper_index = np.minimum(lower_index + 1, in_len)
    taps = (lower_index, upper_index, upper_weight)
    return tuple(torch.from_numpy(np.ascontiguousarray(t)).to(device) for t in taps)


def _lerp(low: Tensor, high: Tensor, weight: Tensor) -> Tensor:
    """low + weight * (high - low) with one rounding of the multiply-add, as OpenCV's FMA.

    The float32 product is exact in float64, so the float64 sum rounded back to float32
    reproduces a fused multiply-add; devices without float64 round twice (<= 1 ulp off).
    """
    step = high - low
    if low.device.type == "mps":
        return low + weight * step
    return (low.double() + weight.double() * step.double()).float()


def warp_resize(images: Tensor, height: int, width: int) -> Tensor:
    """(..., H, W) float32 -> (..., height, width) by the official bilinear scaling warp."""
    in_h, in_w = images.shape[-2:]
    device = images.device
    # One zero row and column stand in for OpenCV's constant border.
    bordered = torch.nn.functional.pad(images, (0, 1, 0, 1))
    source_x, source_y = _source_positions(
        _official_inverse_warp(in_h, in_w, height, width), height, width
    )
    x0, x1, wx = _source_taps(source_x, in_w, device)
    y0, y1, wy = _source_taps(source_y, in_h, device)
    # Horizontal blend, then vertical: (..., H + 1, width) -> (..., height, width).
    rows = _lerp(bordered.index_select(-1, x0), bordered.index_select(-1, x1), wx)
    return _lerp(rows.index_select(-2, y0), rows.index_select(-2, y1), wy[:, None])


def normalise(pixels: Tensor) -> Tensor:
    """(..., 3, H, W) float32 RGB on 0..255 -> ImageNet-normalised float32, like mmcv.

    The float32 mean is subtracted in float32; the product with the reciprocal of the float32
    std is taken in float64 and rounded to float32 (OpenCV builds differ from this by an ulp;
    the CPU path calls OpenCV itself); devices without float64 get the float32 product.
    """
    mean = torch.tensor(PIXEL_MEAN_RGB, dtype=torch.float32, device=pixels.device)[:, None, None]
    std = torch.tensor(PIXEL_STD_RGB, dtype=torch.float32, device=pixels.device)[:, None, None]
    centred = pixels - mean
    if pixels.device.type == "mps":
        return centred * std.reciprocal()
    return (centred.double() * std.double().reciprocal()).float()


def torch_network_input(pixels: Tensor, height: int, width: int) -> Tensor:
    """(n, 3, H, W) float RGB on 0..255 -> (n, 3, height, width) network input, computed with
    torch on the pixels' device (within ``TORCH_PATH_TOLERANCE`` of the official OpenCV calls)."""
    if tuple(pixels.shape[-2:]) != (height, width):
        pixels = warp_resize(pixels, height, width)
    return normalise(pixels.clamp(0.0, 255.0))  # the official clips after the warp


def prepare_batch(
    images: Sequence[np.ndarray | Tensor],
    device: torch.device | str,
    short_side_px: int = TEST_SHORT_SIDE_PX,
    max_side_px: int | None = TEST_MAX_SIDE_PX,
) -> PreparedBatch:
    """Resize, normalise and pad RGB images for the network, computed on ``device``: on the CPU
    with the official's OpenCV calls, elsewhere with ``torch_network_input``.

    images: numpy (H, W, 3) uint8 RGB, or tensors (3, H, W) / (H, W, 3), uint8 or float with
    values in 0..255. Sizes may differ between images.
    """
    if isinstance(images, (np.ndarray, Tensor)) or not isinstance(images, Sequence):
        raise ValueError("images must be a sequence (list or tuple) of images")
    if len(images) == 0:
        raise ValueError("images is empty: need at least one image")
    device = torch.device(device)
    sources = [as_chw_tensor(image, i) for i, image in enumerate(images)]
    for i, source in enumerate(sources):
        if source.shape[1] == 0 or source.shape[2] == 0:
            raise ValueError(f"image {i} is empty: shape {tuple(source.shape)}")

    original = [(int(s.shape[1]), int(s.shape[2])) for s in sources]
    resized = [resized_size(h, w, short_side_px, max_side_px) for h, w in original]
    pad_h = max(h for h, _ in resized)
    pad_w = max(w for _, w in resized)

    batch = torch.zeros((len(sources), 3, pad_h, pad_w), dtype=torch.float32, device=device)
    padding_mask = torch.ones((len(sources), pad_h, pad_w), dtype=torch.bool, device=device)
    # Images of one size (all frames of a video) are resized together.
    same_size: dict[tuple[int, int], list[int]] = {}
    for i, size in enumerate(original):
        same_size.setdefault(size, []).append(i)
    for indices in same_size.values():
        h, w = resized[indices[0]]
        slots = torch.tensor(indices, device=device)
        if device.type == "cpu":
            for i in indices:
                rgb = sources[i].cpu().permute(1, 2, 0).numpy()
                batch[i, :, :h, :w] = torch.from_numpy(official_network_input(rgb, h, w))
        else:
            pixels = torch.stack([sources[i].to(device) for i in indices]).float()  # (n, 3, H, W)
            batch[slots, :, :h, :w] = torch_network_input(pixels, h, w)
        padding_mask[slots, :h, :w] = False

    original_sizes = torch.tensor(original, dtype=torch.int64)
    resized_sizes = torch.tensor(resized, dtype=torch.int64)
    resize_scale_xy = (resized_sizes.flip(-1).double() / original_sizes.flip(-1).double()).float()
    return PreparedBatch(
        batch,
        padding_mask,
        original_sizes.to(device),
        resized_sizes.to(device),
        resize_scale_xy.to(device),
    )
