"""Write RGB frames to an H.264 (or MPEG-4 Part 2) video, copying the input's audio track.

    with VideoWriter("out.mp4", fps=reader.info.fps, audio_from="in.mp4") as writer:
        for _, timestamp_s, rgb in reader:
            writer.write(rgb, timestamp_s)
    # out.mp4 appears only here, complete; an exception inside the block leaves nothing.

Frames go to a hidden temporary file next to the target, renamed over it at close.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from aios_core.io.atomic import reserve_temporary_file
from aios_core.video.errors import VideoOutputError
from aios_core.video.ffmpeg_errors import plain_ffmpeg_reason

log = logging.getLogger(__name__)

CONTAINER_BY_SUFFIX = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".avi": "avi",
}
# Fine enough for variable-rate timestamps (the MPEG-TS clock), yet a whole number of
# ticks per frame at common rates (25, 30000/1001, 60, ...).
_TARGET_CLOCK_HZ = 90_000
# MPEG-4 Part 2 caps the time-base denominator at 16 bits.
_MPEG4_MAX_CLOCK_HZ = 65_535
# Containers with one fixed frame duration: AVI takes the codec clock as its frame rate (a
# 90 kHz clock became a "600 fps" file padded with empty frames), so there one tick is one
# frame and frames are numbered, not timed.
_CONSTANT_RATE_FORMATS = frozenset({"avi"})


def default_video_codec() -> str:
    """libx264 when this FFmpeg build has it, MPEG-4 Part 2 otherwise."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


