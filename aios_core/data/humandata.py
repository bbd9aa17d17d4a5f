"""Reader for HumanData ``.npz`` annotation files (the format AiOS's processed data ships in).

HumanData (mmhuman3d / detrsmpl ``HumanData``) stores one data set split in one ``.npz``. All
per-person arrays share their first axis: N *instances* (one row per annotated person).
Keys this reader understands (what the official ``datasets/humandata.py``, ``AGORA_MM.py``,
``UBody_MM.py``, ``EHF.py``, ``ARCTIC.py``, ``EgoBody_Egocentric.py``, ``BEDLAM.py`` read):

=============================  ===============================================================
key                            content
=============================  ===============================================================
``image_path``                 (N,) str, image path relative to the data set's image folder.
                               Required.
``frame_range``                (F, 2) int, optional: image f owns instances
                               ``[start_f, end_f)``. Absent -> see *Grouping* below.
``bbox_xywh``                  (N, 5) float: x, y, width, height (pixels), confidence. Old
                               files have (N, 4); the confidence is then 1. Required.
``lhand_bbox_xywh``,           (N, 5) float each, same layout, optional (absent -> zeros, i.e.
``rhand_bbox_xywh``,           confidence 0). AiOS treats confidence > 0 as "part visible".
``face_bbox_xywh``
``keypoints2d_<set>``          (N, K, 3) float: u, v (pixels), confidence. ``<set>`` is e.g.
                               ``smplx`` (K = 144, the detrsmpl 'smplx' order, see
                               ``aios_core.body.keypoints``), ``ubody``, ``ori``, ``original``.
``keypoints3d_<set>``          (N, K, 4) float: x, y, z (metres, camera frame), confidence.
``<kps key>_mask``             (K,) 0/1, which of the K keypoints the set annotates.
``__keypoints_compressed__``   bool scalar: if true every keypoint array with a mask stores
                               only the masked-in columns (N, mask.sum(), C); this reader
                               re-inserts zero columns (as HumanData.decompress_keypoints).
``smplx``                      0-d object array holding a dict of (N, ...) float arrays:
                               ``global_orient`` (N, 3), ``body_pose`` (N, 63) or (N, 21, 3),
                               ``left_hand_pose`` / ``right_hand_pose`` (N, 45) or (N, 15, 3),
                               ``jaw_pose`` (N, 3), ``leye_pose`` / ``reye_pose`` (N, 3),
                               ``betas`` (N, B>=10; BEDLAM has 11/16), ``expression``
                               (N, E>=10), ``transl`` (N, 3) metres, optional
                               ``betas_neutral``. Axis-angle, radians; hand poses are offsets
                               from the SMPL-X mean hand pose (``flat_hand_mean=False``).
                               AiOS renames these internally to root_pose / body_pose /
                               lhand_pose / rhand_pose / jaw_pose / shape / expr / trans.
``smpl`` / ``smplh``           same idea for SMPL / SMPL+H files (``body_pose`` 23 joints).
``meta``                       0-d object array holding a dict of per-instance lists, all
                               optional: ``gender`` ('neutral'/'male'/'female'), ``height``,
                               ``width`` (image size, pixels), ``focal_length``,
                               ``principal_point``, ``smplx_valid``, AGORA's ``is_kid`` and
                               ``occ`` (occlusion %), UBody's ``iscrowd``, ``valid_label``,
                               ``lefthand_valid``, ``righthand_valid``, ``face_valid``.
``__key_strict__``,            HumanData bookkeeping scalars (``__data_len__`` = N or -1).
``__data_len__``
``config``, ``misc``           free-form; passed through in :attr:`HumanDataFile.raw_keys`.
=============================  ===============================================================

Grouping of instances per image: ``frame_range`` when present (validated to be ordered,
non-empty and inside [0, N)); otherwise runs of consecutive equal ``image_path`` form one image.
(Without ``frame_range`` the official loader makes every instance its own sample, which splits
multi-person images; grouping runs is the correct reading of the same file.)

The file is opened lazily: the npz member for a key is read the first time it is asked for.
Every malformed or missing key raises :class:`HumanDataError` with a one-line message naming the
file and the key.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from aios_core.data.errors import HumanDataError
from aios_core.data.smplx_params import SmplxParams, parse_body_model_dict

__all__ = ["BOX_KEYS", "GENDERS", "KEYPOINTS2D_KEYS", "KEYPOINTS3D_KEYS", "HumanDataError",
           "HumanDataFile", "ImageGroup", "SmplxParams"]

BOX_KEYS: dict[str, str] = {
    "body": "bbox_xywh",
    "lhand": "lhand_bbox_xywh",
    "rhand": "rhand_bbox_xywh",
    "face": "face_bbox_xywh",
}
# Search order of the official loader (datasets/humandata.py KPS2D_KEYS / KPS3D_KEYS).
KEYPOINTS2D_KEYS: tuple[str, ...] = (
    "keypoints2d_ori", "keypoints2d_smplx", "keypoints2d_smpl", "keypoints2d_original",
    "keypoints2d_gta", "keypoints2d",
)
KEYPOINTS3D_KEYS: tuple[str, ...] = (
    "keypoints3d_cam", "keypoints3d", "keypoints3d_smplx", "keypoints3d_smpl",
    "keypoints3d_original", "keypoints3d_gta",
)
GENDERS: tuple[str, ...] = ("neutral", "male", "female")

@dataclass(frozen=True)
class ImageGroup:
    """The instances annotated on one image."""

    index: int  # position of the image in the file's image order
    image_path: str  # relative to the data set's image folder, as stored
    instances: np.ndarray  # (M,) int64 instance rows, M >= 1


class HumanDataFile:
    """One HumanData ``.npz``; open with :meth:`open`. Arrays are read on first use."""

    def __init__(self, path: Path, npz: np.lib.npyio.NpzFile):
        """Use :meth:`open`."""
        self.path = path
        self._npz = npz
        self.raw_keys: tuple[str, ...] = tuple(npz.files)
        self._cache: dict[str, Any] = {}

    # ----------------------------------------------------------------- opening / raw access
    @classmethod
    def open(cls, path: str | os.PathLike) -> HumanDataFile:
        """Open and validate the file's required keys (image_path, bbox_xywh, grouping)."""
        path = Path(path)
        if not path.is_file():
            raise HumanDataError(f"{path}: HumanData file not found")
        # An npz is a zip archive; checking first avoids np.load unpickling arbitrary bytes.
        if not zipfile.is_zipfile(path):
            raise HumanDataError(f"{path}: not a readable .npz file (not a zip archive)")
        try:
            npz = np.load(path, allow_pickle=True)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise HumanDataError(f"{path}: not a readable .npz file ({error})") from error
        data = cls(path, npz)
        data.num_instances  # noqa: B018 - validates image_path / bbox_xywh / __data_len__
        data.image_groups  # noqa: B018 - validates frame_range
        return data

    def close(self) -> None:
        self._npz.close()

    def __enter__(self) -> HumanDataFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HumanDataFile({str(self.path)!r}, instances={self.num_instances})"

    def has(self, key: str) -> bool:
        return key in self.raw_keys

    def raw(self, key: str) -> Any:
        """The stored value of ``key``; 0-d object arrays (dicts, strings) are unwrapped."""
        if key in self._cache:
            return self._cache[key]
        if key not in self.raw_keys:
            raise self.error(key, "missing")
        try:
            value = self._npz[key]
        except (OSError, ValueError, zipfile.BadZipFile, EOFError,
                pickle.UnpicklingError) as error:
            raise self.error(key, f"cannot be read ({error})") from error
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        self._cache[key] = value
        return value

    def error(self, key: str, problem: str) -> HumanDataError:
        """A HumanDataError naming this file and ``key``."""
        return HumanDataError(f"{self.path}: key '{key}' {problem}")

    # ------------------------------------------------------------------------ instances
    @cached_property
    def image_paths(self) -> list[str]:
        """(N,) image path of every instance, as stored (relative to the image folder)."""
        value = self.raw("image_path")
        paths = np.asarray(value)
        if paths.ndim != 1:
            raise self.error("image_path", f"must be a 1-D list of paths, got shape {paths.shape}")
        return [str(p) for p in paths.tolist()]

    @cached_property
    def num_instances(self) -> int:
        count = len(self.image_paths)
        boxes = self._array("bbox_xywh")
        if boxes.ndim != 2 or boxes.shape[1] not in (4, 5) or boxes.shape[0] != count:
            raise self.error("bbox_xywh", f"must have shape ({count}, 5), got {boxes.shape}")
        if self.has("__data_len__"):
            stored = int(self.raw("__data_len__"))
            if stored not in (-1, count):
                raise self.error("__data_len__", f"is {stored} but image_path has {count} rows")
        return count

    @property
    def key_strict(self) -> bool:
        return bool(self.raw("__key_strict__")) if self.has("__key_strict__") else False

    @property
    def keypoints_compressed(self) -> bool:
        if not self.has("__keypoints_compressed__"):
            return False
        return bool(self.raw("__keypoints_compressed__"))

    # ------------------------------------------------------------------------ grouping
    @cached_property
    def image_groups(self) -> list[ImageGroup]:
        """Instances grouped per image, in file order (see the module docstring)."""
        count = self.num_instances
        if self.has("frame_range"):
            ranges = self._array("frame_range")
            if ranges.ndim != 2 or ranges.shape[1] != 2:
                raise self.error("frame_range", f"must have shape (F, 2), got {ranges.shape}")
            ranges = ranges.astype(np.int64)
            bad = (ranges[:, 0] < 0) | (ranges[:, 1] > count) | (ranges[:, 0] >= ranges[:, 1])
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise self.error(
                    "frame_range", f"row {row} = {ranges[row].tolist()} is not a non-empty "
                    f"range inside [0, {count})")
        else:
            starts = [i for i in range(count)
                      if i == 0 or self.image_paths[i] != self.image_paths[i - 1]]
            ranges = np.array([starts, starts[1:] + [count]], dtype=np.int64).T.reshape(-1, 2)
        return [
            ImageGroup(index=f, image_path=self.image_paths[start],
                       instances=np.arange(start, end, dtype=np.int64))
            for f, (start, end) in enumerate(ranges.tolist())
        ]

    @property
    def num_images(self) -> int:
        return len(self.image_groups)

    def instances_of_image(self, image_index: int) -> np.ndarray:
        """(M,) instance rows annotated on image ``image_index`` (file image order)."""
        return self.image_groups[image_index].instances

    def iter_images(self) -> Iterator[ImageGroup]:
        return iter(self.image_groups)

    # ------------------------------------------------------------------------ boxes
    def box_xywh(self, part: str = "body") -> np.ndarray:
        """(N, 4) float32 box of ``part`` ('body', 'lhand', 'rhand', 'face'), pixels."""
        return self._boxes(part)[:, :4]

    def box_xyxy(self, part: str = "body") -> np.ndarray:
        """(N, 4) float32 box corners x1, y1, x2 = x + w, y2 = y + h, pixels."""
        xywh = self.box_xywh(part)
        return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)

    def box_confidence(self, part: str = "body") -> np.ndarray:
        """(N,) float32 box confidence; 0 means "not annotated / not visible"."""
        return self._boxes(part)[:, 4]

    def _boxes(self, part: str) -> np.ndarray:
        if part not in BOX_KEYS:
            raise ValueError(f"unknown box part {part!r}; expected one of {sorted(BOX_KEYS)}")
        key = BOX_KEYS[part]
        cache_key = f"boxes:{key}"
        if cache_key in self._cache:
            return self._cache[cache_key]
        count = self.num_instances
        if not self.has(key):
            boxes = np.zeros((count, 5), dtype=np.float32)
        else:
            boxes = self._array(key).astype(np.float32)
            if boxes.ndim != 2 or boxes.shape[0] != count or boxes.shape[1] not in (4, 5):
                raise self.error(key, f"must have shape ({count}, 5), got {boxes.shape}")
            if boxes.shape[1] == 4:  # HumanData.load appends confidence 1 to 4-column boxes
                boxes = np.concatenate([boxes, np.ones((count, 1), np.float32)], axis=1)
        self._cache[cache_key] = boxes
        return boxes

    # ------------------------------------------------------------------------ keypoints
    def keypoints_keys(self, dims: int) -> list[str]:
        """Stored keypoint keys of dimension ``dims`` (2 or 3), excluding masks."""
        prefix = f"keypoints{dims}d"
        return [k for k in self.raw_keys
                if k.startswith(prefix) and not k.endswith("_mask") and "convention" not in k]

    def keypoints(self, key: str) -> np.ndarray:
        """(N, K, C) float32 keypoints of ``key``, decompressed if the file is compressed."""
        cache_key = f"kps:{key}"
        if cache_key in self._cache:
            return self._cache[cache_key]
        count = self.num_instances
        values = self._array(key).astype(np.float32)
        if values.ndim != 3 or values.shape[0] != count:
            raise self.error(key, f"must have shape ({count}, K, C), got {values.shape}")
        mask_key = f"{key}_mask"
        if self.keypoints_compressed and self.has(mask_key):
            mask = self.keypoints_mask(key)
            if int(mask.sum()) != values.shape[1]:
                raise self.error(key, f"has {values.shape[1]} compressed columns but "
                                 f"{mask_key} marks {int(mask.sum())}")
            full = np.zeros((count, mask.shape[0], values.shape[2]), np.float32)
            full[:, mask] = values
            values = full
        self._cache[cache_key] = values
        return values

    def keypoints_mask(self, key: str) -> np.ndarray:
        """(K,) bool: which keypoints of ``key`` the data set annotates (all if no mask)."""
        mask_key = f"{key}_mask"
        if not self.has(mask_key):
            return np.ones(self.keypoints(key).shape[1], dtype=bool)
        mask = np.asarray(self.raw(mask_key))
        if mask.ndim != 1:
            raise self.error(mask_key, f"must be 1-D, got shape {mask.shape}")
        return mask.astype(bool)

    def default_keypoints2d_key(self) -> str:
        """The 2D keypoint key the official loader would pick (first of KEYPOINTS2D_KEYS)."""
        return self._first_key(KEYPOINTS2D_KEYS, "keypoints2d_*")

    def default_keypoints3d_key(self) -> str:
        return self._first_key(KEYPOINTS3D_KEYS, "keypoints3d_*")

    def _first_key(self, order: tuple[str, ...], label: str) -> str:
        for key in order:
            if self.has(key):
                return key
        raise self.error(label, f"missing (looked for {', '.join(order)})")

    # ------------------------------------------------------------------------ body model
    @property
    def body_model_key(self) -> str | None:
        """'smplx', 'smplh' or 'smpl': the parameter dict the file carries (official order)."""
        for key in ("smplx", "smpl", "smplh"):
            if self.has(key):
                return key
        return None

    @cached_property
    def smplx(self) -> SmplxParams:
        """All instances' SMPL-X parameters; see :class:`SmplxParams`.

        SMPL / SMPL+H files are converted as AiOS does: the first 21 body joints are kept and
        the betas (a different body model's shape space) are zeroed.
        """
        source = self.body_model_key
        if source is None:
            raise self.error("smplx", "missing (no smplx, smpl or smplh parameter dict)")
        params = self.raw(source)
        if not isinstance(params, dict):
            raise self.error(source, f"must hold a dict of arrays, got {type(params).__name__}")
        return parse_body_model_dict(params, source, self.num_instances, str(self.path))

    # ------------------------------------------------------------------------ meta
    @cached_property
    def meta(self) -> dict[str, Any]:
        """The ``meta`` dict (empty if the file has none)."""
        if not self.has("meta"):
            return {}
        meta = self.raw("meta")
        if not isinstance(meta, dict):
            raise self.error("meta", f"must hold a dict, got {type(meta).__name__}")
        return meta

    def meta_array(self, name: str) -> np.ndarray | None:
        """``meta[name]`` as an (N, ...) array, None when absent or empty (as AiOS treats it)."""
        if name not in self.meta:
            return None
        value = np.asarray(self.meta[name])
        if value.size == 0:
            return None
        if value.shape[0] != self.num_instances:
            raise self.error(f"meta.{name}", f"has {value.shape[0]} rows, expected "
                             f"{self.num_instances}")
        return value

    @cached_property
    def genders(self) -> np.ndarray:
        """(N,) str: 'neutral', 'male' or 'female' per instance ('neutral' when absent)."""
        value = self.meta_array("gender")
        if value is None:
            return np.full(self.num_instances, "neutral", dtype="<U7")
        genders = np.char.lower(value.astype(str))
        unknown = sorted(set(genders.tolist()) - set(GENDERS))
        if unknown:
            raise self.error("meta.gender", f"has unknown value(s) {unknown}; expected "
                             f"{', '.join(GENDERS)}")
        return genders.astype("<U7")

    @cached_property
    def image_sizes_hw(self) -> np.ndarray | None:
        """(N, 2) int image (height, width) per instance from meta, None when absent."""
        height, width = self.meta_array("height"), self.meta_array("width")
        if height is None or width is None:
            return None
        return np.stack([height.astype(np.int64), width.astype(np.int64)], axis=-1)

    def camera_focal_px(self) -> np.ndarray | None:
        """(N, 2) focal lengths fx, fy in pixels (meta or top-level ``focal_length``)."""
        return self._camera_pair("focal_length")

    def camera_principal_point_px(self) -> np.ndarray | None:
        """(N, 2) principal point cx, cy in pixels (meta or top-level ``principal_point``)."""
        return self._camera_pair("principal_point")

    def _camera_pair(self, name: str) -> np.ndarray | None:
        value = self.meta_array(name)
        if value is None and self.has(name):
            value = self._array(name)
        if value is None:
            return None
        value = np.asarray(value, dtype=np.float32).reshape(self.num_instances, -1)
        if value.shape[1] == 1:  # a single focal length for both axes
            value = np.repeat(value, 2, axis=1)
        if value.shape[1] != 2:
            raise self.error(name, f"must hold 1 or 2 numbers per instance, got {value.shape}")
        return value

    # ------------------------------------------------------------------------ helpers
    def _array(self, key: str) -> np.ndarray:
        value = self.raw(key)
        if not isinstance(value, np.ndarray):
            raise self.error(key, f"must be an array, got {type(value).__name__}")
        if value.dtype == object:
            try:
                value = value.astype(np.float64)
            except (TypeError, ValueError) as error:
                raise self.error(key, "is not numeric") from error
        return value
