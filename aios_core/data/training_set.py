"""The training data of ``aios train``: which HumanData files, mixed with which probabilities.

``--data-root`` has the official ``data/`` layout (see ``aios_core.evaluation.benchmarks``):
annotation files under ``preprocessed_npz/multihuman_data/`` (or ``preprocessed_npz/``, or the
root itself) with their official names, images under the folder in ``TRAINING_SOURCES``.

Mixing (official ``trainset_partition`` of ``config/aios_smplx_{pretrain,train}.py``): an image
is drawn by first drawing a data set with its probability, then an image of it uniformly; as
per-sample weights, image i of data set d weighs p_d / len(d).
"""

from __future__ import annotations

import os
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from aios_core.data.augment import DEFAULT_AUGMENT, AugmentConfig, augment
from aios_core.data.errors import HumanDataError
from aios_core.data.humandata import HumanDataFile
from aios_core.data.image_targets import ImageTargets
from aios_core.data.sample_targets import sample_targets
from aios_core.data.training_sample import HumanDataSampleReader


@dataclass(frozen=True)
class TrainingSource:
    """One data set: its annotation file, image folder, and how the official treats it."""

    name: str
    annotation_name: str  # official file name, or a path for a user's own data set
    image_dir: str  # relative to --data-root (or absolute)
    gate_joints_by_smplx: bool = False  # keypoint weights x SMPL-X fit coverage (COCO, UBody)
    force_2d: bool = False  # pseudo 3-D labels only: no 3-D joint losses (COCO)

    def annotation_candidates(self, data_root: Path) -> list[Path]:
        name = Path(self.annotation_name)
        if name.is_absolute():
            return [name]
        return [data_root / "preprocessed_npz" / "multihuman_data" / name,
                data_root / "preprocessed_npz" / name, data_root / name]


TRAINING_SOURCES: dict[str, TrainingSource] = {
    s.name: s for s in (
        TrainingSource("agora", "agora_train_3840_w_occ_multi_2010.npz", "datasets/agora"),
        TrainingSource("bedlam", "bedlam_train_multi_0915.npz", "datasets/bedlam/train_images"),
        TrainingSource("coco", "coco_wholebody_new_train_multi.npz", "datasets/coco_2017",
                       gate_joints_by_smplx=True, force_2d=True),
        TrainingSource("ubody", "ubody_train_intra_multi.npz", "datasets/UBody",
                       gate_joints_by_smplx=True),
        TrainingSource("egobody", "egobody_egocentric_train_multi_080824.npz",
                       "datasets/EgoBody"),
        TrainingSource("arctic", "p1_train_multi.npz", "datasets/ARCTIC"),
    )
}
# Official trainset_partition, as probabilities (the config stores cumulative bounds).
PRETRAIN_MIX: dict[str, float] = {"agora": 0.4, "bedlam": 0.3, "coco": 0.3}
FINETUNE_MIX: dict[str, float] = {"agora": 0.2, "bedlam": 0.2, "coco": 0.2, "ubody": 0.2,
                                  "egobody": 0.1, "arctic": 0.1}
STAGE_MIX = {"pretrain": PRETRAIN_MIX, "finetune": FINETUNE_MIX}


def find_annotation(source: TrainingSource, data_root: Path) -> Path:
    candidates = source.annotation_candidates(data_root)
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise HumanDataError(f"{source.name}: annotation file {source.annotation_name} not found "
                         f"(looked in {looked}); it comes with the AiOS authors' processed data")


