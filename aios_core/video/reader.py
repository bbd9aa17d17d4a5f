"""Read a video file, a single image or a folder of images as a stream of upright RGB frames.

    reader = MediaReader("clip.mp4", start_frame=10, max_frames=100)
    for index, timestamp_s, rgb in reader:   # rgb: (H, W, 3) uint8
        ...
    if reader.decode_error:                   # a truncated/corrupt file stops early
        warn(reader.decode_error)

Bad inputs raise VideoInputError (a ValueError) with a one-line message at construction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, NamedTuple

import av
import numpy as np

from aios_core.video.errors import VideoInputError
from aios_core.video.ffmpeg_errors import plain_ffmpeg_reason
from aios_core.video.images import is_image_path, list_image_folder, load_rgb_image

log = logging.getLogger(__name__)

MediaKind = Literal["video", "image", "image_folder"]

_FALLBACK_FPS = Fraction(30)
# A clean file whose last frame ends this many frame intervals before the declared
# duration is reported as truncated.
_TRUNCATION_TOLERANCE_FRAMES = 2.5


class DecodedFrame(NamedTuple):
    index: int  # position in the input, counted from its first frame (not from start_frame)
    timestamp_s: float  # presentation time from the stream start (pts * time_base)
    rgb: np.ndarray  # (H, W, 3) uint8, upright


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    kind: MediaKind
    fps: Fraction  # average rate for video; the requested rate for images
    frame_count: int | None  # whole input, an estimate for video; None when unknown
    width: int  # of the upright frames (after rotation)
    height: int
    rotation_deg: int  # counter-clockwise rotation applied to decoded frames: 0/90/180/270
    has_audio: bool
    duration_s: float | None

    @property
    def fps_float(self) -> float:
        return float(self.fps)


class MediaReader:
    """Probe an input at construction (raising VideoInputError) and iterate its frames.

    Each iteration opens the input afresh, so a reader can be iterated more than once.
    ``end_frame`` is exclusive; ``max_frames`` caps how many frames are yielded.
    """

    def __init__(
        self,
        source: str | Path,
        *,
        start_frame: int = 0,
        end_frame: int | None = None,
        max_frames: int | None = None,
        image_fps: float | Fraction = 30,
    ) -> None:
        if start_frame < 0:
            raise VideoInputError(f"--start must be >= 0, got {start_frame}")
        if end_frame is not None and end_frame <= start_frame:
            raise VideoInputError(f"--end ({end_frame}) must be after --start ({start_frame})")
        if max_frames is not None and max_frames < 1:
            raise VideoInputError(f"--max-frames must be >= 1, got {max_frames}")
        self.path = Path(source)
        self.start_frame = start_frame
        self.end_frame = end_frame
        self.max_frames = max_frames
        self.decode_error: str | None = None  # set when decoding stopped early
        self._image_files: list[Path] = []
        self._tag_rotation_ccw = 0
        self._declared_frames: int | None = None  # sample count from the container header
        self.info = self._probe(_as_fraction(image_fps))

    @property
    def stop_frame(self) -> int | None:
        """Exclusive index at which iteration stops, from end_frame and max_frames."""
        max_stop = None if self.max_frames is None else self.start_frame + self.max_frames
        stops = [s for s in (self.end_frame, max_stop) if s is not None]
        return min(stops) if stops else None

    @property
    def expected_frames(self) -> int | None:
        """How many frames iteration should yield (an estimate for video); None if unknown."""
        stop = self.stop_frame
        total = self.info.frame_count
        if total is not None:
            stop = total if stop is None else min(stop, total)
        return None if stop is None else max(stop - self.start_frame, 0)

    def __iter__(self) -> Iterator[DecodedFrame]:
        self.decode_error = None
        if self.info.kind == "video":
            return self._iter_video()
        return self._iter_images()

    # ----------------------------------------------------------------------------- probing

    def _probe(self, image_fps: Fraction) -> MediaInfo:
        path = self.path
        if not path.exists():
            raise VideoInputError(f"input not found: {path}")
        if path.is_dir():
            return self._probe_folder(image_fps)
        if path.stat().st_size == 0:
            raise VideoInputError(f"{path} is empty (0 bytes)")
        if is_image_path(path):
            return self._probe_images([path], "image", image_fps)
        return self._probe_video()

    def _probe_folder(self, image_fps: Fraction) -> MediaInfo:
        files = list_image_folder(self.path)
        if not files:
            raise VideoInputError(f"no image files in folder: {self.path}")
        return self._probe_images(files, "image_folder", image_fps)

    def _probe_images(self, files: list[Path], kind: MediaKind, fps: Fraction) -> MediaInfo:
        first = load_rgb_image(files[0])
        if first is None:
            raise VideoInputError(f"cannot decode image: {files[0]}")
        self._image_files = files
        return MediaInfo(
            path=self.path,
            kind=kind,
            fps=fps,
            frame_count=len(files),
            width=first.shape[1],
            height=first.shape[0],
            rotation_deg=0,
            has_audio=False,
            duration_s=len(files) / float(fps),
        )

    def _probe_video(self) -> MediaInfo:
        path = self.path
        container = _open_container(path)
        with container:
            if not container.streams.video:
                raise VideoInputError(f"no video stream in {path}")
            stream = container.streams.video[0]
            self._tag_rotation_ccw = _rotation_from_tag(stream.metadata)
            first = None
            try:
                first = next(container.decode(stream), None)
            except av.error.FFmpegError as err:
                raise VideoInputError(f"cannot decode {path}: {plain_ffmpeg_reason(err)}") from None
            if first is None:
                raise VideoInputError(f"video has no frames: {path}")
            rotation = self._upright_rotation(first)
            fps = stream.average_rate or stream.guessed_rate or stream.base_rate or _FALLBACK_FPS
            duration_s = _declared_duration_s(container, stream)
            self._declared_frames = stream.frames or None
            frame_count = self._declared_frames
            if frame_count is None and duration_s is not None:
                frame_count = max(1, round(duration_s * float(fps)))
            swap = rotation in (90, 270)
            return MediaInfo(
                path=path,
                kind="video",
                fps=Fraction(fps),
                frame_count=frame_count,
                width=first.height if swap else first.width,
                height=first.width if swap else first.height,
                rotation_deg=rotation,
                has_audio=bool(container.streams.audio),
                duration_s=duration_s,
            )

    # ---------------------------------------------------------------------------- decoding

    def _upright_rotation(self, frame: av.VideoFrame) -> int:
        """Counter-clockwise degrees (0/90/180/270) that make ``frame`` display upright."""
        # frame.rotation reads the display-matrix side data: the angle by which the
        # player rotates the picture counter-clockwise. Old files carry a 'rotate' tag
        # instead (clockwise degrees), already converted in _tag_rotation_ccw.
        ccw = frame.rotation or self._tag_rotation_ccw
        return (round(ccw / 90) % 4) * 90

    def _to_upright_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = frame.to_ndarray(format="rgb24")  # any pixel format -> (H, W, 3) uint8
        quarter_turns = self._upright_rotation(frame) // 90
        if quarter_turns:
            rgb = np.rot90(rgb, quarter_turns)
        # Row padding (odd widths) or the rotation leave a strided view; hand out plain arrays.
        return np.ascontiguousarray(rgb)

    def _iter_video(self) -> Iterator[DecodedFrame]:
        container = _open_container(self.path)
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base
            start_pts = stream.start_time or 0
            interval_s = 1.0 / self.info.fps_float
            stop = self.stop_frame
            index = -1
            timestamp_s = -interval_s
            for frame in self._decode_all(container, stream):
                index += 1
                if frame.pts is not None and time_base is not None:
                    timestamp_s = float((frame.pts - start_pts) * time_base)
                else:  # no timing information: assume a constant rate
                    timestamp_s += interval_s
                if stop is not None and index >= stop:
                    return
                if index >= self.start_frame:
                    yield DecodedFrame(index, timestamp_s, self._to_upright_rgb(frame))
            if self.decode_error is None:
                self.decode_error = self._shortfall(index + 1, timestamp_s + interval_s)

    def _decode_all(
        self, container: av.container.InputContainer, stream: av.video.stream.VideoStream
    ) -> Iterator[av.VideoFrame]:
        """Every decodable frame; a demux/decode failure is recorded and ends the stream."""
        decoded = 0
        try:
            for packet in container.demux(stream):
                for frame in stream.decode(packet):
                    decoded += 1
                    yield frame
        except av.error.FFmpegError as err:
            self.decode_error = (
                f"decoding stopped after {decoded} frames: {plain_ffmpeg_reason(err)}"
            )
            log.debug("%s: %s", self.path, self.decode_error)
            try:  # frames already inside the decoder are still good
                yield from stream.decode(None)
            except av.error.FFmpegError:
                pass

    def _shortfall(self, decoded: int, end_s: float) -> str | None:
        """Describe a silent early end (a truncated file that demuxes cleanly), else None."""
        if self.stop_frame is not None:
            return None  # we did not try to read everything
        duration_s = self.info.duration_s
        if duration_s is None:
            declared = self._declared_frames
            if declared is not None and decoded < declared:
                return f"file ended after {decoded} of {declared} frames (truncated?)"
            return None
        # The duration is preferred over the sample count: an edit list can legitimately
        # hide leading samples, but the decoded span must still cover the edited duration.
        slack_s = _TRUNCATION_TOLERANCE_FRAMES / self.info.fps_float
        if end_s < duration_s - slack_s:
            return (
                f"file ended at {end_s:.2f}s of a declared {duration_s:.2f}s "
                f"after {decoded} frames (truncated?)"
            )
        return None

    def _iter_images(self) -> Iterator[DecodedFrame]:
        stop = self.stop_frame
        files = self._image_files[self.start_frame : stop]
        interval_s = 1.0 / self.info.fps_float
        for offset, file in enumerate(files):
            index = self.start_frame + offset
            rgb = load_rgb_image(file)
            if rgb is None:
                self.decode_error = f"cannot decode image {file.name}; stopped after {offset}"
                log.debug("%s: %s", self.path, self.decode_error)
                return
            yield DecodedFrame(index, index * interval_s, rgb)


def _as_fraction(rate: float | Fraction) -> Fraction:
    fraction = Fraction(rate).limit_denominator(1_000_000)
    if fraction <= 0:
        raise ValueError(f"frame rate must be positive, got {rate}")
    return fraction


def _open_container(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as err:
        reason = plain_ffmpeg_reason(err)
        raise VideoInputError(f"cannot read {path} as a video or image: {reason}") from None
    except OSError as err:
        raise VideoInputError(f"cannot open {path}: {err.strerror or err}") from None


def _rotation_from_tag(metadata: dict[str, str]) -> int:
    """Counter-clockwise degrees from a legacy 'rotate' tag (which counts clockwise)."""
    try:
        return -int(float(metadata.get("rotate", "0")))
    except ValueError:
        return 0


_CLOCK = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$")


def _declared_duration_s(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    """The video stream's duration as the file declares it, None when it does not."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    # Matroska keeps per-track durations as an "HH:MM:SS.fffffffff" tag.
    match = _CLOCK.match(stream.metadata.get("DURATION", ""))
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    # The container duration spans all streams, so trust it only for a lone video stream.
    if len(container.streams) == 1 and container.duration is not None:
        return container.duration / av.time_base
    return None
