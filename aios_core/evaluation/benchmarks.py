"""What each ``aios eval`` benchmark reads, where it lives under ``--data-root``, how it scores.

``--data-root`` is laid out like the official repository's ``data/`` folder (its README and
``datasets/*.py``): HumanData annotation files under ``preprocessed_npz/`` and images under
``datasets/<Name>/``; every ``image_path`` in an annotation file is relative to that image
folder. The annotation file names are the official ones; the file may also sit directly in
``--data-root`` or be given explicitly (``--annotations``).

=============  ==================================================  ==========================
benchmark      annotation file (official name)                     images (``image_path`` root)
=============  ==================================================  ==========================
agora          agora_validation_multi_3840_1010.npz                datasets/agora
agora-test     none (no public GT): leaderboard submission zip      datasets/agora/3840x2160/test
bedlam         none (no public GT): leaderboard submission zip      datasets/bedlam/test_images
ehf            ehf_val_230908_100.npz                              datasets/EHF
ubody          ubody_intra_test_all.npz                            datasets/UBody
arctic         p1_val_multi.npz                                    datasets/ARCTIC
egobody        egobody_egocentric_val_multi_080824.npz             datasets/EgoBody
=============  ==================================================  ==========================

Scoring: ``agora`` uses the AGORA toolkit's metric set (``agora_*`` modules); the mesh
benchmarks use AiOS's own evaluation (``mesh_*`` modules, ``PROTOCOLS``); ``agora-test`` and
``bedlam`` write per-person prediction pickles in the AGORA format, zipped for upload
(``agora_submission``). Default detection thresholds follow the official scripts: AGORA
validation 0.1 (``INFERENCE_AGORA`` default), AGORA test 0.7 and BEDLAM 0.7
(``scripts/test_agora.sh``, ``scripts/test_bedlam.sh``). The mesh benchmarks score the single
highest-scoring detection of each image, as AiOS's evaluation does (``num_select = 1``), so
no threshold applies there unless one is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aios_core.data import HumanDataError, HumanDataFile
from aios_core.errors import AiosError

BenchmarkKind = Literal["agora", "mesh", "submission"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class BenchmarkDataError(AiosError, ValueError):
    """A benchmark's files are missing or malformed; the message names the file."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """Everything about one benchmark that does not depend on the user's machine."""

    name: str
    title: str  # for tables
    kind: BenchmarkKind
    image_dir: str  # relative to --data-root
    annotation_name: str | None = None  # official HumanData file name (None: no GT)
    protocol: str | None = None  # key of mesh_summary.PROTOCOLS
    keypoints2d_key: str | None = None  # GT 2D keypoints used for matching (None: default)
    default_threshold: float | None = None  # None: top-1 detection per image
    recursive_images: bool = False  # submission: search image_dir recursively
    submission_naming: str = "agora"  # 'agora' (<stem>) or 'bedlam' (<seq>_frameID_<stem>)

    def annotation_candidates(self, data_root: Path) -> list[Path]:
        """Places searched for the annotation file, in order."""
        if self.annotation_name is None:
            return []
        name = self.annotation_name
        return [data_root / "preprocessed_npz" / "multihuman_data" / name,
                data_root / "preprocessed_npz" / name,
                data_root / name]


BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.name: spec
    for spec in (
        BenchmarkSpec("agora", "AGORA-val (SMPL-X)", "agora", "datasets/agora",
                      annotation_name="agora_validation_multi_3840_1010.npz",
                      keypoints2d_key="keypoints2d_smplx", default_threshold=0.1),
        BenchmarkSpec("agora-test", "AGORA-test (SMPL-X)", "submission",
                      "datasets/agora/3840x2160/test", default_threshold=0.7),
        BenchmarkSpec("bedlam", "BEDLAM-test", "submission", "datasets/bedlam/test_images",
                      default_threshold=0.7, recursive_images=True,
                      submission_naming="bedlam"),
        BenchmarkSpec("ehf", "EHF", "mesh", "datasets/EHF",
                      annotation_name="ehf_val_230908_100.npz", protocol="ehf"),
        BenchmarkSpec("ubody", "UBody (intra-scene test)", "mesh", "datasets/UBody",
                      annotation_name="ubody_intra_test_all.npz", protocol="ubody",
                      keypoints2d_key="keypoints2d_ubody"),
        BenchmarkSpec("arctic", "ARCTIC (P1 val)", "mesh", "datasets/ARCTIC",
                      annotation_name="p1_val_multi.npz", protocol="arctic"),
        BenchmarkSpec("egobody", "EgoBody (egocentric val)", "mesh", "datasets/EgoBody",
                      annotation_name="egobody_egocentric_val_multi_080824.npz",
                      protocol="egobody"),
    )
}


@dataclass
class BenchmarkData:
    """A benchmark located on disk: the image list (and the annotations when there is GT)."""

    spec: BenchmarkSpec
    data_root: Path
    image_dir: Path
    image_names: list[str]  # relative to image_dir, in evaluation order
    annotations: HumanDataFile | None = None

    @property
    def num_images(self) -> int:
        return len(self.image_names)

    def image_path(self, index: int) -> Path:
        return self.image_dir / self.image_names[index]


def get_spec(name: str) -> BenchmarkSpec:
    if name not in BENCHMARKS:
        raise BenchmarkDataError(
            f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def locate_benchmark(
    name: str,
    data_root: str | os.PathLike,
    annotations: str | os.PathLike | None = None,
    check_images: bool = True,
) -> BenchmarkData:
    """Find (and check) a benchmark's annotation file and images under ``data_root``.

    Raises BenchmarkDataError naming the missing or malformed file.
    """
    spec = get_spec(name)
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise BenchmarkDataError(f"--data-root {root} is not a folder")
    image_dir = root / spec.image_dir
    if spec.kind == "submission":
        if annotations is not None:
            raise BenchmarkDataError(f"{name} has no ground truth; --annotations does not apply")
        return BenchmarkData(spec, root, image_dir, _list_images(image_dir, spec.recursive_images))

    annotation_path = _find_annotations(spec, root, annotations)
    try:
        data = HumanDataFile.open(annotation_path)
        if data.num_instances == 0:
            raise HumanDataError(f"{annotation_path}: holds no annotated person")
        data.smplx  # noqa: B018 - fail now, not after inference, on a malformed smplx dict
        key = spec.keypoints2d_key or data.default_keypoints2d_key()
        data.keypoints(key)
    except HumanDataError as error:
        raise BenchmarkDataError(str(error)) from error
    names = [group.image_path for group in data.image_groups]
    if check_images:
        _check_images_exist(image_dir, names)
    return BenchmarkData(spec, root, image_dir, names, data)


def _find_annotations(spec: BenchmarkSpec, root: Path,
                      explicit: str | os.PathLike | None) -> Path:
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BenchmarkDataError(f"--annotations {path}: file not found")
        return path
    candidates = spec.annotation_candidates(root)
    for path in candidates:
        if path.is_file():
            return path
    raise BenchmarkDataError(
        f"{spec.name}: annotation file {spec.annotation_name} not found (looked in "
        f"{', '.join(str(p.parent) for p in candidates)}); pass --annotations FILE")


def _list_images(image_dir: Path, recursive: bool) -> list[str]:
    if not image_dir.is_dir():
        raise BenchmarkDataError(f"image folder {image_dir} not found")
    pattern = "**/*" if recursive else "*"
    names = sorted(
        str(p.relative_to(image_dir)) for p in image_dir.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not names:
        raise BenchmarkDataError(f"image folder {image_dir} holds no images")
    return names


def _check_images_exist(image_dir: Path, names: list[str]) -> None:
    missing = [n for n in dict.fromkeys(names) if not (image_dir / n).is_file()]
    if missing:
        raise BenchmarkDataError(
            f"{len(missing)} of {len(set(names))} images listed in the annotations are missing "
            f"under {image_dir}, e.g. {image_dir / missing[0]}")
