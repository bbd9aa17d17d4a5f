"""Random access to the frames of a run's input (video, image or image folder) for the viewer.

``MediaReader`` streams frames in order; the viewer jumps around the timeline, so video frames
are reached by seeking to the keyframe before the wanted time and decoding forward (playing
forward just keeps decoding). Frames come out upright and scaled down to ``max_width``.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from aios_core.video import MediaReader
from aios_core.video.images import list_image_folder, load_rgb_image

DEFAULT_MAX_WIDTH = 640
# Decode forward instead of seeking when the wanted frame is at most this far ahead.
_MAX_DECODE_AHEAD_S = 2.0


class VideoFrames:
    """``frame(index, timestamp_s)``: the input's frame, (h, w, 3) uint8, or None if missing."""

    def __init__(self, path: str | Path, max_width: int = DEFAULT_MAX_WIDTH):
        reader = MediaReader(path)  # VideoInputError (one line) for a bad input
        self.info = reader.info
        self.max_width = max_width
        self._image_files: list[Path] = []
        if self.info.kind == "image_folder":
            self._image_files = list_image_folder(self.info.path)
        elif self.info.kind == "image":
            self._image_files = [self.info.path]
        self._container: av.container.InputContainer | None = None
        self._frames = None  # the running decode iterator
        self._last_time_s = float("inf")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def frame(self, index: int, timestamp_s: float) -> np.ndarray | None:
        if self.info.kind != "video":
            if not 0 <= index < len(self._image_files):
                return None
            rgb = load_rgb_image(self._image_files[index])
        else:
            rgb = self._video_frame(timestamp_s)
        return None if rgb is None else self._scaled(rgb)

    def _video_frame(self, timestamp_s: float) -> np.ndarray | None:
        half_interval_s = 0.5 / self.info.fps_float
        ahead_s = timestamp_s - self._last_time_s
        if self._frames is None or not -half_interval_s < ahead_s <= _MAX_DECODE_AHEAD_S:
            self._seek(timestamp_s)
        try:
            for frame in self._frames:
                time_s = float(frame.pts * frame.time_base) - self._start_s
                self._last_time_s = time_s
                if time_s >= timestamp_s - half_interval_s:
                    return self._upright(frame)
        except av.error.FFmpegError:
            pass
        self._frames = None
        return None

    def _seek(self, timestamp_s: float) -> None:
        if self._container is None:
            self._container = av.open(str(self.info.path))
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            self._start_s = float((stream.start_time or 0) * stream.time_base)
        stream = self._container.streams.video[0]
        target = int((timestamp_s + self._start_s) / stream.time_base)
        self._container.seek(max(target, 0), stream=stream, backward=True, any_frame=False)
        self._frames = (f for f in self._container.decode(stream) if f.pts is not None)
        self._last_time_s = float("-inf")

    def _upright(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(np.rot90(rgb, self.info.rotation_deg // 90))

    def _scaled(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        if width <= self.max_width:
            return rgb
        size = (self.max_width, max(1, round(height * self.max_width / width)))
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
