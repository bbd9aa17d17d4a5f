"""Video and image-sequence input/output for ``aios run``."""

from aios_core.video.errors import VideoInputError, VideoOutputError
from aios_core.video.prefetch import FrameBatch, PrefetchingDecoder
from aios_core.video.reader import DecodedFrame, MediaInfo, MediaReader
from aios_core.video.writer import VideoWriter

__all__ = [
    "DecodedFrame",
    "FrameBatch",
    "MediaInfo",
    "MediaReader",
    "PrefetchingDecoder",
    "VideoInputError",
    "VideoOutputError",
    "VideoWriter",
]
