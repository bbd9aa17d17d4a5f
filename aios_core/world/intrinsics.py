"""The real camera's focal length: from the user, from the file's metadata, found from the
camera's motion (``camera_motion``: see ``aios_core.world.stage``), or assumed.

``--fov DEG`` is the horizontal field of view of the frames as decoded, ``--focal-px F`` the
focal length in pixels (square pixels, principal point at the image centre). Without either,
a 35 mm-equivalent focal length in the video container's metadata or an image's EXIF is used;
otherwise the network's own assumption stays (and the results say so: ``focal_source``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from aios_core.world.errors import WorldOptionError

FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)  # what "35 mm equivalent" is relative to
_FOCAL_35MM_KEY = re.compile(r"focal.?length.?(in.?)?35", re.IGNORECASE)


@dataclass(frozen=True)
class FocalChoice:
    """How the focal length of every frame is obtained."""

    source: str  # "user" | "metadata" | "camera_motion" | "people" | "assumed"
    fov_deg: float | None = None  # horizontal field of view
    focal_px: float | None = None  # at the frame size it was given for (``reference_width``)
    focal_35mm: float | None = None  # 35 mm-equivalent focal length, mm (metadata)
    uncertainty: float = float("nan")  # relative one-sigma (0: given; nan: unknown)
    how: str = ""  # camera_motion, people: what found it

    def focal_for(self, width_px: int, height_px: int) -> float | None:
        """Focal length in pixels for a frame of this size; None: keep the assumption."""
        if self.fov_deg is not None:
            return width_px / 2 / math.tan(math.radians(self.fov_deg) / 2)
        if self.focal_px is not None:
            return self.focal_px
        if self.focal_35mm is not None:
            return self.focal_35mm * math.hypot(width_px, height_px) / FULL_FRAME_DIAGONAL_MM
        return None

    def describe(self) -> str:
        if self.fov_deg is not None:
            return f"horizontal field of view {self.fov_deg:g} deg (--fov)"
        if self.source in ("camera_motion", "people"):
            return (f"focal length {self.focal_px:.1f} px (+-{self.uncertainty:.1%}) found by "
                    f"{self.how}")
        if self.focal_px is not None:
            return f"focal length {self.focal_px:g} px (--focal-px)"
        if self.focal_35mm is not None:
            return f"35 mm-equivalent focal length {self.focal_35mm:g} mm from the file's metadata"
        return "the network's assumed focal length (give --fov or --focal-px for the real one)"


ASSUMED = FocalChoice("assumed")


def check_camera_options(fov_deg: float | None, focal_px: float | None) -> None:
    """One plain line for each impossible value."""
    if fov_deg is not None and focal_px is not None:
        raise WorldOptionError("--fov and --focal-px both give the focal length: pass only one")
    if fov_deg is not None and not (0.0 < fov_deg < 180.0) or (
        fov_deg is not None and not math.isfinite(fov_deg)
    ):
        raise WorldOptionError(
            f"--fov {fov_deg:g} is impossible: the horizontal field of view must be between "
            "0 and 180 degrees (typical phones: 65-80)"
        )
    if focal_px is not None and not (focal_px > 0.0 and math.isfinite(focal_px)):
        raise WorldOptionError(f"--focal-px {focal_px:g} is impossible: give a focal length in "
                               "pixels greater than 0")


def choose_focal(
    fov_deg: float | None = None, focal_px: float | None = None, input_path: Path | None = None
) -> FocalChoice:
    """The user's value if given (checked), else the input's metadata, else the assumption."""
    check_camera_options(fov_deg, focal_px)
    if fov_deg is not None:
        return FocalChoice("user", fov_deg=float(fov_deg), uncertainty=0.0)
    if focal_px is not None:
        return FocalChoice("user", focal_px=float(focal_px), uncertainty=0.0)
    focal_35mm = metadata_focal_35mm(input_path) if input_path is not None else None
    if focal_35mm:
        return FocalChoice("metadata", focal_35mm=focal_35mm)
    return ASSUMED


def metadata_focal_35mm(path: Path) -> float | None:
    """A 35 mm-equivalent focal length (mm) stored with the input, if any; never raises."""
    path = Path(path)
    try:
        if path.is_dir():
            from aios_core.video.images import list_image_folder

            files = list_image_folder(path)
            return _exif_focal_35mm(files[0]) if files else None
        if path.suffix.lower() in {".jpg", ".jpeg", ".tif", ".tiff", ".png", ".webp"}:
            return _exif_focal_35mm(path)
        return _container_focal_35mm(path)
    except Exception:  # metadata is a bonus: an unreadable tag means "not given"
        return None


def _exif_focal_35mm(path: Path) -> float | None:
    from PIL import Image

    exif_ifd = 0x8769
    focal_35mm_tag = 0xA405  # FocalLengthIn35mmFilm
    with Image.open(path) as image:
        value = image.getexif().get_ifd(exif_ifd).get(focal_35mm_tag)
    return float(value) if value else None


def _container_focal_35mm(path: Path) -> float | None:
    import av

    with av.open(str(path)) as container:
        tags = dict(container.metadata)
        for stream in container.streams.video:
            tags.update(stream.metadata)
    for key, value in tags.items():
        if _FOCAL_35MM_KEY.search(key):
            number = re.search(r"[\d.]+", str(value))
            if number and float(number.group()) > 0:
                return float(number.group())
    return None