class MixedTrainingSet(Dataset):
    """Images of several HumanData files as one data set of (image, ImageTargets).

    Items are fetched with a key ``(index, seed)`` (``aios_core.training.sampling.SampleKey``):
    ``seed`` drives that item's augmentation, so a resumed run redraws the same samples.
    """

    def __init__(self, sources: list[tuple[TrainingSource, Path, Path]],
                 augment_config: AugmentConfig | None = DEFAULT_AUGMENT):
        """sources: (source, annotation file, image folder) triples."""
        if not sources:
            raise HumanDataError("no training data sets given")
        self.sources = sources
        self.augment_config = augment_config
        self._lengths: list[int] = []
        for _, annotation, _ in sources:
            with HumanDataFile.open(annotation) as file:
                if file.num_images == 0:
                    raise HumanDataError(f"{annotation}: holds no images")
                self._lengths.append(file.num_images)
        self._starts = np.cumsum([0, *self._lengths]).tolist()
        self._readers: dict[int, HumanDataSampleReader] = {}
        self._reader_pid = -1

    def __len__(self) -> int:
        return self._starts[-1]

    @property
    def lengths(self) -> list[int]:
        return list(self._lengths)

    def _reader(self, source_index: int) -> HumanDataSampleReader:
        # Opened per process: a DataLoader worker must not share the parent's open zip file.
        if self._reader_pid != os.getpid():
            self._readers, self._reader_pid = {}, os.getpid()
        if source_index not in self._readers:
            source, annotation, image_dir = self.sources[source_index]
            self._readers[source_index] = HumanDataSampleReader(
                HumanDataFile.open(annotation), image_dir,
                gate_joints_by_smplx=source.gate_joints_by_smplx, force_2d=source.force_2d)
        return self._readers[source_index]

    def __getitem__(self, key: tuple[int, int]) -> tuple[Tensor, ImageTargets]:
        index, seed = int(key[0]), int(key[1])
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range [0, {len(self)})")
        source_index = bisect_right(self._starts, index) - 1
        sample = self._reader(source_index).read(index - self._starts[source_index])
        if self.augment_config is not None:
            sample = augment(sample, np.random.default_rng(seed), self.augment_config)
        return sample_targets(sample)


@dataclass
class TrainingData:
    dataset: MixedTrainingSet
    sample_weights: Tensor  # (len(dataset),) draw probability of each image
    mix: dict[str, float]  # data set name -> probability

    def summary(self) -> str:
        rows = [f"{'data set':<12}{'images':>10}{'p':>7}"]
        for (source, _, _), length in zip(self.dataset.sources, self.dataset.lengths, strict=True):
            rows.append(f"{source.name:<12}{length:>10}{self.mix[source.name]:>7.2f}")
        return "\n".join(rows)


def mixing_weights(lengths: list[int], probabilities: list[float]) -> Tensor:
    """Per-image weights: data set d drawn with probability p_d, then an image uniformly."""
    total = sum(probabilities)
    if total <= 0 or any(p < 0 for p in probabilities):
        raise HumanDataError("mixing probabilities must be >= 0 with a positive sum: "
                             f"{probabilities}")
    parts = [torch.full((n,), p / total / n, dtype=torch.float64)
             for n, p in zip(lengths, probabilities, strict=True)]
    return torch.cat(parts)


def build_training_set(
    stage: str,
    data_root: Path,
    datasets: list[str] | None = None,
    extra: list[tuple[Path, Path, float]] | None = None,
    augment_config: AugmentConfig | None = DEFAULT_AUGMENT,
) -> TrainingData:
    """The stage's data sets (or ``datasets``, a subset by name) plus ``extra`` user data sets
    given as (annotation .npz, image folder, probability)."""
    if stage not in STAGE_MIX:
        raise HumanDataError(f"unknown stage {stage!r}; expected one of {sorted(STAGE_MIX)}")
    mix = dict(STAGE_MIX[stage])
    if datasets is not None:
        unknown = sorted(set(datasets) - set(TRAINING_SOURCES))
        if unknown:
            raise HumanDataError(f"--datasets: unknown data set(s) {unknown}; "
                                 f"known: {sorted(TRAINING_SOURCES)}")
        mix = {name: mix.get(name, 0.1) for name in datasets}
    data_root = Path(data_root)
    if mix and not data_root.is_dir():
        raise HumanDataError(f"{data_root}: data root is not a folder")
    triples = []
    for name in mix:
        source = TRAINING_SOURCES[name]
        triples.append((source, find_annotation(source, data_root), data_root / source.image_dir))
    for annotation, image_dir, probability in extra or []:
        source = TrainingSource(Path(annotation).stem, str(annotation), str(image_dir))
        if not Path(image_dir).is_dir():
            raise HumanDataError(f"{image_dir}: image folder of {annotation} not found")
        mix[source.name] = float(probability)
        triples.append((source, Path(annotation), Path(image_dir)))
    dataset = MixedTrainingSet(triples, augment_config)
    weights = mixing_weights(dataset.lengths, [mix[s.name] for s, _, _ in triples])
    return TrainingData(dataset=dataset, sample_weights=weights, mix=mix)
