"""Per-frame network results gathered into results-file rows, checkpointed for --resume."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aios_core.inference.results import ImageResult
from aios_core.person import PERSON_FIELDS
from aios_core.results.results_file import (
    PER_DETECTION_SHAPES,
    PER_FRAME_SHAPES,
    ResultsFileError,
    RunResults,
    load_results,
    save_results,
)

UNTRACKED = -1


@dataclass
class DetectionLog:
    """Everything detected so far; ``frames_done`` counts processed frames (with or without
    people) from the first requested frame."""

    source: str
    fps: float
    image_size_wh: tuple[int, int]
    frames_done: int = 0
    focal_px: np.ndarray | None = None
    principal_point_px: np.ndarray | None = None
    settings: dict | None = None  # the run's inference settings (aios_core.pipeline.run_record)
    _rows: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {key: [] for key in PER_DETECTION_SHAPES}
    )
    # One entry per processed frame: each image keeps its own size and camera (image folders
    # may mix sizes).
    _frames: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {key: [] for key in PER_FRAME_SHAPES}
    )

    def add_frame(
        self, frame_index: int, timestamp_s: float, result: ImageResult, num_people: int | None
    ) -> None:
        """Append one frame's people (best first, at most ``num_people``)."""
        keep = len(result) if num_people is None else min(num_people, len(result))
        if self.focal_px is None:
            self.focal_px = np.asarray(result.focal_px, dtype=np.float32)
            self.principal_point_px = np.asarray(result.principal_point_px, dtype=np.float32)
        for person_field in PERSON_FIELDS:
            rows = np.asarray(getattr(result, person_field.batched_name))[:keep]
            self._rows[person_field.name].append(rows)
        self._rows["frame_index"].append(np.full(keep, frame_index, dtype=np.int64))
        self._rows["timestamp_s"].append(np.full(keep, timestamp_s, dtype=np.float64))
        self._rows["track_id"].append(np.full(keep, UNTRACKED, dtype=np.int64))
        height, width = result.image_size_hw
        self._frames["frame_index_per_frame"].append(np.array([frame_index]))
        self._frames["image_size_wh_per_frame"].append(np.array([[width, height]]))
        self._frames["focal_px_per_frame"].append(np.asarray(result.focal_px).reshape(1, 2))
        self._frames["principal_point_px_per_frame"].append(
            np.asarray(result.principal_point_px).reshape(1, 2)
        )
        self.frames_done += 1

    def to_results(self) -> RunResults:
        detections = {
            key: (
                np.concatenate(chunks)
                if chunks
                else np.zeros((0, *PER_DETECTION_SHAPES[key]), dtype=np.float32)
            )
            for key, chunks in self._rows.items()
        }
        width, height = self.image_size_wh
        per_frame = {
            key: np.concatenate(chunks) if chunks else np.zeros((0, *tail), dtype)
            for (key, chunks), (tail, dtype) in zip(
                self._frames.items(), PER_FRAME_SHAPES.values(), strict=True
            )
        }
        return RunResults(
            source=self.source,
            fps=self.fps,
            num_frames=self.frames_done,
            image_size_wh=self.image_size_wh,
            focal_px=self.focal_px if self.focal_px is not None else np.zeros(2, np.float32),
            principal_point_px=(
                self.principal_point_px
                if self.principal_point_px is not None
                else np.array([width / 2, height / 2], np.float32)
            ),
            detections=detections,
            **per_frame,
            settings=self.settings,
        )

    def save_partial(self, path: Path) -> None:
        save_results(self.to_results(), path)

    @classmethod
    def from_partial(cls, path: Path, source: str) -> DetectionLog:
        """Continue from a checkpoint written by ``save_partial`` for the same input."""
        saved = load_results(path)
        if saved.source != source:
            raise ResultsFileError(
                f"{path} holds a partial run of '{saved.source}', not '{source}': "
                "remove it or drop --resume"
            )
        log = cls(saved.source, saved.fps, saved.image_size_wh, saved.num_frames,
                  settings=saved.settings)
        log.focal_px = saved.focal_px if saved.num_detections else None
        log.principal_point_px = saved.principal_point_px if saved.num_detections else None
        for key in PER_DETECTION_SHAPES:
            log._rows[key] = [saved.detections[key]]
        for key in PER_FRAME_SHAPES:
            log._frames[key] = [getattr(saved, key)]
        return log
