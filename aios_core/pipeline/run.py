"""The `aios run` pipeline: decode -> batched inference (checkpointed) -> tracking and
smoothing -> results file -> optional overlay video.

Inference is the only expensive, resumable part: its raw detections are checkpointed every
``checkpoint_every_frames`` frames or ``checkpoint_every_s`` seconds and on any interruption,
and ``resume`` continues after the last checkpointed frame. Tracking and smoothing then run
over the whole run at once (cheap and deterministic, so a resumed run gives exactly the
results of an uninterrupted one), and the overlay is rendered in a second decode of the input
from the final, smoothed parameters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from aios_core.body.meshes import MeshMaker
from aios_core.choices import DEFAULT_SMOOTH_STRENGTH
from aios_core.inference.results import ImageResult
from aios_core.io.atomic import atomic_write_text
from aios_core.io.output_paths import OutputPathError, check_writable_file, refuse_collisions
from aios_core.pipeline.detections import DetectionLog
from aios_core.pipeline.grounding import GroundingOptions, ground_people
from aios_core.pipeline.render_pass import render_overlay
from aios_core.pipeline.run_record import (
    check_same_settings,
    finished_summary,
    finishing_settings,
    inference_settings,
    recorded_inference_settings,
)
from aios_core.pipeline.tracking_pass import track_and_smooth
from aios_core.pipeline.world_pass import smooth_in_world
from aios_core.results.results_file import ResultsFileError, RunResults, load_results, save_results
from aios_core.tracking import TrackerConfig
from aios_core.video import MediaInfo, MediaReader, PrefetchingDecoder, VideoInputError
from aios_core.video.writer import check_video_output_path
from aios_core.world.stage import WorldOptions

Predictor = Callable[[Sequence[np.ndarray]], list[ImageResult]]


RunOutputError = OutputPathError  # the name earlier callers import


@dataclass
class RunOptions:
    input_path: Path
    results_path: Path | None = None  # default: <input stem>.aios.npz next to the input
    render_path: Path | None = None
    batch_size: int = 8
    num_people: int | None = None  # keep at most this many people per frame (best first)
    start_frame: int = 0
    end_frame: int | None = None  # exclusive
    max_frames: int | None = None
    smooth_strength: float = DEFAULT_SMOOTH_STRENGTH  # 0 disables smoothing
    side_view: bool = False
    resume: bool = False
    checkpoint_every_frames: int = 64
    # ... or this often, whichever comes first: `docker stop` and Slurm follow SIGTERM with
    # SIGKILL after a grace period, and an out-of-memory kill sends no warning at all; this
    # bounds what such a kill loses on a slow CPU run.
    checkpoint_every_s: float = 60.0
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    world: WorldOptions | None = None  # the world stage (needs the body model); None: skip it
    foot_lock: bool = True  # after the world stage: plant feet in contact (False: labels only)
    render_floor: bool = False  # draw the fitted floor grid in the overlay
    # What built the predictor, recorded so that --resume refuses to mix two runs:
    threshold: float | None = None  # minimum detection score (None: the network's default)
    precision: str = "fp32"
    checkpoint: Path | None = None  # the checkpoint file (None: not recorded)
    overwrite: bool = False  # replace files this run did not write (summary, progress file)

    def resolved_results_path(self) -> Path:
        if self.results_path is not None:
            return Path(self.results_path)
        return Path(self.input_path).with_name(f"{Path(self.input_path).stem}.aios.npz")


@dataclass
class RunSummary:
    results_path: Path
    summary_path: Path
    render_path: Path | None
    frames: int
    detections: int
    tracks: int
    resumed_from_frame: int
    decode_error: str | None
    seconds: dict[str, float]
    world_note: str | None = None  # the world stage's camera choice and focal length
    warnings: list[str] = field(default_factory=list)
    already_finished: bool = False  # --resume found this run finished: nothing was redone


def partial_path(results_path: Path) -> Path:
    return results_path.with_name(f"{results_path.stem}.partial.npz")


def summary_path(results_path: Path) -> Path:
    return results_path.with_suffix(".json")


def _reader(options: RunOptions, skip: int) -> MediaReader:
    max_frames = None if options.max_frames is None else max(options.max_frames - skip, 0)
    return MediaReader(
        options.input_path,
        start_frame=options.start_frame + skip,
        end_frame=options.end_frame,
        max_frames=max_frames,
    )


def _infer(
    options: RunOptions,
    predictor: Predictor,
    log: DetectionLog,
    checkpoint: Path,
    on_frames: Callable[[int], None] | None,
) -> str | None:
    """Run the predictor over the frames not in ``log`` yet; returns the decode error, if any."""
    if options.max_frames is not None and log.frames_done >= options.max_frames:
        return None
    reader = _reader(options, skip=log.frames_done)
    last_saved = log.frames_done
    last_saved_at = time.monotonic()
    try:
        with PrefetchingDecoder(reader, options.batch_size) as batches:
            for batch in batches:
                results = predictor(batch.images)
                for index, timestamp_s, result in zip(
                    batch.indices, batch.timestamps_s, results, strict=True
                ):
                    log.add_frame(index, timestamp_s, result, options.num_people)
                if on_frames:
                    on_frames(len(batch))
                if (log.frames_done - last_saved >= options.checkpoint_every_frames
                        or time.monotonic() - last_saved_at >= options.checkpoint_every_s):
                    log.save_partial(checkpoint)
                    last_saved, last_saved_at = log.frames_done, time.monotonic()
    except BaseException:
        if log.frames_done > last_saved:
            log.save_partial(checkpoint)  # keep the finished frames for --resume
        raise
    return reader.decode_error


def check_run_inputs(options: RunOptions) -> MediaInfo:
    """Fail fast, before any model is loaded: unreadable input, an output that would overwrite
    the input or another output, unwritable outputs, an unsupported video container."""
    if options.world is not None:
        options.world.check()
    info = _reader(options, skip=0).info
    if info.frame_count is not None and options.start_frame >= info.frame_count:
        raise VideoInputError(f"--start {options.start_frame} is past the end of "
                              f"{options.input_path} ({info.frame_count} frames)")
    results_path = options.resolved_results_path()
    outputs = {
        "--out": results_path,
        "the progress file": partial_path(results_path),
        "the run summary": summary_path(results_path),
        "--render": options.render_path,
    }
    refuse_collisions({"the input": Path(options.input_path)}, outputs)
    _refuse_foreign_files(options, results_path)
    check_writable_file(results_path, "results", create_folders=True)
    if options.render_path is not None:
        check_video_output_path(Path(options.render_path))
        check_writable_file(Path(options.render_path), "video")
    if options.render_floor and options.render_path is None:
        raise RunOutputError("--floor draws the floor grid in the overlay: add --render OUT")
    return info


def check_resume(options: RunOptions, restart: str = "drop --resume to start over") -> None:
    """With --resume, refuse to continue (or to call finished) a run made with other settings,
    naming each difference; ``restart`` says how to start over instead."""
    if not options.resume:
        return
    results_path = options.resolved_results_path()
    checkpoint = partial_path(results_path)
    if checkpoint.is_file():
        check_same_settings(recorded_inference_settings(checkpoint), inference_settings(options),
                            f"the interrupted run in {checkpoint}", restart)
    else:
        finished_summary(options, summary_path(results_path), restart)  # refuses other ones


def _refuse_foreign_files(options: RunOptions, results_path: Path) -> None:
    """Files the run writes without the user naming them (the summary, the progress file, the
    default results file) may only replace what an earlier run wrote, unless --overwrite."""
    if options.overwrite:
        return
    own = [(summary_path(results_path), "the run summary", _is_run_summary),
           (partial_path(results_path), "the progress file", _is_results_file)]
    if options.results_path is None:
        own.append((results_path, "the default results file", _is_results_file))
    for path, what, is_ours in own:
        if path.exists() and not is_ours(path):
            raise RunOutputError(
                f"{what} {path} would replace a file that `aios run` did not write; move it, "
                "choose another --out, or add --overwrite")


def _is_run_summary(path: Path) -> bool:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and {"results_path", "options"} <= document.keys()


def _is_results_file(path: Path) -> bool:
    try:
        load_results(path)
    except ResultsFileError:
        return False
    return True


def finished_run(options: RunOptions) -> RunSummary | None:
    """With --resume: the summary of this very run when it already finished (same settings,
    outputs in place), so that nothing is redone; else None."""
    if not options.resume:
        return None
    results_path = options.resolved_results_path()
    if partial_path(results_path).is_file():
        return None
    document = finished_summary(options, summary_path(results_path))
    if document is None:
        return None
    values = {f.name: document[f.name] for f in fields(RunSummary) if f.name in document}
    return replace(RunSummary(**values), results_path=Path(document["results_path"]),
                   summary_path=summary_path(results_path),
                   render_path=Path(document["render_path"]) if document["render_path"] else None,
                   already_finished=True)


def expected_frame_count(options: RunOptions) -> int | None:
    """How many frames the run will infer, resumed ones included (an estimate for video, from
    its header); None when the input does not say."""
    return _reader(options, skip=0).expected_frames


def run_pipeline(
    options: RunOptions,
    predictor: Predictor,
    meshes: MeshMaker | None = None,
    on_frames: Callable[[int], None] | None = None,
    on_render_frame: Callable[[], None] | None = None,
) -> RunSummary:
    """Process ``options.input_path``; see the module docstring for the stages.

    ``on_frames(n)`` is called once with the frames a resumed run starts with (0 on a fresh
    run), then after every inferred batch with its size.
    """
    info = check_run_inputs(options)
    check_resume(options)
    if options.render_path is not None and meshes is None:
        raise ValueError("rendering needs a body model (meshes)")
    finished = finished_run(options)
    if finished is not None:
        return finished
    results_path = options.resolved_results_path()
    checkpoint = partial_path(results_path)
    source = Path(options.input_path).name

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if options.resume and checkpoint.is_file():
        log = DetectionLog.from_partial(checkpoint, source)
    else:
        log = DetectionLog(source, info.fps_float, (info.width, info.height),
                           settings=inference_settings(options))
    resumed_from = log.frames_done
    if on_frames:
        on_frames(resumed_from)
    decode_error = _infer(options, predictor, log, checkpoint, on_frames)
    if log.frames_done == 0:
        raise VideoInputError(f"{options.input_path}: no frame could be decoded in the range asked")
    seconds["inference"] = time.perf_counter() - started
    try:
        summary = _finish(options, log, results_path, meshes, on_render_frame, seconds,
                          resumed_from, decode_error)
    except BaseException:
        # Interrupted while tracking or rendering: keep every inferred frame, so that
        # --resume only redoes the cheap stages.
        log.save_partial(checkpoint)
        raise
    checkpoint.unlink(missing_ok=True)
    return summary


def interrupted_run_advice(options: RunOptions) -> str:
    """What an interrupted run leaves behind, for the user: read from the disk, so it is true
    whatever the moment of the interruption."""
    checkpoint = partial_path(options.resolved_results_path())
    try:
        frames = load_results(checkpoint).num_frames if checkpoint.is_file() else 0
    except ResultsFileError:
        frames = 0
    if frames == 0:
        return "no frame was finished yet, so nothing was saved"
    return (f"{frames} finished frame{'s' if frames != 1 else ''} saved in {checkpoint}; "
            "rerun the same command with --resume to continue")


def _finish(
    options: RunOptions,
    log: DetectionLog,
    results_path: Path,
    meshes: MeshMaker | None,
    on_render_frame: Callable[[], None] | None,
    seconds: dict[str, float],
    resumed_from: int,
    decode_error: str | None,
) -> RunSummary:
    """Tracking, smoothing, the results file, the overlay and the run summary."""
    started = time.perf_counter()
    with_world = options.world is not None and meshes is not None
    network: RunResults = track_and_smooth(log.to_results(), options.start_frame,
                                           options.tracker, 0.0)
    # with a world: smoothed there
    results = network if with_world else smooth_in_world(network, meshes,
                                                         options.smooth_strength)
    seconds["tracking"] = time.perf_counter() - started
    warnings, world_note = [], None
    if with_world:
        started = time.perf_counter()
        grounding = GroundingOptions(options.world, options.smooth_strength, options.foot_lock)
        results, report = ground_people(results, meshes, grounding, Path(options.input_path))
        world_note = f"camera {report.camera_note}; focal: {report.focal.describe()}"
        warnings += report.warnings
        seconds["world"] = time.perf_counter() - started
    if options.render_floor and results.world is None:
        warnings.append("no fitted floor to draw: the overlay has no floor grid")
    save_results(results.with_network_block(network), results_path)

    if options.render_path is not None:
        started = time.perf_counter()
        render_overlay(
            _reader(options, skip=0), results, meshes, Path(options.render_path),
            options.side_view, on_render_frame, floor=options.render_floor,
        )
        seconds["render"] = time.perf_counter() - started

    summary = RunSummary(
        results_path=results_path,
        summary_path=summary_path(results_path),
        render_path=Path(options.render_path) if options.render_path else None,
        frames=results.num_frames,
        detections=results.num_detections,
        tracks=len(results.track_ids()),
        resumed_from_frame=resumed_from,
        decode_error=decode_error,
        seconds=seconds,
        world_note=world_note,
        warnings=warnings,
    )
    summary_document = {**asdict(summary), "fps": results.fps, "options": asdict(options),
                        "settings": {**inference_settings(options),
                                     **finishing_settings(options)}}
    atomic_write_text(summary.summary_path, json.dumps(summary_document, indent=2, default=str))
    return summary
