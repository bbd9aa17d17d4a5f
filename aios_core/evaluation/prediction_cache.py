"""Per-image predictions of an ``aios eval`` run, cached in a work folder so a run can resume.

Layout of the work folder::

    manifest.json          {"schema": "aios-eval-cache/1", "fingerprint": {...}}
    batch_<first>.npz      the predictions of one inference batch; member names
                           "<image index>/<field>" (fields: PREDICTION_FIELDS + image size,
                           focal length, principal point)

Every file is written to a temporary name and renamed into place, so an interrupted run leaves
only complete batches behind. A resumed run must have the same fingerprint (benchmark,
annotation file, checkpoint, threshold, ...); otherwise it is refused.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aios_core.data import SmplxParams
from aios_core.io.atomic import atomic_write_bytes
from aios_core.model.results import ImageResult

CACHE_SCHEMA = "aios-eval-cache/1"
PREDICTION_FIELDS = (
    "scores", "global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
    "betas", "expression", "transl_m", "smplx_joints_px",
)


class PredictionCacheError(ValueError):
    """The work folder belongs to a different run, or cannot be written."""


@dataclass
class ImagePredictions:
    """What the evaluator keeps of one image's predictions (people by descending score)."""

    image_size_hw: np.ndarray  # (2,) int
    focal_px: np.ndarray  # (2,)
    principal_point_px: np.ndarray  # (2,)
    scores: np.ndarray  # (P,)
    global_orient: np.ndarray  # (P, 3)
    body_pose: np.ndarray  # (P, 21, 3)
    left_hand_pose: np.ndarray  # (P, 15, 3)
    right_hand_pose: np.ndarray  # (P, 15, 3)
    jaw_pose: np.ndarray  # (P, 3)
    betas: np.ndarray  # (P, 10)
    expression: np.ndarray  # (P, 10)
    transl_m: np.ndarray  # (P, 3)
    smplx_joints_px: np.ndarray  # (P, 144, 2) original-image pixels

    @classmethod
    def from_result(cls, result: ImageResult, max_people: int | None = None) -> ImagePredictions:
        if result.smplx_joints_px is None:
            raise ValueError("the predictor returned no projected SMPL-X joints; "
                             "evaluation needs a network with its body model")
        keep = slice(None) if max_people is None else slice(0, max_people)
        fields = {name: np.asarray(getattr(result, name))[keep].astype(np.float32)
                  for name in PREDICTION_FIELDS}
        return cls(image_size_hw=np.asarray(result.image_size_hw, np.int64),
                   focal_px=np.asarray(result.focal_px, np.float32),
                   principal_point_px=np.asarray(result.principal_point_px, np.float32),
                   **fields)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def params(self, rows: np.ndarray | slice | None = None) -> SmplxParams:
        """The people's SMPL-X parameters (rows, default all) for posing a body model."""
        rows = slice(None) if rows is None else rows
        count = len(self.scores[rows])
        zeros = np.zeros((count, 3), np.float32)
        return SmplxParams(
            global_orient=self.global_orient[rows], body_pose=self.body_pose[rows],
            left_hand_pose=self.left_hand_pose[rows], right_hand_pose=self.right_hand_pose[rows],
            jaw_pose=self.jaw_pose[rows], leye_pose=zeros, reye_pose=zeros.copy(),
            betas=self.betas[rows], expression=self.expression[rows],
            transl_m=self.transl_m[rows], source="prediction", has_betas=True,
            has_hand_pose=True, has_expression=True,
        )

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        names = ("image_size_hw", "focal_px", "principal_point_px", *PREDICTION_FIELDS)
        return {f"{prefix}/{name}": getattr(self, name) for name in names}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ImagePredictions:
        return cls(**arrays)


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
            atomic_write_bytes(manifest, lambda s: s.write(text.encode()))
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
            except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError):
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
