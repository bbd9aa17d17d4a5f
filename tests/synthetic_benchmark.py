"""A tiny benchmark on disk (images + HumanData npz + SMPL-X side files) and a perfect predictor.

Each image is filled with its own index as pixel value, so a predictor can tell which image it
was handed; :class:`GroundTruthPredictor` answers with the ground truth of that image (the
perfect model), optionally dropping people or adding a false positive.
"""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import smplx
import torch

from aios_core.inference.results import ImageResult
from aios_core.person import PERSON_FIELDS
from tests.synthetic_humandata import frame_range_of, random_smplx_params, write_humandata

IMAGE_HW = (96, 128)
FOCAL_PX = 150.0
NUM_VERTS = 10475


def write_eval_smplx_folder(neutral_dir: Path, folder: Path, seed: int = 0) -> Path:
    """The synthetic neutral model plus male/female copies and random vertex-id side files."""
    folder.mkdir(parents=True, exist_ok=True)
    source = (neutral_dir / "SMPLX_NEUTRAL.npz").resolve()
    for name in ("SMPLX_NEUTRAL.npz", "SMPLX_MALE.npz", "SMPLX_FEMALE.npz"):
        try:  # the model file is large: link rather than copy where possible
            (folder / name).symlink_to(source)
        except OSError:
            shutil.copy(source, folder / name)
    rng = np.random.default_rng(seed)
    ids = rng.permutation(NUM_VERTS)
    with (folder / "MANO_SMPLX_vertex_ids.pkl").open("wb") as handle:
        pickle.dump({"left_hand": ids[:778], "right_hand": ids[778:1556]}, handle)
    np.save(folder / "SMPL-X__FLAME_vertex_ids.npy", ids[1556:1556 + 5023])
    np.save(folder / "body_verts_smplx.npy", np.sort(ids[-4010:]))
    j14 = np.zeros((14, NUM_VERTS))
    for j in range(14):
        j14[j, rng.choice(NUM_VERTS, 4, replace=False)] = 0.25
    with (folder / "SMPLX_to_J14.pkl").open("wb") as handle:
        pickle.dump(j14, handle)
    return folder