class VideoWriter:
    """Encode (H, W, 3) uint8 RGB frames at a rational frame rate; finalise atomically."""

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction,
        *,
        audio_from: str | Path | None = None,
        audio_start_s: float = 0.0,
        codec: str | None = None,
        crf: int = 18,
        preset: str = "veryfast",
    ) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1_000_000)
        if self.fps <= 0:
            raise VideoOutputError(f"frame rate must be positive, got {fps}")
        self.codec = codec or default_video_codec()
        if self.codec not in av.codecs_available:
            raise VideoOutputError(f"video codec not available in this FFmpeg build: {self.codec}")
        self.crf = crf
        self.preset = preset
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.audio_start_s = audio_start_s
        self.frames_written = 0
        self.audio_copied = False
        self.audio_note: str | None = None  # why the audio was not copied, if it was not
        self._format = check_video_output_path(self.path)
        self._tmp_path = self._reserve_temp_file()
        self._constant_rate = self._format in _CONSTANT_RATE_FORMATS
        self._time_base = (
            1 / self.fps if self._constant_rate else _codec_time_base(self.fps, self.codec)
        )
        self._container: av.container.OutputContainer | None = None
        self._video: av.video.stream.VideoStream | None = None
        self._frame_size: tuple[int, int] | None = None  # (H, W) of accepted frames
        self._last_pts: int | None = None
        self._audio_source: av.container.InputContainer | None = None
        self._audio_out: av.audio.stream.AudioStream | None = None
        self._audio_packets: Iterator[av.Packet] | None = None
        self._pending_packet: av.Packet | None = None
        self._audio_offset_ticks = 0
        self._finished = False

    # --------------------------------------------------------------------------- public API

    def write(self, rgb: np.ndarray, timestamp_s: float | None = None) -> None:
        """Append one frame; ``timestamp_s`` (output timeline) defaults to index / fps."""
        if self._finished:
            raise VideoOutputError(f"writer for {self.path} is already closed")
        try:
            self._write(rgb, timestamp_s)
        except BaseException:
            self.abort()
            raise

    def close(self) -> Path:
        """Flush, finalise and move the finished file into place; returns its path."""
        if self._finished:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise VideoOutputError(f"no frames were written to {self.path}")
        try:
            assert self._container is not None and self._video is not None
            for packet in self._video.encode(None):
                self._container.mux(packet)
            self._copy_audio_until(self._video_end_s())
            self._container.close()
            self._container = None
            self._close_audio_source()
            os.replace(self._tmp_path, self.path)
        except av.error.FFmpegError as err:
            self.abort()
            raise VideoOutputError(
                f"cannot finalise {self.path}: {plain_ffmpeg_reason(err)}"
            ) from err
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return self.path

    def abort(self) -> None:
        """Stop writing and delete the partial file; the target path is left untouched."""
        self._finished = True
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is being thrown away; its trailer does not matter
                pass
            self._container = None
        self._close_audio_source()
        self._tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # ------------------------------------------------------------------------------ frames

    def _write(self, rgb: np.ndarray, timestamp_s: float | None) -> None:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise VideoOutputError(f"expected an (H, W, 3) uint8 frame, got {rgb.dtype}{rgb.shape}")
        if self._frame_size is None:
            self._start(rgb.shape[0], rgb.shape[1])
        elif rgb.shape[:2] != self._frame_size:
            raise VideoOutputError(
                f"frame size changed from {self._frame_size} to {rgb.shape[:2]} (H, W)"
            )
        pts = self._next_pts(timestamp_s)
        frame = av.VideoFrame.from_ndarray(_pad_to_even(rgb), format="rgb24")
        frame.pts = pts
        frame.time_base = self._time_base
        assert self._container is not None and self._video is not None
        try:
            for packet in self._video.encode(frame):
                self._container.mux(packet)
            # Keep the audio interleaved with the video written so far.
            self._copy_audio_until(float(pts * self._time_base))
        except av.error.FFmpegError as err:
            raise VideoOutputError(
                f"encoding {self.path} failed: {plain_ffmpeg_reason(err)}"
            ) from err
        self._last_pts = pts
        self.frames_written += 1

    def _next_pts(self, timestamp_s: float | None) -> int:
        if self._constant_rate:
            return self.frames_written
        if timestamp_s is None:
            ticks_per_frame = 1 / (self.fps * self._time_base)
            return round(self.frames_written * ticks_per_frame)
        pts = round(timestamp_s / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            raise VideoOutputError(
                f"timestamps must increase: {timestamp_s:.6f}s after "
                f"{float(self._last_pts * self._time_base):.6f}s"
            )
        return pts

    def _video_end_s(self) -> float:
        assert self._last_pts is not None
        return float(self._last_pts * self._time_base + 1 / self.fps)

    # --------------------------------------------------------------------- container setup

    def _reserve_temp_file(self) -> Path:
        """Create the hidden temporary file now, so an unwritable folder fails up front."""
        try:
            return reserve_temporary_file(self.path)
        except OSError as err:
            raise VideoOutputError(
                f"cannot write to {self.path.parent}: {err.strerror or err}"
            ) from None

    def _start(self, height: int, width: int) -> None:
        """Open the container at the first frame, when the picture size becomes known."""
        self._frame_size = (height, width)
        audio_template = self._open_audio_source()
        try:
            self._open_container(height, width, audio_template)
        except (av.error.FFmpegError, ValueError) as err:
            if audio_template is None:
                raise VideoOutputError(
                    f"cannot start {self.path}: {plain_ffmpeg_reason(err)}"
                ) from err
            # The container refused the audio codec: write the video alone.
            self.audio_note = f"audio not copied ({plain_ffmpeg_reason(err)})"
            log.info("%s: %s", self.path, self.audio_note)
            self._close_audio_source()
            if self._container is not None:
                self._container.close()
            try:
                self._open_container(height, width, None)
            except (av.error.FFmpegError, ValueError) as err2:
                raise VideoOutputError(
                    f"cannot start {self.path}: {plain_ffmpeg_reason(err2)}"
                ) from err2

    def _open_container(
        self, height: int, width: int, audio_template: av.audio.stream.AudioStream | None
    ) -> None:
        self._container = av.open(str(self._tmp_path), mode="w", format=self._format)
        video = self._container.add_stream(self.codec, rate=self.fps)
        # 4:2:0 chroma needs even dimensions; _pad_to_even grows odd frames by one pixel.
        video.width = width + width % 2
        video.height = height + height % 2
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = self._time_base
        if self.codec == "libx264":
            video.options = {"crf": str(self.crf), "preset": self.preset}
        else:  # no constant-quality mode wired up: a generous bit rate instead
            video.bit_rate = max(1_000_000, int(0.2 * width * height * float(self.fps)))
        self._video = video
        if audio_template is not None:
            self._audio_out = self._container.add_stream_from_template(audio_template)
        self._container.start_encoding()
        self.audio_copied = self._audio_out is not None

    # ------------------------------------------------------------------------------- audio

    def _open_audio_source(self) -> av.audio.stream.AudioStream | None:
        if self.audio_from is None:
            return None
        try:
            source = av.open(str(self.audio_from), mode="r")
        except (av.error.FFmpegError, OSError) as err:
            self.audio_note = f"audio source unreadable ({plain_ffmpeg_reason(err)})"
            return None
        if not source.streams.audio:
            source.close()
            self.audio_note = "input has no audio"
            return None
        stream = source.streams.audio[0]
        self._audio_source = source
        self._audio_packets = source.demux(stream)
        assert stream.time_base is not None
        self._audio_offset_ticks = round(self.audio_start_s / stream.time_base)
        return stream

    def _copy_audio_until(self, until_s: float) -> None:
        """Remux source audio packets that start before ``until_s`` on the output timeline."""
        if self._audio_out is None or self._audio_packets is None:
            return
        assert self._container is not None
        while True:
            packet = self._pending_packet or next(self._audio_packets, None)
            self._pending_packet = None
            if packet is None:
                self._audio_packets = None
                return
            if packet.pts is None or packet.dts is None or packet.size == 0:
                continue  # demuxer flush marker or an untimed packet
            if packet.pts + (packet.duration or 0) < self._audio_offset_ticks:
                continue  # entirely before the requested start
            packet.pts -= self._audio_offset_ticks
            packet.dts -= self._audio_offset_ticks
            if float(packet.pts * packet.time_base) >= until_s:
                packet.pts += self._audio_offset_ticks  # restore; it is muxed later
                packet.dts += self._audio_offset_ticks
                self._pending_packet = packet
                return
            packet.stream = self._audio_out
            self._container.mux(packet)

    def _close_audio_source(self) -> None:
        self._audio_packets = None
        self._pending_packet = None
        if self._audio_source is not None:
            self._audio_source.close()
            self._audio_source = None


def check_video_output_path(path: Path) -> str:
    """Validate the target (before any work) and return the container format name for it."""
    container_format = CONTAINER_BY_SUFFIX.get(path.suffix.lower())
    if container_format is None:
        known = ", ".join(sorted(CONTAINER_BY_SUFFIX))
        raise VideoOutputError(f"unsupported output extension {path.suffix!r} (use {known})")
    if path.is_dir():
        raise VideoOutputError(f"output path is a directory: {path}")
    if not path.parent.is_dir():
        raise VideoOutputError(f"output folder does not exist: {path.parent}")
    return container_format


def _codec_time_base(fps: Fraction, codec: str) -> Fraction:
    """1/clock where, when the codec allows, one frame lasts a whole number of ticks."""
    max_clock = _MPEG4_MAX_CLOCK_HZ if codec == "mpeg4" else 1 << 30
    # fps = n/d frames per second: one frame is d/n s, i.e. d*k ticks of a clock at n*k Hz.
    multiple = max(1, math.ceil(_TARGET_CLOCK_HZ / fps.numerator))
    while multiple > 1 and fps.numerator * multiple > max_clock:
        multiple -= 1
    return Fraction(1, min(fps.numerator * multiple, max_clock))


def _pad_to_even(rgb: np.ndarray) -> np.ndarray:
    """Repeat the last row/column where needed so both dimensions are even."""
    pad_rows, pad_cols = rgb.shape[0] % 2, rgb.shape[1] % 2
    if not (pad_rows or pad_cols):
        return rgb
    return np.pad(rgb, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")

