"""The network behind `aios run`: device and precision choice, checkpoint, body model."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from aios_core.assets import resolve_checkpoint, resolve_smplx_dir
from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.meshes import MeshMaker
from aios_core.errors import DeviceUnavailableError
from aios_core.inference.predict import predict_images
from aios_core.inference.results import ImageResult
from aios_core.model.network import AiOS
from aios_core.precision import autocast_dtype


class NetworkPredictor:
    """images -> list[ImageResult] through the AiOS network, under autocast if asked."""

    def __init__(self, model: AiOS, threshold: float | None, precision: str = "fp32"):
        dtype = autocast_dtype(precision)  # PrecisionError for an unknown name
        device = next(model.parameters()).device
        if precision == "fp16" and device.type != "cuda":
            raise DeviceUnavailableError(
                "--precision fp16 needs a CUDA device; use bf16 or fp32 on CPU")
        self.model = model
        self.threshold = threshold
        self.device = device
        self.autocast_dtype = dtype

    def __call__(self, images: Sequence[np.ndarray]) -> list[ImageResult]:
        context = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with context:
            return predict_images(self.model, images, self.threshold)


def load_network(
    checkpoint: str | Path | None, device: torch.device, smplx_dir: str | Path | None
) -> tuple[AiOS, MeshMaker]:
    """The released network from the checkpoint, and the body model used to draw meshes: the
    SMPL-X embedded in the checkpoint, or the user's SMPL-X folder when one is given."""
    # Both paths are resolved before the (slow) checkpoint load so a typo fails at once.
    checkpoint_path = resolve_checkpoint(checkpoint)
    smplx_folder = None if smplx_dir is None else resolve_smplx_dir(smplx_dir)
    model = AiOS.from_checkpoint(checkpoint_path, device=device)
    if smplx_folder is None:
        return model, MeshMaker(model.body_model)
    body_model = EmbeddedSMPLX.from_model_folder(smplx_folder).to(device)
    return model, MeshMaker(body_model)