def pose_gt(smplx_dir: Path, params: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 144, 3) camera-frame joints of the GT people (with their translation)."""
    model = smplx.SMPLX(str(smplx_dir / "SMPLX_NEUTRAL.npz"), num_betas=10,
                        num_expression_coeffs=10, use_pca=False, flat_hand_mean=False,
                        use_face_contour=True)
    tensors = {k: torch.from_numpy(v) for k, v in params.items()}
    with torch.no_grad():
        return model(**tensors).joints.numpy()


def project(joints: np.ndarray) -> np.ndarray:
    centre = np.array([IMAGE_HW[1] / 2, IMAGE_HW[0] / 2])
    return joints[..., :2] / joints[..., 2:3] * FOCAL_PX + centre


@dataclass
class SyntheticBenchmark:
    data_root: Path
    smplx_dir: Path
    params: dict[str, np.ndarray]  # GT smplx dict (flat, as stored)
    keypoints_px: np.ndarray  # (N, 144, 2)
    frame_range: np.ndarray  # (F, 2)
    image_names: list[str]


def build_benchmark(root: Path, neutral_dir: Path, *, annotation: str, image_dir: str,
                    people_per_image=(1, 2, 1), extra_meta=None, seed: int = 0,
                    genders=None, stem_prefix: str = "",
                    keypoints_key: str = "keypoints2d_smplx") -> SyntheticBenchmark:
    """Write ``root/preprocessed_npz/multihuman_data/<annotation>`` and the images; the GT 2D
    keypoints (144, SMPL-X order, confidence 1) are stored under ``keypoints_key``."""
    rng = np.random.default_rng(seed)
    smplx_dir = write_eval_smplx_folder(neutral_dir, root / "smplx")
    count = int(sum(people_per_image))
    params = random_smplx_params(count, rng)
    # Spread the people of an image side by side, 6 m away.
    params["transl"] = np.array([[0.9 * (k - 0.5), 0.0, 6.0]
                                 for n in people_per_image for k in range(n)], np.float32)
    joints = pose_gt(smplx_dir, params)
    keypoints = project(joints)
    names = [f"scene/{stem_prefix}img_{f:03d}.png"
             for f, n in enumerate(people_per_image) for _ in range(n)]
    lo, hi = keypoints.min(axis=1), keypoints.max(axis=1)
    boxes = np.concatenate([lo, hi - lo, np.ones((count, 1))], axis=1)
    meta = {"gender": list(genders or ["neutral"] * count),
            "height": [IMAGE_HW[0]] * count, "width": [IMAGE_HW[1]] * count}
    meta.update(extra_meta or {})
    frame_range = frame_range_of(names)
    keypoints_with_confidence = np.concatenate([keypoints, np.ones((count, 144, 1))], axis=2)
    stored = {keypoints_key: keypoints_with_confidence.astype(np.float32)}
    write_humandata(
        root / "preprocessed_npz" / "multihuman_data" / annotation,
        image_paths=names, smplx=params, bbox_xywh=boxes,
        keypoints2d_smplx=stored.pop("keypoints2d_smplx", None),
        meta=meta, frame_range=frame_range, extra=stored,
    )
    unique = list(dict.fromkeys(names))
    for index, name in enumerate(unique):
        path = root / image_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((*IMAGE_HW, 3), index, np.uint8))
    return SyntheticBenchmark(root, smplx_dir, params, keypoints, frame_range, unique)


def build_agora_validation(root: Path, neutral_dir: Path, occlusion_pct: list[float],
                           is_kid: list[bool],
                           people_per_image=(2, 1, 2)) -> SyntheticBenchmark:
    """An AGORA validation set (bfh image names) with the given per-person meta."""
    return build_benchmark(root, neutral_dir, annotation="agora_validation_multi_3840_1010.npz",
                           image_dir="datasets/agora", people_per_image=people_per_image,
                           stem_prefix="ag_validationset_bfh_",
                           extra_meta={"occ": occlusion_pct, "is_kid": is_kid})


def blank_result(count: int) -> dict[str, np.ndarray]:
    """Zero boxes and keypoints (ImageResult names) for ``count`` people."""
    return {f.batched_name: np.zeros((count, *f.shape), np.float32) for f in PERSON_FIELDS
            if f.kind in ("box", "keypoints")}


class GroundTruthPredictor:
    """Returns each image's GT people (scores 0.9, 0.8, ...). ``drop``: image index -> GT
    rows (within the image) to leave out; ``false_positive``: image indices that also get a
    detection far from everyone. ``fail_after_calls`` raises KeyboardInterrupt."""

    def __init__(self, bench: SyntheticBenchmark, drop=None, false_positive=(),
                 fail_after_calls: int | None = None):
        self.bench = bench
        self.drop = drop or {}
        self.false_positive = set(false_positive)
        self.fail_after_calls = fail_after_calls
        self.calls = 0
        self.images_seen: list[int] = []

    def __call__(self, images) -> list[ImageResult]:
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        out = []
        for image in images:
            index = int(image[0, 0, 0])
            self.images_seen.append(index)
            out.append(self.result(index))
        return out

    def result(self, index: int) -> ImageResult:
        start, end = self.bench.frame_range[index]
        rows = [r for k, r in enumerate(range(start, end)) if k not in self.drop.get(index, ())]
        p = self.bench.params
        fields = {
            "global_orient": p["global_orient"][rows],
            "body_pose": p["body_pose"][rows].reshape(-1, 21, 3),
            "left_hand_pose": p["left_hand_pose"][rows].reshape(-1, 15, 3),
            "right_hand_pose": p["right_hand_pose"][rows].reshape(-1, 15, 3),
            "jaw_pose": p["jaw_pose"][rows], "betas": p["betas"][rows],
            "expression": p["expression"][rows], "transl_m": p["transl"][rows],
            "smplx_joints_px": self.bench.keypoints_px[rows],
        }
        if index in self.false_positive:  # a person shifted far out of everyone's box
            for name, value in fields.items():
                extra = value[:1] + (200.0 if name == "smplx_joints_px" else 0.0)
                fields[name] = np.concatenate([value, extra])
        count = len(fields["betas"])
        return ImageResult(
            image_size_hw=IMAGE_HW,
            focal_px=np.array([FOCAL_PX, FOCAL_PX], np.float32),
            principal_point_px=np.array([IMAGE_HW[1] / 2, IMAGE_HW[0] / 2], np.float32),
            scores=np.linspace(0.9, 0.5, count).astype(np.float32),
            query_indices=np.arange(count),
            **blank_result(count),
            **{k: np.asarray(v, np.float32) for k, v in fields.items()},
        )
