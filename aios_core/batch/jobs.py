"""One clip of a batch and the settings every clip shares: plain, picklable values that travel
to worker processes and Ray actors unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from aios_core.pipeline.run import RunOptions
from aios_core.world.stage import WorldOptions

# Options a manifest line may set for its own input (name in the manifest -> RunOptions field).
PER_INPUT_OPTIONS = {
    "start": "start_frame",
    "end": "end_frame",
    "max_frames": "max_frames",
    "num_people": "num_people",
    "smooth_strength": "smooth_strength",
}


@dataclass(frozen=True)
class BatchSettings:
    """What `aios batch` was asked for, the same for every clip (per-input options aside)."""

    checkpoint: str | None = None
    smplx_dir: str | None = None
    device: str = "auto"
    precision: str = "fp32"
    threshold: float | None = None
    batch_size: int = 8
    num_people: int | None = None
    start_frame: int = 0
    end_frame: int | None = None
    max_frames: int | None = None
    smooth_strength: float = 0.5
    render: bool = False
    side_view: bool = False
    exports: tuple[str, ...] = ()
    fov_deg: float | None = None  # the camera, as `aios run --fov / --focal-px / --camera`
    focal_px: float | None = None
    camera: str = "auto"
    render_floor: bool = False
    foot_lock: bool = True
    threads_per_worker: int | None = None  # torch CPU threads; None: torch's default
    checkpoint_every_frames: int = 64

    def world_options(self) -> WorldOptions:
        return WorldOptions(fov_deg=self.fov_deg, focal_px=self.focal_px, camera=self.camera)


@dataclass(frozen=True)
class ClipJob:
    """One input and where its outputs go: ``DIR/<out_stem>.aios.npz`` and friends."""

    input_path: str
    out_stem: str  # relative to DIR, '/'-separated, no suffix
    overrides: dict[str, float | int] = field(default_factory=dict)  # PER_INPUT_OPTIONS values

    @property
    def key(self) -> str:
        """The clip's name in the manifest."""
        return self.input_path


def results_path(out_dir: Path, job: ClipJob) -> Path:
    return Path(out_dir) / f"{job.out_stem}.aios.npz"


def render_path(out_dir: Path, job: ClipJob) -> Path:
    return Path(out_dir) / f"{job.out_stem}.overlay.mp4"


def export_path(out_dir: Path, job: ClipJob, file_format: str) -> Path:
    """``DIR/<stem>.<format>``; obj/ply write a folder of per-frame meshes, ``DIR/<stem>_obj``."""
    if file_format in ("obj", "ply"):
        return Path(out_dir) / f"{job.out_stem}_{file_format}"
    return Path(out_dir) / f"{job.out_stem}.{file_format}"


def run_options(settings: BatchSettings, job: ClipJob, out_dir: Path) -> RunOptions:
    """The `aios run` options of one clip; always resuming, so a retried clip redoes nothing."""
    options = RunOptions(
        input_path=Path(job.input_path),
        results_path=results_path(out_dir, job),
        render_path=render_path(out_dir, job) if settings.render else None,
        batch_size=settings.batch_size,
        num_people=settings.num_people,
        start_frame=settings.start_frame,
        end_frame=settings.end_frame,
        max_frames=settings.max_frames,
        smooth_strength=settings.smooth_strength,
        side_view=settings.side_view,
        resume=True,
        checkpoint_every_frames=settings.checkpoint_every_frames,
        world=settings.world_options(),
        foot_lock=settings.foot_lock,
        render_floor=settings.render_floor,
        threshold=settings.threshold,
        precision=settings.precision,
        checkpoint=None if settings.checkpoint is None else Path(settings.checkpoint),
    )
    fields = {PER_INPUT_OPTIONS[name]: value for name, value in job.overrides.items()}
    return replace(options, **fields)
