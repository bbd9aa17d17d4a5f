from fractions import Fraction

import av
import numpy as np
import pytest
from synthetic_media import HEIGHT, WIDTH, frame_image, stream_summary, write_video

from aios_core.video import MediaReader, VideoOutputError, VideoWriter
from aios_core.video.writer import CONTAINER_BY_SUFFIX, check_video_output_path


def _audio_packets(path) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def _copy(reader: MediaReader, writer: VideoWriter, *, with_timestamps: bool = False) -> None:
    with writer:
        for frame in reader:
            writer.write(frame.rgb, frame.timestamp_s if with_timestamps else None)


def test_round_trip_keeps_frames_rate_and_remuxes_audio(tmp_path):
    source = write_video(tmp_path / "in.mp4", n_frames=25, fps=25, audio_s=1.0)
    reader = MediaReader(source)
    assert reader.info.has_audio
    out = tmp_path / "out.mp4"
    writer = VideoWriter(out, reader.info.fps, audio_from=source)
    _copy(reader, writer)
    assert writer.audio_copied and writer.audio_note is None
    summary = stream_summary(out)
    assert summary["video_codec"] == "h264"
    assert summary["frames"] == 25
    assert summary["average_rate"] == Fraction(25)
    assert summary["audio_codecs"] == ["aac"]
    # Remuxing copies the compressed audio bit for bit (up to the end of the video).
    source_packets, out_packets = _audio_packets(source), _audio_packets(out)
    assert len(out_packets) >= len(source_packets) - 1
    assert out_packets == source_packets[: len(out_packets)]
    # And the pictures survive the round trip.
    frames = list(MediaReader(out))
    assert abs(frames[7].rgb[24:, 32:].mean() - frame_image(7)[24:, 32:].mean()) < 4


def test_trimmed_video_copies_the_matching_audio_window(tmp_path):
    source = write_video(tmp_path / "in.mp4", n_frames=25, fps=25, audio_s=1.0)
    reader = MediaReader(source, start_frame=10)
    start_s = 10 / 25
    out = tmp_path / "trimmed.mp4"
    with VideoWriter(out, 25, audio_from=source, audio_start_s=start_s) as writer:
        for frame in reader:
            writer.write(frame.rgb, frame.timestamp_s - start_s)
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        timed = [(p.pts, p.duration, bytes(p)) for p in container.demux(stream) if p.size]
        time_base = stream.time_base  # PyAV 18 refuses stream attributes once closed
    start_ticks = start_s / time_base
    first = next(i for i, (pts, dur, _) in enumerate(timed) if pts + dur > start_ticks)
    out_packets = _audio_packets(out)
    # The window runs from the packet holding start_s to the end of the (shorter) video.
    assert out_packets == [data for _, _, data in timed[first : first + len(out_packets)]]
    assert abs(len(out_packets) * 1024 / 16000 - 15 / 25) < 2 * 1024 / 16000
    with av.open(str(out)) as container:
        audio_start = next(p for p in container.demux(audio=0) if p.size)
        assert abs(float(audio_start.pts * audio_start.time_base)) < 1024 / 16000
    assert stream_summary(out)["frames"] == 15


def test_rational_rate_and_variable_timestamps_survive(tmp_path):
    ntsc = Fraction(30000, 1001)
    source = write_video(tmp_path / "ntsc.mkv", n_frames=10, fps=ntsc)
    out = tmp_path / "ntsc_out.mkv"
    _copy(MediaReader(source), VideoWriter(out, ntsc), with_timestamps=False)
    assert MediaReader(out).info.fps == ntsc

    pts_ms = [0, 40, 50, 130, 140, 300]
    vfr = write_video(tmp_path / "vfr.mp4", n_frames=len(pts_ms), pts_ms=pts_ms)
    out_vfr = tmp_path / "vfr_out.mp4"
    _copy(MediaReader(vfr), VideoWriter(out_vfr, 25), with_timestamps=True)
    timestamps = [f.timestamp_s for f in MediaReader(out_vfr)]
    np.testing.assert_allclose(timestamps, np.array(pts_ms) / 1000, atol=1e-3)


def test_odd_dimensions_are_padded_and_mpeg4_works(tmp_path):
    out = tmp_path / "odd.avi"
    image = frame_image(3)[:47, :63]
    with VideoWriter(out, 10, codec="mpeg4") as writer:
        for _ in range(5):
            writer.write(image)
    summary = stream_summary(out)
    assert summary["video_codec"] == "mpeg4" and summary["frames"] == 5
    assert (summary["width"], summary["height"]) == (64, 48)
    decoded = next(iter(MediaReader(out))).rgb
    assert np.abs(decoded[:47, :63].astype(int) - image).mean() < 12


def test_failure_leaves_no_partial_file(tmp_path):
    out = tmp_path / "result.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 25) as writer:
            for i in range(5):
                writer.write(frame_image(i))
            raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []

    # A previous result survives a failed rewrite untouched.
    out.write_bytes(b"previous result")
    writer = VideoWriter(out, 25)
    writer.write(frame_image(0))
    with pytest.raises(VideoOutputError, match="frame size changed"):
        writer.write(np.zeros((HEIGHT + 2, WIDTH, 3), np.uint8))
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.mp4"]


def test_nothing_written_or_bad_timestamps_are_errors(tmp_path):
    writer = VideoWriter(tmp_path / "empty.mp4", 25)
    with pytest.raises(VideoOutputError, match="no frames"):
        writer.close()
    writer = VideoWriter(tmp_path / "backwards.mp4", 25)
    writer.write(frame_image(0), 0.5)
    with pytest.raises(VideoOutputError, match="timestamps must increase"):
        writer.write(frame_image(1), 0.5)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destinations_fail_up_front(tmp_path):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_dir.mp4").mkdir()
    cases = {
        tmp_path / "missing" / "out.mp4": "does not exist",
        tmp_path / "a_file" / "out.mp4": "does not exist",
        tmp_path / "a_dir.mp4": "is a directory",
        tmp_path / "out.xyz": "unsupported output extension",
    }
    for path, message in cases.items():
        with pytest.raises(VideoOutputError, match=message):
            VideoWriter(path, 25)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir.mp4", "a_file"]


def _probe(path) -> dict:
    """What a player sees, read by FFmpeg itself (not by MediaReader)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        declared = stream.frames
        decoded = sum(1 for _ in container.decode(stream))
        return {"decoded": decoded, "declared": declared, "rate": stream.average_rate,
                "duration_s": container.duration / av.time_base}


@pytest.mark.parametrize("suffix", sorted(CONTAINER_BY_SUFFIX))
@pytest.mark.parametrize(("frames", "fps"), [(1, Fraction(25)), (5, Fraction(30000, 1001))])
def test_every_offered_container_round_trips_frames_rate_and_duration(tmp_path, suffix, frames,
                                                                        fps):
    # An AVI of one input frame came out as "600 fps" with 24 declared (mostly empty) frames.
    out = tmp_path / f"out{suffix}"
    with VideoWriter(out, fps) as writer:
        for i in range(frames):
            writer.write(frame_image(i), float(i / fps))
    probed = _probe(out)
    assert probed["decoded"] == frames
    assert probed["declared"] in (0, frames)  # 0: the container does not declare a count
    assert probed["rate"] == fps
    assert probed["duration_s"] == pytest.approx(frames / fps, abs=0.002)


def test_unsupported_suffix_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(VideoOutputError, match=r"unsupported output extension '\.gif'.*\.mp4"):
        check_video_output_path(tmp_path / "out.gif")
    assert not list(tmp_path.iterdir())
