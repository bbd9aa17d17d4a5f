"""`aios export`: a results file of `aios run` to npz/json/bvh/glb/fbx/obj/ply files."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_core.choices import EXPORT_FORMATS

_LISTED_FILES = 10
# Resampling beyond any capture or playback rate only multiplies the file size (100000 fps
# wrote 80001 frames for a short clip); below 1 fps nothing moves.
MIN_FPS, MAX_FPS = 1.0, 240.0


@click.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--format", "file_format", type=click.Choice(EXPORT_FORMATS),
              help="npz: SMPL-X motion per person (AMASS layout); json: every person per frame; "
                   "bvh: skeleton animation; glb: skinned animated mesh; fbx: via Blender; "
                   "obj/ply: one mesh per frame and person. Default: from the --out suffix.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="Output file (a folder for obj/ply). With several people, per-person "
                   "formats write <stem>_track<ID><ext>.")
@click.option("--track", "track_ids", multiple=True, type=click.IntRange(min=0),
              help="Export only this track id (repeatable). Default: every track.")
@click.option("--fps", type=click.FloatRange(MIN_FPS, MAX_FPS),
              help=f"Resample to N frames per second, {MIN_FPS:g} to {MAX_FPS:g} "
                   "(default: the input's frames).")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="Folder holding SMPLX_NEUTRAL.npz (default: $AIOS_HOME/body_models/smplx).")
@click.option("--camera-frame", is_flag=True,
              help="Keep the camera's coordinates (x right, y down, z forward) instead of y-up.")
@click.option("--combined", is_flag=True, help="glb/fbx: every person in one file.")
@click.option("--units", "bvh_units", default="m", show_default=True,
              type=click.Choice(["m", "cm"]), help="bvh length unit (cm for Maya/MotionBuilder).")
@click.option("--skeleton", default="smplx", show_default=True,
              help="bvh/glb/fbx joint names: smplx, mixamo (Mixamo rigs, Blender retargeting "
                   "add-ons, Unity Humanoid) or unreal (UE mannequin).")
@click.option("--world/--no-world", default=None,
              help="Write the world frame (floor at 0, the camera moving; npz z up as AMASS). "
                   "Default: when the results have one (after `aios ground`).")
def export(results_path: Path, file_format, out_path, track_ids, fps, smplx_dir, camera_frame,
           combined, bvh_units, skeleton, world) -> None:
    """Turn RESULTS (the .npz written by `aios run`) into files other tools open."""
    from aios_core.assets import AssetNotFoundError
    from aios_core.export import ExportError, ExportOptions, export_file
    from aios_core.export.exporter import resolve_format
    from aios_core.results.results_file import ResultsFileError

    usage_errors = (ResultsFileError, AssetNotFoundError, ExportError)
    with reported_errors("export", usage_errors, "files already written are complete"):
        options = ExportOptions(
            file_format=resolve_format(file_format, out_path), out_path=out_path,
            track_ids=tuple(track_ids), fps=fps,
            coordinate_frame="camera" if camera_frame else "y_up", combined=combined,
            bvh_units=bvh_units, skeleton=skeleton, world=world,
        )
        written = export_file(results_path, options, smplx_dir)
    for path in written[:_LISTED_FILES]:
        click.echo(str(path))
    if len(written) > _LISTED_FILES:
        click.echo(f"... {len(written)} files in all")
