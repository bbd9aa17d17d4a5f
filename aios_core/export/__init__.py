"""`aios export`: a run's results as SMPL-X motion (npz/json), BVH, glTF, FBX or mesh files.

``motion`` turns the results into per-track motion (absolute hand poses, one shape per person,
a y-up world by default); each format module writes it; ``exporter`` chooses between them.
"""

from aios_core.export.exporter import FORMATS, ExportOptions, export_file, export_results
from aios_core.export.motion import ExportError, Motion, TrackMotion, build_motion

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportOptions",
    "Motion",
    "TrackMotion",
    "build_motion",
    "export_file",
    "export_results",
]
