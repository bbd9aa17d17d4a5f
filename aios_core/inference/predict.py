"""Images in, people out: preprocessing, one forward pass and post-processing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from aios_core.inference.postprocess import (
    DEFAULT_SCORE_THRESHOLD,
    NUM_SELECT,
    postprocess,
    score_threshold,
)
from aios_core.inference.preprocess import (
    TEST_MAX_SIDE_PX,
    TEST_SHORT_SIDE_PX,
    as_chw_tensor,
    prepare_batch,
    resized_size,
)
from aios_core.inference.results import ImageResult, PersonResult
from aios_core.model.config import AiOSConfig

__all__ = ["DEFAULT_SCORE_THRESHOLD", "ImageResult", "PersonResult", "predict_images"]


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device of the model's tensors and the floating dtype its inputs should have."""
    tensors = [*model.parameters(), *model.buffers()]
    if not tensors:
        return torch.device("cpu"), torch.float32
    floating = [t for t in tensors if t.is_floating_point()]
    return tensors[0].device, (floating[0].dtype if floating else torch.float32)


def predict_images(
    model: nn.Module,
    images: Sequence[np.ndarray | Tensor],
    threshold: float | None = None,
) -> list[ImageResult]:
    """Detect every person in each image; one ImageResult per image, in input order.

    model: an AiOS network (``forward(images, padding_mask) -> raw output dict``), normally in
    eval mode. images: numpy (H, W, 3) uint8 RGB or tensors (3, H, W) / (H, W, 3) with values
    in 0..255; sizes may differ. threshold: minimum detection score, default
    DEFAULT_SCORE_THRESHOLD.

    Images are batched by network input size: zero padding changes what the official network
    computes (GroupNorm statistics over the padded canvas, border features, padded tokens in
    the two-stage top-k), so an image is never padded to another's size (its result can still
    differ in the last bit with the batch size: matrix products block by batch). All frames of
    a video form one batch.
    An AiOS network poses SMPL-X only for the people it returns.
    """
    if isinstance(images, (np.ndarray, Tensor)) or not isinstance(images, Sequence):
        raise ValueError("images must be a sequence (list or tuple) of images")
    device, dtype = _model_device_dtype(model)
    threshold = score_threshold(threshold)
    # An AiOS network says its test-time size and selection; other modules get the official.
    config = getattr(model, "config", None)
    config = config if isinstance(config, AiOSConfig) else None
    sizes = ((config.inference_short_side_px, config.inference_max_side_px) if config
             else (TEST_SHORT_SIDE_PX, TEST_MAX_SIDE_PX))
    num_select = config.num_select if config else NUM_SELECT
    sources = [as_chw_tensor(image, i) for i, image in enumerate(images)]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, source in enumerate(sources):
        groups.setdefault(resized_size(source.shape[1], source.shape[2], *sizes), []).append(i)

    results: list[ImageResult | None] = [None] * len(sources)
    with torch.inference_mode():
        for indices in groups.values():
            batch = prepare_batch([sources[i] for i in indices], device, *sizes)
            images_in = batch.images.to(dtype)
            if config is not None:
                outputs = model(images_in, batch.padding_mask, posed_score_threshold=threshold)
            else:
                outputs = model(images_in, batch.padding_mask)
            people = postprocess(outputs, batch, threshold, num_select)
            for i, result in zip(indices, people, strict=True):
                results[i] = result
    return results  # type: ignore[return-value]
