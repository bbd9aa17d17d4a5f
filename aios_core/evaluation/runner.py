"""``aios eval``: batched inference over a benchmark, cached per image, then scoring.

Stages:
1. locate the benchmark (annotations, images) and the user's SMPL-X files: everything that
   can be missing is checked before the first image is inferred;
2. inference in batches (images decoded one batch ahead on a worker thread); each finished
   batch is stored in the work folder (``prediction_cache``), so ``resume=True`` skips it;
3. scoring (``agora_scoring`` / ``mesh_scoring``) or, for benchmarks without public GT, the
   leaderboard zip (``agora_submission``);
4. the results JSON (schema in ``report``) and, on request, the per-image errors file.

The predictor is any callable ``images -> list[ImageResult]`` (``NetworkPredictor`` in the
CLI, a stub in tests). Its detections are filtered here by the effective threshold
(:func:`inference_threshold`), so a predictor may return more.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from aios_core.evaluation.agora_metrics import AgoraVertexIds
from aios_core.evaluation.agora_scoring import score_agora
from aios_core.evaluation.agora_submission import write_submission
from aios_core.evaluation.benchmarks import (
    BenchmarkData,
    BenchmarkDataError,
    BenchmarkSpec,
    get_spec,
    locate_benchmark,
)
from aios_core.evaluation.body_assets import (
    EvalBodyModels,
    load_agora_body_ids,
    load_j14_regressor,
    load_mesh_part_ids,
)
from aios_core.evaluation.mesh_errors import MeshPartIds
from aios_core.evaluation.mesh_scoring import score_mesh_benchmark
from aios_core.evaluation.prediction_cache import ImagePredictions, PredictionCache
from aios_core.evaluation.report import PER_IMAGE_SCHEMA, RESULTS_SCHEMA, write_json
from aios_core.inference.results import ImageResult
from aios_core.io.output_paths import check_writable_file, check_writable_folder, refuse_collisions
from aios_core.video.images import load_rgb_image

Predictor = Callable[[Sequence[np.ndarray]], list[ImageResult]]


@dataclass
class EvalOptions:
    """One ``aios eval`` run; paths as given by the user."""

    benchmark: str
    data_root: Path
    out_path: Path  # results JSON
    smplx_dir: Path | None = None
    annotations: Path | None = None  # overrides the official annotation file
    threshold: float | None = None  # None: the benchmark's default
    batch_size: int = 4
    official_quirks: bool = False
    resume: bool = False
    per_image_errors: Path | None = None
    work_dir: Path | None = None  # default: <out_path>.work
    # Identity of the predictions (checkpoint path, size, ...): a resumed run must match it.
    predictor_identity: dict = field(default_factory=dict)
    checkpoint: Path | None = None  # recorded in the JSON only
    device: str | None = None  # recorded in the JSON only

    @property
    def work_folder(self) -> Path:
        return self.work_dir or self.out_path.with_name(self.out_path.name + ".work")

    @property
    def arithmetic(self) -> str:
        return "official-quirks" if self.official_quirks else "correct"

    @property
    def submission_zip(self) -> Path:
        """Where agora-test / bedlam write the leaderboard zip."""
        return self.out_path.with_name(self.out_path.stem + "_predictions.zip")


def check_eval_outputs(options: EvalOptions) -> None:
    """Before any work: no output is an input or another output, and each can be written."""
    submission = get_spec(options.benchmark).kind == "submission"
    outputs = {"--out": options.out_path, "--per-image-errors": options.per_image_errors,
               "the submission zip": options.submission_zip if submission else None}
    refuse_collisions({"--annotations": options.annotations, "--checkpoint": options.checkpoint},
                      outputs)
    for name, path in outputs.items():
        if path is not None:
            check_writable_file(path, name, create_folders=True)
    check_writable_folder(options.work_folder, "the work folder")


def inference_threshold(benchmark: str, threshold: float | None) -> float:
    """The detection threshold the predictor should apply (0: keep all, top-1 taken later)."""
    spec = get_spec(benchmark)
    if threshold is not None:
        return float(threshold)
    return spec.default_threshold if spec.default_threshold is not None else 0.0


@dataclass
class _Scoring:
    """Assets needed to score, loaded before inference so a missing file fails early."""

    bodies: EvalBodyModels
    part_ids: MeshPartIds | None = None
    j14: np.ndarray | None = None
    agora_ids: AgoraVertexIds | None = None


def _load_scoring_assets(data: BenchmarkData, smplx_dir: Path | None) -> _Scoring:
    bodies = EvalBodyModels(smplx_dir)
    bodies.model("neutral")
    spec = data.spec
    if spec.kind == "submission":
        return _Scoring(bodies)
    for gender in sorted(set(data.annotations.genders.tolist())):
        bodies.model(gender)
    part_ids = load_mesh_part_ids(bodies.folder)
    if spec.kind == "agora":
        ids = AgoraVertexIds(body=load_agora_body_ids(bodies.folder, data.data_root),
                             left_hand=part_ids.left_hand, right_hand=part_ids.right_hand,
                             face=part_ids.face)
        return _Scoring(bodies, part_ids, agora_ids=ids)
    j14 = load_j14_regressor(bodies.folder) if spec.protocol == "ehf" else None
    return _Scoring(bodies, part_ids, j14=j14)


def _fingerprint(options: EvalOptions, data: BenchmarkData, threshold: float) -> dict:
    annotation = data.annotations.path if data.annotations is not None else None
    stat = annotation.stat() if annotation is not None else None
    return {
        "benchmark": options.benchmark,
        "annotations": str(annotation.resolve()) if annotation else None,
        "annotations_size": stat.st_size if stat else None,
        "annotations_mtime": int(stat.st_mtime) if stat else None,
        "images_dir": str(data.image_dir.resolve()),
        "num_images": data.num_images,
        "threshold": threshold,
        "predictor": options.predictor_identity,
    }


def _read_image(path: Path) -> np.ndarray:
    image = load_rgb_image(path)
    if image is None:
        raise BenchmarkDataError(f"cannot decode image {path}")
    return image


def _keep(result: ImageResult, threshold: float, top1: bool) -> ImagePredictions:
    preds = ImagePredictions.from_result(result)
    count = int(np.sum(preds.scores >= threshold))
    order = np.argsort(-preds.scores, kind="stable")[: (min(count, 1) if top1 else count)]
    return preds.take(order)


def infer_images(
    data: BenchmarkData,
    predictor: Predictor,
    cache: PredictionCache,
    threshold: float,
    batch_size: int,
    on_images: Callable[[int], None] | None = None,
) -> dict[int, ImagePredictions]:
    """Predictions of every image, from the cache where present; returns image index -> preds."""
    done = cache.load()
    todo = [i for i in range(data.num_images) if i not in done]
    if on_images is not None and len(done):
        on_images(len(done))
    top1 = data.spec.kind == "mesh"
    batches = [todo[s:s + batch_size] for s in range(0, len(todo), batch_size)]

    def load(batch: list[int]) -> list[np.ndarray]:
        return [_read_image(data.image_path(i)) for i in batch]

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(load, batches[0]) if batches else None
        for k, batch in enumerate(batches):
            images = pending.result()
            pending = pool.submit(load, batches[k + 1]) if k + 1 < len(batches) else None
            results = predictor(images)
            if len(results) != len(batch):
                raise RuntimeError(f"predictor returned {len(results)} results for "
                                   f"{len(batch)} images")
            kept = {i: _keep(r, threshold, top1) for i, r in zip(batch, results, strict=True)}
            cache.save_batch(kept)
            done.update(kept)
            if on_images is not None:
                on_images(len(batch))
    return done


@dataclass
class PreparedEvaluation:
    """A benchmark whose inputs are all checked, ready for inference."""

    data: BenchmarkData
    scoring: _Scoring
    threshold: float


def prepare_evaluation(options: EvalOptions) -> PreparedEvaluation:
    """Locate and check every input (annotations, images, SMPL-X files): fast, no network.

    Raises BenchmarkDataError / AssetNotFoundError naming the missing or malformed file, and
    OutputPathError for an output that cannot or must not be written.
    """
    check_eval_outputs(options)
    data = locate_benchmark(options.benchmark, options.data_root, options.annotations)
    scoring = _load_scoring_assets(data, options.smplx_dir)
    return PreparedEvaluation(data, scoring,
                              inference_threshold(options.benchmark, options.threshold))


def run_evaluation(
    options: EvalOptions,
    predictor: Predictor,
    prepared: PreparedEvaluation | None = None,
    on_start: Callable[[int], None] | None = None,
    on_images: Callable[[int], None] | None = None,
) -> dict:
    """Run one benchmark end to end; returns the report written to ``options.out_path``.

    prepared: from :func:`prepare_evaluation` (done here when None). on_start(total images)
    is called once the inputs are checked; on_images(n) after every batch (and once with the
    number of cached images on resume).
    """
    spec: BenchmarkSpec = get_spec(options.benchmark)
    prepared = prepared or prepare_evaluation(options)
    data, scoring, threshold = prepared.data, prepared.scoring, prepared.threshold
    cache = PredictionCache(options.work_folder,
                            _fingerprint(options, data, threshold), options.resume)
    if on_start is not None:
        on_start(data.num_images)
    predictions = infer_images(data, predictor, cache, threshold, options.batch_size, on_images)

    report = _report_header(options, data, spec, scoring, threshold)
    rows: list[dict] = []
    if spec.kind == "submission":
        zip_path = options.submission_zip
        form = "vertices" if spec.submission_naming == "bedlam" else "params"
        count = write_submission(
            options.work_folder, [(data.image_names[i], predictions[i])
                                  for i in range(data.num_images)],
            zip_path, naming=spec.submission_naming, form=form, bodies=scoring.bodies)
        report["submission"] = {"zip": str(zip_path), "num_person_files": count, "form": form}
        report["counts"] = {"images": data.num_images, "person_files": count}
    elif spec.kind == "agora":
        score = score_agora(data, predictions, scoring.bodies, scoring.agora_ids)
        report["results"] = score.results.to_dict()
        report["counts"] = {**score.counts, **score.results.counts}
        rows = score.per_image
        if score.counts["kids_posed_with_adult_model"]:
            report["notes"].append(
                f"{score.counts['kids_posed_with_adult_model']} GT kids were posed with the adult "
                "model (no smplx_kid_template.npy or fewer than 11 betas)")
    else:
        score = score_mesh_benchmark(data, predictions, scoring.bodies, scoring.part_ids,
                                     j14_regressor=scoring.j14,
                                     official_quirks=options.official_quirks)
        report["results"] = score.results.to_dict()
        report["counts"] = score.counts
        rows = score.per_person
    if options.per_image_errors is not None and spec.kind != "submission":
        write_json(options.per_image_errors, {"schema": PER_IMAGE_SCHEMA,
                                              "benchmark": spec.name,
                                              "arithmetic": options.arithmetic, "rows": rows})
        report["per_image_errors"] = str(options.per_image_errors)
    write_json(options.out_path, report)
    return report


def _report_header(options: EvalOptions, data: BenchmarkData, spec: BenchmarkSpec,
                   scoring: _Scoring, threshold: float) -> dict:
    notes = []
    if spec.kind == "mesh":
        notes.append("the highest-scoring detection of each image is scored against the closest "
                     "GT person, as AiOS's evaluation (num_select = 1)")
        if options.official_quirks:
            notes.append("official arithmetic: batch-pooled means over batches of 2 persons")
    elif spec.kind == "agora":
        notes.append("matching cost: spectral norm of the 24-joint difference, as the toolkit's "
                     "code computes it")
    return {
        "schema": RESULTS_SCHEMA,
        "benchmark": spec.name,
        "title": spec.title,
        "arithmetic": options.arithmetic,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": {
            "data_root": str(options.data_root),
            "annotations": str(data.annotations.path) if data.annotations else None,
            "images_dir": str(data.image_dir),
            "num_images": data.num_images,
            "checkpoint": None if options.checkpoint is None else os.fspath(options.checkpoint),
            "smplx_dir": str(scoring.bodies.folder),
            "threshold": None if spec.kind == "mesh" and options.threshold is None
            else threshold,
            "device": options.device,
        },
        "results": None,
        "counts": {},
        "submission": None,
        "per_image_errors": None,
        "notes": notes,
    }
