from fractions import Fraction

import cv2
import numpy as np
import pytest
from synthetic_media import HEIGHT, WIDTH, frame_image, write_video

from aios_core.video import MediaReader, VideoInputError
from aios_core.video.images import natural_sort_key


def _brightness(rgb: np.ndarray) -> float:
    """Mean of the area away from the red marker (lossy codecs blur the edges)."""
    h, w = rgb.shape[:2]
    return float(rgb[h // 2 :, w // 2 :].mean())


def _corner_colours(rgb: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "tl": rgb[:4, :4].reshape(-1, 3).mean(0),
        "tr": rgb[:4, -4:].reshape(-1, 3).mean(0),
        "bl": rgb[-4:, :4].reshape(-1, 3).mean(0),
        "br": rgb[-4:, -4:].reshape(-1, 3).mean(0),
    }


def _is_red(colour: np.ndarray) -> bool:
    return colour[0] > 200 and colour[1] < 60 and colour[2] < 60


def test_constant_rate_video_frames_timestamps_and_metadata(tmp_path):
    path = write_video(tmp_path / "cfr.mp4", n_frames=12, fps=25)
    reader = MediaReader(path)
    info = reader.info
    assert info.kind == "video"
    assert info.fps == Fraction(25)
    assert info.frame_count == 12
    assert (info.width, info.height, info.rotation_deg) == (WIDTH, HEIGHT, 0)
    assert info.has_audio is False
    frames = list(reader)
    assert [f.index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.timestamp_s for f in frames], np.arange(12) / 25, atol=1e-9)
    for f in frames:
        assert f.rgb.shape == (HEIGHT, WIDTH, 3) and f.rgb.dtype == np.uint8
        assert abs(_brightness(f.rgb) - _brightness(frame_image(f.index))) < 4
        assert _is_red(_corner_colours(f.rgb)["tl"])
    assert reader.decode_error is None
    # A second pass re-opens the file and gives the same frames.
    assert [f.index for f in reader] == list(range(12))


def test_rational_frame_rate_is_kept_exact(tmp_path):
    path = write_video(tmp_path / "ntsc.mkv", n_frames=6, fps=Fraction(30000, 1001))
    assert MediaReader(path).info.fps == Fraction(30000, 1001)


@pytest.mark.parametrize("ccw, red_corner", [(90, "bl"), (180, "br"), (270, "tr")])
def test_rotation_metadata_makes_frames_upright(tmp_path, ccw, red_corner):
    path = write_video(tmp_path / f"rot{ccw}.mp4", n_frames=3, rotation_ccw=ccw)
    reader = MediaReader(path)
    swapped = ccw in (90, 270)
    expected_hw = (WIDTH, HEIGHT) if swapped else (HEIGHT, WIDTH)
    assert reader.info.rotation_deg == ccw
    assert (reader.info.height, reader.info.width) == expected_hw
    rgb = next(iter(reader)).rgb
    assert rgb.shape[:2] == expected_hw
    corners = _corner_colours(rgb)
    assert [name for name, colour in corners.items() if _is_red(colour)] == [red_corner]
    # OpenCV's own FFmpeg build auto-rotates independently: the pictures must agree.
    capture = cv2.VideoCapture(str(path))
    ok, bgr = capture.read()
    capture.release()
    assert ok and bgr.shape[:2] == expected_hw
    assert np.abs(bgr[:, :, ::-1].astype(int) - rgb).mean() < 3


def test_variable_frame_rate_uses_presentation_timestamps(tmp_path):
    pts_ms = [0, 33, 50, 120, 130, 200, 400]
    path = write_video(tmp_path / "vfr.mp4", n_frames=len(pts_ms), pts_ms=pts_ms)
    timestamps = [f.timestamp_s for f in MediaReader(path)]
    np.testing.assert_allclose(timestamps, np.array(pts_ms) / 1000, atol=1e-6)


@pytest.mark.parametrize(
    "codec, pix_fmt", [("libx264", "yuv444p"), ("ffv1", "gray"), ("ffv1", "yuv420p10le")]
)
def test_any_pixel_format_decodes_to_rgb24(tmp_path, codec, pix_fmt):
    path = write_video(tmp_path / f"{pix_fmt}.mkv", n_frames=4, codec=codec, pix_fmt=pix_fmt)
    frames = list(MediaReader(path))
    assert len(frames) == 4
    for f in frames:
        assert f.rgb.dtype == np.uint8 and f.rgb.shape == (HEIGHT, WIDTH, 3)
        source = frame_image(f.index)
        if pix_fmt == "gray":  # luma only: the three channels are equal
            assert np.array_equal(f.rgb[..., 0], f.rgb[..., 2])
        else:
            assert _is_red(_corner_colours(f.rgb)["tl"])
        assert abs(_brightness(f.rgb) - _brightness(source)) < 4


def test_image_folder_is_read_in_natural_order(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    numbers = [10, 2, 1, 3, 21]
    for n in numbers:
        # Grey level n*10 identifies the file; cv2 writes BGR, equal channels avoid ambiguity.
        cv2.imwrite(str(folder / f"img{n}.png"), np.full((HEIGHT, WIDTH, 3), n * 10, np.uint8))
    (folder / "notes.txt").write_text("not an image")
    cv2.imwrite(str(folder / ".hidden.png"), np.zeros((4, 4, 3), np.uint8))
    reader = MediaReader(folder, image_fps=10)
    assert reader.info.kind == "image_folder" and reader.info.frame_count == 5
    frames = list(reader)
    assert [int(f.rgb[0, 0, 0]) // 10 for f in frames] == sorted(numbers)
    np.testing.assert_allclose([f.timestamp_s for f in frames], np.arange(5) / 10)


def test_natural_sort_key_orders_digit_runs_numerically(tmp_path):
    names = ["b1.png", "a10.png", "a2.png", "a1_10.png", "a1_9.png"]
    ordered = sorted((tmp_path / n for n in names), key=natural_sort_key)
    assert [p.name for p in ordered] == ["a1_9.png", "a1_10.png", "a2.png", "a10.png", "b1.png"]


def test_single_image_is_rgb(tmp_path):
    path = tmp_path / "red.jpg"
    bgr = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    bgr[..., 2] = 255  # red in OpenCV's channel order
    cv2.imwrite(str(path), bgr)
    reader = MediaReader(path)
    assert reader.info.kind == "image" and reader.info.frame_count == 1
    (frame,) = list(reader)
    assert _is_red(frame.rgb.reshape(-1, 3).mean(0))


def test_frame_range_and_max_frames(tmp_path):
    path = write_video(tmp_path / "range.mkv", n_frames=10)
    reader = MediaReader(path, start_frame=3, max_frames=4)
    assert reader.expected_frames == 4
    frames = list(reader)
    assert [f.index for f in frames] == [3, 4, 5, 6]
    np.testing.assert_allclose([f.timestamp_s for f in frames], np.arange(3, 7) / 25, atol=1e-9)
    assert abs(_brightness(frames[0].rgb) - _brightness(frame_image(3))) < 4
    assert [f.index for f in MediaReader(path, end_frame=3)] == [0, 1, 2]
    assert [f.index for f in MediaReader(path, start_frame=8, end_frame=50)] == [8, 9]
    with pytest.raises(ValueError):
        MediaReader(path, start_frame=5, end_frame=5)


def _audio_only_mkv(path):
    """A Matroska file declaring a video stream that never receives a frame."""
    import av

    container = av.open(str(path), mode="w")
    video = container.add_stream("libx264", rate=25)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    audio = container.add_stream("aac", rate=16000)
    audio.layout = "mono"
    container.start_encoding()
    samples = np.zeros((1, audio.codec_context.frame_size), np.float32)
    for k in range(4):
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, k * samples.shape[1]
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode(None):
        container.mux(packet)
    container.close()
    return path


@pytest.mark.parametrize("case", ["missing", "text", "empty", "no_frames", "empty_folder"])
def test_unusable_inputs_raise_one_line_video_input_error(tmp_path, case):
    if case == "missing":
        path, expected = tmp_path / "nope.mp4", "not found"
    elif case == "text":
        path, expected = tmp_path / "notes.mp4", "is not a video FFmpeg can read"
        path.write_text("these are not the frames you are looking for\n" * 20)
    elif case == "empty":
        path, expected = tmp_path / "empty.mp4", "is empty (0 bytes)"
        path.write_bytes(b"")
    elif case == "no_frames":
        path, expected = _audio_only_mkv(tmp_path / "silent.mkv"), "no frames"
    else:
        path, expected = tmp_path / "folder", "no image files"
        path.mkdir()
    with pytest.raises(VideoInputError) as excinfo:
        MediaReader(path)
    message = str(excinfo.value)
    assert expected in message and "\n" not in message
    assert path.name in message
    assert "Errno" not in message  # PyAV's error codes are translated, not passed on


@pytest.mark.parametrize(
    "name, options",
    [("cut.mkv", None), ("cut.mp4", {"movflags": "faststart"})],
)
def test_truncated_video_yields_leading_frames_and_records_error(tmp_path, name, options):
    full = write_video(tmp_path / f"full_{name}", n_frames=30, options=options)
    data = full.read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: len(data) // 2])
    reader = MediaReader(cut)
    frames = list(reader)  # must not raise
    assert 0 < len(frames) < 30
    assert [f.index for f in frames] == list(range(len(frames)))
    for f in frames:
        assert abs(_brightness(f.rgb) - _brightness(frame_image(f.index))) < 4
    assert reader.decode_error is not None and "\n" not in reader.decode_error
    # The intact file reads completely and cleanly.
    intact = MediaReader(full)
    assert len(list(intact)) == 30 and intact.decode_error is None
