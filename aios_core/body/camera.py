"""Pinhole projection and AiOS' camera model.

Camera frame (OpenCV, as AiOS renders with ``convention='opencv'``): x right, y down,
z forward (away from the camera), metres. Image coordinates: pixels, origin at the top-left
corner of the image, u to the right, v down.

AiOS predicts, per person, ``pred_smpl_cam = (s, tx, ty)`` and places the SMPL-X output
(vertices / joints as the body model returns them, no ``transl``) in the camera frame by a
pure translation (no camera rotation)::

    s' = s + 1e-9
    translation_m = (tx / s', ty / s', 1 / s')

seen through a virtual pinhole with focal length 5000 px on both axes and principal point at
the centre of the network's input image ``(w / 2, h / 2)`` (the resized image the network
sees, before batch padding). 1/s is the depth of the body-model origin in metres. This is
``project_points_new``, used by the official loss and by ``PostProcess_SMPLX_Multi_Infer``
('cam_trans' and 'smplx_joint_proj'). The config also defines ``camera_3d_size = 2.5`` and
``input_body_shape = (256, 192)``; neither takes part in this conversion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

AIOS_FOCAL_LENGTH_PX = 5000.0  # virtual focal length, both axes (config `focal`)
AIOS_CAM_SCALE_EPS = 1e-9  # added to the predicted scale before inverting it

# numpy arrays or torch tensors: the camera arithmetic below is written for both.
Array = TypeVar("Array", np.ndarray, Tensor)


def project_points(points_cam: Array, focal_px, principal_point_px) -> Array:
    """Pinhole projection: (..., 3) camera-frame points -> (..., 2) pixels.

    ``focal_px`` and ``principal_point_px`` are (fx, fy) and (cx, cy), shaped (..., 2) and
    broadcastable against ``points_cam[..., :2]`` (add a point axis for per-image values),
    or scalars. u = fx * x / z + cx, v = fy * y / z + cy (divide first, as AiOS does).
    """
    if points_cam.shape[-1] != 3:
        raise ValueError(f"points_cam must have shape (..., 3), got {tuple(points_cam.shape)}")
    normalised = points_cam[..., :2] / points_cam[..., 2:3]
    return normalised * focal_px + principal_point_px


def pixel_rays(pixels: Array, focal_px, principal_point_px) -> Array:
    """(..., 2) pixels -> (..., 3) camera-frame directions with z = 1 (unnormalised)."""
    xy = (pixels - principal_point_px) / focal_px
    one = xy[..., :1] * 0 + 1
    return torch.cat([xy, one], -1) if isinstance(xy, Tensor) else np.concatenate([xy, one], -1)


def _stack_last(parts: list[Array]) -> Array:
    return torch.stack(parts, -1) if isinstance(parts[0], Tensor) else np.stack(parts, -1)


def aios_cam_to_translation(pred_cam: Array) -> Array:
    """(..., 3) AiOS camera (s, tx, ty) -> (..., 3) translation in metres, camera frame."""
    if pred_cam.shape[-1] != 3:
        raise ValueError(f"pred_cam must have shape (..., 3), got {tuple(pred_cam.shape)}")
    scale = pred_cam[..., 0] + AIOS_CAM_SCALE_EPS
    # Same operations as the official code (tx / s, not tx * (1 / s)) for identical rounding.
    return _stack_last([pred_cam[..., 1] / scale, pred_cam[..., 2] / scale, 1.0 / scale])


@dataclass(frozen=True)
class PinholeCamera:
    """A pinhole camera's intrinsics and image size, in pixels (the camera frame above).

    Fields are (..., 2) arrays, numpy or torch alike: one camera, one per frame (F, 2), or any
    shape that broadcasts against the points or pixels given to the methods; the focal length
    may also be one number for both axes.
    """

    focal_px: Array | float  # (..., 2) fx, fy
    principal_point_px: Array  # (..., 2) cx, cy
    image_size_wh: Array  # (..., 2) width, height

    @classmethod
    def from_fov(cls, horizontal_fov_deg: float, image_size_wh) -> PinholeCamera:
        """Square pixels, principal point at the image centre, focal from the horizontal field
        of view: f = (w / 2) / tan(fov / 2)."""
        size = np.asarray(image_size_wh, dtype=np.float64)
        if not 0 < horizontal_fov_deg < 180:
            raise ValueError(f"field of view must be in (0, 180) degrees, got {horizontal_fov_deg}")
        focal = size[..., :1] / 2 / math.tan(math.radians(horizontal_fov_deg) / 2)
        return cls(np.concatenate([focal, focal], -1), size / 2, size)

    @classmethod
    def aios_network(cls, input_size_wh: Array) -> PinholeCamera:
        """AiOS's virtual camera at its (resized, unpadded) input: 5000 px, centred."""
        return cls(AIOS_FOCAL_LENGTH_PX, aios_principal_point(input_size_wh), input_size_wh)

    def project(self, points_cam: Array) -> Array:
        """(..., 3) camera-frame points -> (..., 2) pixels."""
        return project_points(points_cam, self.focal_px, self.principal_point_px)

    def rays(self, pixels: Array) -> Array:
        """(..., 2) pixels -> (..., 3) camera-frame directions with z = 1 (unnormalised)."""
        return pixel_rays(pixels, self.focal_px, self.principal_point_px)

    def scaled(self, factor: float) -> PinholeCamera:
        """The same camera for the image resized by ``factor`` (focal, centre and size scale)."""
        return PinholeCamera(self.focal_px * factor, self.principal_point_px * factor,
                             self.image_size_wh * factor)


def aios_principal_point(image_size_wh: Array) -> Array:
    """(..., 2) network input size (w, h) in pixels -> (..., 2) principal point (w/2, h/2)."""
    return image_size_wh / 2


def aios_project_points(points_body: Tensor, pred_cam: Tensor, image_size_wh: Tensor) -> Tensor:
    """Project body-model points through AiOS' camera: (..., P, 3) -> (..., P, 2) pixels.

    ``points_body``: joints or vertices as the body model returns them (no translation);
    ``pred_cam``: (..., 3) per person; ``image_size_wh``: (..., 2) network input (w, h).
    Pixels are in the network input image; scale by original / input size for the original.
    """
    translation_m = aios_cam_to_translation(pred_cam)  # (..., 3)
    points_cam = points_body + translation_m.unsqueeze(-2)  # (..., P, 3)
    principal_px = aios_principal_point(image_size_wh.to(points_cam.dtype)).unsqueeze(-2)
    return project_points(points_cam, AIOS_FOCAL_LENGTH_PX, principal_px)
