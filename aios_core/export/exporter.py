"""`aios export`: results file in, files of the chosen format out."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from aios_core.body.smplx_model import SmplxModel
from aios_core.choices import EXPORT_FORMATS, MESH_FORMATS
from aios_core.export.bvh import write_bvh
from aios_core.export.fbx import write_fbx
from aios_core.export.gltf import write_glb
from aios_core.export.json_motion import write_motion_json
from aios_core.export.mesh_sequence import write_mesh_sequence
from aios_core.export.motion import (
    NO_WORLD_HINT,
    WORLD_FRAMES,
    CoordinateFrame,
    ExportError,
    build_motion,
)
from aios_core.export.npz_motion import write_motion_npz
from aios_core.export.rest_shape import RestShape
from aios_core.export.skeleton_names import joint_names
from aios_core.io.output_paths import check_writable_file, check_writable_folder, refuse_collisions
from aios_core.results.results_file import RunResults, load_results

FORMATS = EXPORT_FORMATS
# Formats written as one file (per person); obj/ply write a folder of meshes instead.
FILE_FORMATS = tuple(f for f in FORMATS if f not in MESH_FORMATS)
# Options that only some formats use (a value given for another format is refused, not ignored).
_OPTION_FORMATS = {"--units": ("bvh",), "--combined": ("glb", "fbx"),
                   "--skeleton": ("bvh", "glb", "fbx")}


def resolve_format(file_format: str | None, out_path: Path) -> str:
    """The format to write: ``file_format``, or the one ``out_path``'s suffix names when it is
    None. A suffix that names another format is refused (a GLB called x.bvh helps nobody)."""
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    named = suffix[1:] if suffix[1:] in FORMATS else None
    if file_format is None:
        if named is None or named in MESH_FORMATS:
            raise ExportError(
                f"--out {out_path}: no format given and the suffix {suffix or '(none)'} names "
                f"none; add --format ({', '.join(FORMATS)})"
            )
        return named
    if file_format not in FORMATS:
        raise ExportError(f"unknown format {file_format!r}; choose one of {FORMATS}")
    if file_format in MESH_FORMATS:
        if named is not None:
            raise ExportError(
                f"--format {file_format} writes a folder (track_<ID>/frame_<N>.{file_format}); "
                f"--out {out_path} looks like a file (.{named}): give a folder"
            )
    elif suffix and named != file_format:
        raise ExportError(
            f"--out {out_path} ends in {suffix} but --format is {file_format}: use "
            f"--out {out_path.with_suffix('.' + file_format)}"
            + (f" or --format {named}" if named in FILE_FORMATS else "")
        )
    return file_format


def check_export_outputs(results_path: Path, options: ExportOptions) -> None:
    """Before any work: every option given applies to the format, the output is not the
    results file, and its place can be written."""
    given = {"--units": options.bvh_units != "m", "--combined": options.combined,
             "--skeleton": options.skeleton != "smplx"}
    for option, formats in _OPTION_FORMATS.items():
        if given[option] and options.file_format not in formats:
            raise ExportError(f"{option} applies to {'/'.join(formats)} only, not to "
                              f"--format {options.file_format}")
    out = Path(options.out_path)
    refuse_collisions({"the results file": Path(results_path)}, {"--out": out})
    if options.file_format in MESH_FORMATS:
        check_writable_folder(out, "--out")
    else:
        check_writable_file(out, "--out", create_folders=True)


@dataclass(frozen=True)
class ExportOptions:
    """What to write. ``track_ids`` empty: every track; ``fps`` None: the input's frames."""

    file_format: str
    out_path: Path
    track_ids: tuple[int, ...] = field(default_factory=tuple)
    fps: float | None = None
    coordinate_frame: CoordinateFrame = "y_up"  # when not exporting the world frame
    # True: the world frame (results without one are refused); None: the world frame when the
    # results have one (npz turned z up, as AMASS), else ``coordinate_frame``; False: never.
    world: bool | None = None
    combined: bool = False  # glb/fbx: every track in one file
    bvh_units: str = "m"
    skeleton: str = "smplx"  # bvh/glb/fbx joint names: see aios_core.export.skeleton_names


def export_results(results: RunResults, body: SmplxModel, options: ExportOptions) -> list[Path]:
    """Write ``results`` as ``options`` say; returns the files written."""
    if options.file_format not in FORMATS:
        raise ExportError(f"unknown format {options.file_format!r}; choose one of {FORMATS}")
    joint_names(options.skeleton)  # an unknown name fails before any work
    shape = RestShape(body)
    motion = build_motion(results, shape, list(options.track_ids) or None, options.fps,
                          export_frame(options, results))
    out = Path(options.out_path)
    match options.file_format:
        case "npz":
            return write_motion_npz(motion, out)
        case "json":
            return write_motion_json(motion, out)
        case "bvh":
            return write_bvh(motion, shape, out, options.bvh_units, options.skeleton)
        case "glb":
            return write_glb(motion, shape, out, options.combined, options.skeleton)
        case "fbx":
            return write_fbx(motion, shape, out, options.combined, options.skeleton)
        case _:
            return write_mesh_sequence(motion, body, shape, out, options.file_format)


def export_frame(options: ExportOptions, results: RunResults) -> CoordinateFrame:
    """The coordinate frame the export is written in (see ``ExportOptions.world``)."""
    if options.coordinate_frame in WORLD_FRAMES:
        return options.coordinate_frame
    if options.coordinate_frame == "camera":
        if options.world:
            raise ExportError("--world and --camera-frame contradict each other: choose one")
        return "camera"
    if options.world is False or (options.world is None and results.world is None):
        return options.coordinate_frame
    if results.world is None:
        raise ExportError(f"the results have no world frame: {NO_WORLD_HINT}")
    return "world_z_up" if options.file_format == "npz" else "world"


def export_file(results_path: str | os.PathLike, options: ExportOptions,
                smplx_dir: str | os.PathLike | None = None) -> list[Path]:
    """Load a results file and the SMPL-X model, then export.

    Raises ResultsFileError (bad results file), AssetNotFoundError (no SMPL-X model),
    ExportError (the export cannot be done as asked)."""
    results_path = Path(results_path)
    check_export_outputs(results_path, options)
    results = load_results(results_path)
    if options.world and results.world is None:
        raise ExportError(f"{results_path} has no world frame: run `aios ground "
                          f"{results_path}` first (or export without --world)")
    return export_results(results, SmplxModel(smplx_dir), options)
