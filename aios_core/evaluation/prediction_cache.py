"""Per-image predictions of an ``aios eval`` run, cached in a work folder so a run can resume.

Layout of the work folder::

    manifest.json          {"schema": "aios-eval-cache/2", "fingerprint": {...}}
    batch_<first>.npz      the predictions of one inference batch; member names
                           "<image index>/<field>" (fields: IMAGE_FIELDS, then
                           PREDICTION_FIELDS: the person record, query indices, projected
                           joints)

Every file is written to a temporary name and renamed into place, so an interrupted run leaves
only complete batches behind. A resumed run must have the same fingerprint (benchmark,
annotation file, checkpoint, threshold, ...); otherwise it is refused.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from aios_core.data import SmplxParams
from aios_core.errors import AiosError
from aios_core.inference.results import PER_PERSON_ARRAYS, ImageResult
from aios_core.io.atomic import atomic_write_bytes, atomic_write_text
from aios_core.person import SMPLX_FIELDS

CACHE_SCHEMA = "aios-eval-cache/2"
IMAGE_FIELDS = ("image_size_hw", "focal_px", "principal_point_px")
# Per-person arrays kept: the person record, the decoder slot and the projected joints.
PREDICTION_FIELDS = tuple(name for name in PER_PERSON_ARRAYS
                          if name not in ("joints_cam_m", "vertices_cam_m"))


class PredictionCacheError(AiosError, ValueError):
    """The work folder belongs to a different run, or cannot be written."""


class ImagePredictions(ImageResult):
    """An ImageResult as the evaluator keeps it (people by descending score): float32 arrays,
    projected SMPL-X joints required (``smplx_joints_px`` (P, 144, 2), original-image pixels),
    no camera-frame joints or vertices."""

    @classmethod
    def from_result(cls, result: ImageResult, max_people: int | None = None) -> ImagePredictions:
        if result.smplx_joints_px is None:
            raise ValueError("the predictor returned no projected SMPL-X joints; "
                             "evaluation needs a network with its body model")
        kept = result.take(slice(None) if max_people is None else slice(0, max_people))
        arrays = {name: np.asarray(getattr(kept, name)) for name in PREDICTION_FIELDS}
        return cls.from_arrays({"image_size_hw": np.asarray(result.image_size_hw),
                                "focal_px": result.focal_px,
                                "principal_point_px": result.principal_point_px, **arrays})

    def params(self, rows: np.ndarray | slice | None = None) -> SmplxParams:
        """The people's SMPL-X parameters (rows, default all) for posing a body model."""
        rows = slice(None) if rows is None else rows
        arrays = {name: getattr(self, name)[rows] for name in SMPLX_FIELDS}
        zeros = np.zeros((len(arrays["betas"]), 3), np.float32)
        return SmplxParams(**arrays, leye_pose=zeros, reye_pose=zeros.copy(), source="prediction",
                           has_betas=True, has_hand_pose=True, has_expression=True)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        values = {name: getattr(self, name) for name in (*IMAGE_FIELDS, *PREDICTION_FIELDS)}
        values["image_size_hw"] = np.asarray(self.image_size_hw, np.int64)
        return {f"{prefix}/{name}": value for name, value in values.items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ImagePredictions:
        height, width = (int(v) for v in arrays["image_size_hw"])
        return cls(
            image_size_hw=(height, width),
            focal_px=np.asarray(arrays["focal_px"], np.float32),
            principal_point_px=np.asarray(arrays["principal_point_px"], np.float32),
            query_indices=np.asarray(arrays["query_indices"], np.int64),
            **{name: np.asarray(arrays[name], np.float32) for name in PREDICTION_FIELDS
               if name != "query_indices"},
        )


class PredictionCache:
    """The work folder of one evaluation run."""

    def __init__(self, folder: str | os.PathLike, fingerprint: dict, resume: bool):
        """Open ``folder``; with ``resume`` keep its batches (same fingerprint required),
        otherwise start empty (earlier batch files are removed)."""
        self.folder = Path(folder)
        self.fingerprint = json.loads(json.dumps(fingerprint))  # normalised (tuples -> lists)
        manifest = self.folder / "manifest.json"
        if resume and manifest.is_file():
            try:
                stored = json.loads(manifest.read_text())
            except (OSError, ValueError) as error:
                raise PredictionCacheError(f"{manifest}: unreadable ({error})") from error
            previous = stored.get("fingerprint", {})
            if previous != self.fingerprint:
                changed = sorted(k for k in set(self.fingerprint) | set(previous)
                                 if previous.get(k) != self.fingerprint.get(k))
                raise PredictionCacheError(
                    f"{self.folder} holds a run with other settings ({', '.join(changed)}); "
                    "rerun without --resume to start over")
        else:
            for old in self.folder.glob("batch_*.npz"):
                old.unlink()
        try:
            text = json.dumps({"schema": CACHE_SCHEMA, "fingerprint": self.fingerprint}, indent=1)
            atomic_write_text(manifest, text)
        except OSError as error:
            raise PredictionCacheError(f"cannot write the work folder {self.folder}: {error}") \
                from error

    def save_batch(self, predictions: dict[int, ImagePredictions]) -> None:
        """Store one batch (image index -> predictions) atomically."""
        if not predictions:
            return
        arrays: dict[str, np.ndarray] = {}
        for index, image in predictions.items():
            arrays.update(image.to_arrays(str(index)))
        path = self.folder / f"batch_{min(predictions):08d}.npz"
        atomic_write_bytes(path, lambda stream: np.savez(stream, **arrays))

    def load(self) -> dict[int, ImagePredictions]:
        """Every cached image's predictions; unreadable batch files are dropped (redone)."""
        found: dict[int, ImagePredictions] = {}
        for path in sorted(self.folder.glob("batch_*.npz")):
            try:
                with np.load(path, allow_pickle=False) as batch:
                    grouped: dict[int, dict[str, np.ndarray]] = {}
                    for member in batch.files:
                        index, name = member.split("/", 1)
                        grouped.setdefault(int(index), {})[name] = batch[member]
                found.update({i: ImagePredictions.from_arrays(a) for i, a in grouped.items()})
            except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile, EOFError):
                path.unlink(missing_ok=True)
        return found


def cached_image_count(folder: str | os.PathLike) -> int:
    """How many images' predictions a work folder holds (counted without loading them)."""
    count = 0
    for path in Path(folder).glob("batch_*.npz"):
        try:
            with zipfile.ZipFile(path) as archive:
                count += len({name.split("/", 1)[0] for name in archive.namelist()})
        except (OSError, zipfile.BadZipFile):
            continue
    return count
