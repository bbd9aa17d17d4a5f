"""Tiny synthetic videos for the video tests, written with PyAV."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 64, 48


def frame_image(i: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A frame whose mean brightness encodes ``i``, with a red top-left corner marker.

    A strip of per-frame noise along the top right keeps every encoded frame large
    enough that cutting a file in half really cuts through frame data.
    """
    rgb = np.full((height, width, 3), (10 + 7 * i) % 200 + 20, np.uint8)
    rgb[: height // 3, : width // 3] = (255, 0, 0)
    noise = np.random.default_rng(i).integers(0, 256, (height // 3, width // 3, 3))
    rgb[: height // 3, width // 2 : width // 2 + width // 3] = noise.astype(np.uint8)
    return rgb


def write_video(
    path: Path,
    n_frames: int = 12,
    fps: Fraction | int = 25,
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotation_ccw: int | None = None,
    pts_ms: Sequence[int] | None = None,
    audio_s: float | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write frame_image(0..n-1); ``pts_ms`` gives variable-rate timestamps in ms."""
    container = av.open(str(path), mode="w", options=options or {})
    video = container.add_stream(codec, rate=Fraction(fps))
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, pix_fmt
    if pts_ms is not None:
        video.codec_context.time_base = Fraction(1, 1000)
    if rotation_ccw is not None:
        video.set_display_rotation(rotation_ccw)
    audio = None
    if audio_s is not None:
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
    container.start_encoding()
    for i in range(n_frames):
        frame = av.VideoFrame.from_ndarray(frame_image(i), format="rgb24").reformat(format=pix_fmt)
        if pts_ms is not None:
            frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
        else:
            frame.pts = i
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode(None):
        container.mux(packet)
    if audio is not None:
        _write_sine(container, audio, audio_s)
    container.close()
    return path


def _write_sine(container, audio, seconds: float, rate: int = 16000, hz: float = 440.0) -> None:
    chunk = audio.codec_context.frame_size
    n_chunks = int(seconds * rate) // chunk
    t = np.arange(n_chunks * chunk) / rate
    signal = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    for k in range(n_chunks):
        samples = np.ascontiguousarray(signal[None, k * chunk : (k + 1) * chunk])
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, k * chunk
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode(None):
        container.mux(packet)


def decode_audio_samples(path: Path) -> np.ndarray:
    """All audio samples of the first audio stream, as float32 mono."""
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def stream_summary(path: Path) -> dict[str, object]:
    """Independent look at a file: codec names, video frame count and average rate."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        n_frames = sum(1 for _ in container.decode(video))
        return {
            "video_codec": video.codec_context.name,
            "audio_codecs": [s.codec_context.name for s in container.streams.audio],
            "frames": n_frames,
            "average_rate": video.average_rate,
            "width": video.width,
            "height": video.height,
        }
