"""The official test-time image preparation, on the CPU, through the official's own OpenCV calls.

Floating-point results of OpenCV's warp and arithmetic depend on the build and on the CPU it runs
on (vector width, fused multiply-adds, Intel IPP on Intel processors), so no re-implementation
can equal them everywhere. This module therefore makes the very calls the official inference
path makes (``datasets/INFERENCE_demo.py``: ``load_img(..., 'BGR')``,
``augmentation_keep_size(..., 'test')``, then mmcv's ``Normalize``), in the same order, on the
same dtypes:

1. the image as float32 BGR (``cv2.imread`` order);
2. ``cv2.warpAffine`` (bilinear, constant zero border) under the float32 matrix that
   ``cv2.getAffineTransform`` builds from the official three point pairs, applied even when the
   size does not change;
3. clipping to 0..255 (the official multiplies by an all-ones colour scale first: exact);
4. mmcv's ``imnormalize_``: ``cv2.cvtColor`` BGR -> RGB, ``cv2.subtract`` of the float32 mean and
   ``cv2.multiply`` by the reciprocal of the float32 std, both passed as float64 (1, 3) arrays.

So on any machine the network input equals what the official code computes on that machine.
"""

from __future__ import annotations

import cv2
import numpy as np

# ImageNet statistics on 0..255 values, RGB order (the official ``Normalize`` keeps them float32).
PIXEL_MEAN_RGB = (123.675, 116.28, 103.53)
PIXEL_STD_RGB = (58.395, 57.12, 57.375)
_MEAN_F64 = np.float64(np.array(PIXEL_MEAN_RGB, np.float32).reshape(1, -1))
_STD_RECIPROCAL_F64 = 1 / np.float64(np.array(PIXEL_STD_RGB, np.float32).reshape(1, -1))


def official_warp_matrix(in_h: int, in_w: int, out_h: int, out_w: int) -> np.ndarray:
    """(2, 3) float32 matrix mapping the whole input image onto (out_h, out_w), as the official
    ``gen_trans_from_patch_cv`` builds it for the whole-image box with scale 1 and no rotation."""
    src = np.float32([[in_w / 2, in_h / 2], [in_w / 2, in_h], [in_w, in_h / 2]])
    dst = np.float32([[out_w / 2, out_h / 2], [out_w / 2, out_h], [out_w, out_h / 2]])
    return cv2.getAffineTransform(src, dst).astype(np.float32)


def normalise_rgb_(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 RGB on 0..255 -> ImageNet-normalised in place, by mmcv's OpenCV calls."""
    cv2.subtract(image, _MEAN_F64, image)
    cv2.multiply(image, _STD_RECIPROCAL_F64, image)
    return image


def official_network_input(image_rgb: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(H, W, 3) RGB, uint8 or float on 0..255 -> (3, out_h, out_w) float32 network input."""
    bgr = np.ascontiguousarray(image_rgb[..., ::-1], dtype=np.float32)
    in_h, in_w = bgr.shape[:2]
    warped = cv2.warpAffine(bgr, official_warp_matrix(in_h, in_w, out_h, out_w), (out_w, out_h),
                            flags=cv2.INTER_LINEAR)
    np.clip(warped, 0, 255, out=warped)
    cv2.cvtColor(warped, cv2.COLOR_BGR2RGB, warped)
    return normalise_rgb_(warped).transpose(2, 0, 1)
