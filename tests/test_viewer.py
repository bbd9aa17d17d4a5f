"""`aios view` without a browser: timeline, chunked meshes, display frames, video access, the
command's bad-input lines and the busy port. The browser test is test_viewer_browser.py."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.meshes import MeshMaker
from aios_core.results.results_file import save_results
from aios_core.results.world_frame import WorldFrame
from aios_core.viewer.display_frame import DisplayFrame, Intrinsics, boxes_cam, keypoints_cam
from aios_core.viewer.mesh_cache import ChunkedMeshes
from aios_core.viewer.timeline import Timeline
from aios_core.viewer.video_frames import VideoFrames
from tests.fake_predictor import CrossingPeople
from tests.synthetic_media import frame_image, write_video
from tests.viewer_results import walking_people

PATHS_M = {3: ((-1.0, -0.5, 5.0), (0.0, -0.5, 5.0)), 8: ((1.0, -0.5, 4.0), (1.0, -0.5, 6.0))}


@pytest.fixture(scope="module")
def meshes(smplx_model_dir):
    return MeshMaker(EmbeddedSMPLX.from_model_folder(smplx_model_dir))


def _with_gap(results):
    """Track 8 missing from frames 2..4 and frame 5 without anybody."""
    frame, track = results.detections["frame_index"], results.detections["track_id"]
    keep = ~(((frame >= 2) & (frame <= 4) & (track == 8)) | (frame == 5))
    return results.select(keep)


def test_timeline_rows_and_track_spans():
    results = _with_gap(walking_people(10, PATHS_M))
    timeline = Timeline(results)
    assert timeline.num_frames == 10
    assert list(timeline.frame_indices) == list(range(10))
    for position in range(10):
        rows = timeline.rows(position)
        assert set(results.detections["frame_index"][rows]) <= {position}
        expected = 0 if position == 5 else (1 if 2 <= position <= 4 else 2)
        assert len(rows) == expected
    spans = {span.track_id: span for span in timeline.tracks}
    assert (spans[3].first_frame, spans[3].last_frame, spans[3].num_frames) == (0, 9, 9)
    assert (spans[8].first_frame, spans[8].last_frame, spans[8].num_frames) == (0, 9, 6)
    # Frame 5 has no detection: its time is interpolated at the clip's rate.
    assert timeline.timestamps_s[5] == pytest.approx(5 / results.fps)


def test_schema_two_frame_list_is_the_timeline():
    results = walking_people(4, PATHS_M)
    results.frame_index_per_frame = np.array([0, 1, 2, 3, 4, 5])  # frames 4, 5: nobody
    timeline = Timeline(results)
    assert timeline.num_frames == 6 and len(timeline.rows(5)) == 0


def test_chunks_pose_what_the_body_model_poses_and_stay_within_budget(meshes):
    results = _with_gap(walking_people(12, PATHS_M))
    timeline = Timeline(results)
    one_chunk_mb = 3 * 2 * meshes.faces.max() * 3 * 4 / 2**20  # 3 frames x 2 people
    chunked = ChunkedMeshes(results, timeline, meshes, chunk_frames=3,
                            max_cached_mb=2.5 * one_chunk_mb)
    try:
        for position in (7, 0, 11, 3, 5):
            people = chunked.frame(position)
            rows = timeline.rows(position)
            assert list(people.rows) == list(rows)
            if len(rows):
                direct = meshes.vertices({k: v[rows] for k, v in results.detections.items()})
                np.testing.assert_allclose(people.vertices_m, direct, atol=1e-5)
            else:
                assert people.vertices_m.shape[0] == 0
            assert list(people.track_ids) == list(results.detections["track_id"][rows])
            assert chunked.cached_bytes <= 2.5 * one_chunk_mb * 2**20
    finally:
        chunked.close()


def _World(camera_to_world_R, camera_position_m, transl_m) -> WorldFrame:
    """A world block with these camera poses and world translations (static camera)."""
    return WorldFrame(camera_to_world_R=camera_to_world_R, camera_position_m=camera_position_m,
                      global_orient=np.zeros_like(transl_m), transl_m=transl_m,
                      camera_mode="static", focal_source="assumed")


def test_world_frame_moves_camera_points_and_camera_frame_keeps_them():
    results = walking_people(3, PATHS_M)
    camera = DisplayFrame.of(results, 3)
    assert (camera.name, camera.up_direction, camera.has_floor) == ("camera", "-y", False)
    points = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(camera.to_display(1, points), points)
    # A camera 1.6 m above the floor, turned 180 degrees about x (looking along world -z).
    flip = np.diag([1.0, -1.0, -1.0])
    results.world = _World(np.repeat(flip[None], 3, axis=0).astype(np.float32),
                           np.tile([0.0, 1.6, 0.0], (3, 1)).astype(np.float32),
                           np.zeros((6, 3), np.float32))
    world = DisplayFrame.of(results, 3)
    assert (world.name, world.up_direction, world.has_floor) == ("world", "+y", True)
    np.testing.assert_allclose(world.to_display(2, points), [[1.0, -0.4, -3.0]], atol=1e-6)
    np.testing.assert_allclose(world.camera_wxyz(0), [0.0, 1.0, 0.0, 0.0], atol=1e-6)


def test_keypoints_and_boxes_lie_on_their_pixels_at_the_person_depth():
    results = walking_people(2, PATHS_M)
    intrinsics = Intrinsics.of(results, 2)
    rows = np.array([0, 1])
    points = keypoints_cam(results, rows, intrinsics, 0)  # (2, 35, 3)
    assert points.shape == (2, 35, 3)
    fx, fy = results.focal_px
    cx, cy = results.principal_point_px
    reprojected = points[..., :2] / points[..., 2:] * [fx, fy] + [cx, cy]
    np.testing.assert_allclose(reprojected[:, :17], results.detections["body_keypoints_px"][rows],
                               atol=1e-3)
    np.testing.assert_allclose(points[..., 2], results.detections["transl_m"][rows, 2:3]
                               .repeat(35, axis=1), atol=1e-6)
    edges = boxes_cam(results, rows, intrinsics, 0)  # (2, 16, 2, 3)
    assert edges.shape == (2, 16, 2, 3)
    x0, y0, x1, y1 = results.detections["body_box_xyxy_px"][0]
    corners_px = edges[0, :4, 0, :2] / edges[0, :4, 0, 2:] * [fx, fy] + [cx, cy]
    np.testing.assert_allclose(corners_px, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], atol=1e-3)


def test_video_frames_seek_anywhere_in_any_order(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", 60, fps=25, options={"g": "10"})
    frames = VideoFrames(clip)
    try:
        for index in (0, 41, 42, 7, 59, 8):
            rgb = frames.frame(index, index / 25)
            # frame_image(i) encodes i in its mean grey level (top-left red corner aside).
            expected = frame_image(index)[-10:, -10:].astype(float).mean()
            assert abs(rgb[-10:, -10:].astype(float).mean() - expected) < 3, index
        assert frames.frame(200, 8.0) is None
    finally:
        frames.close()


def test_image_folder_frames_by_index(tmp_path):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), frame_image(i)[:, :, ::-1])
    frames = VideoFrames(tmp_path)
    np.testing.assert_array_equal(frames.frame(2, 0.0), frame_image(2))
    assert frames.frame(3, 0.0) is None


def _view(*args):
    result = CliRunner().invoke(cli, ["view", *map(str, args)])
    return result.exit_code, result.output.strip()


def test_not_a_results_file_is_one_line(tmp_path, smplx_model_dir):
    notes = tmp_path / "notes.npz"
    notes.write_text("not a results file")
    code, output = _view(notes, "--smplx-dir", smplx_model_dir)
    assert code == 2 and len(output.splitlines()) == 1
    assert output.startswith("aios view: ") and "is not an aios results file" in output


def test_missing_smplx_model_is_one_line(tmp_path):
    results_path = save_results(walking_people(2, PATHS_M), tmp_path / "r.npz")
    code, output = _view(results_path, "--smplx-dir", tmp_path / "nowhere")
    assert code == 2 and len(output.splitlines()) == 1
    assert output.startswith("aios view: SMPL-X model not found") and "--smplx-dir" in output


def test_unreadable_video_is_one_line(tmp_path, smplx_model_dir):
    results_path = save_results(walking_people(2, PATHS_M), tmp_path / "r.npz")
    code, output = _view(results_path, "--smplx-dir", smplx_model_dir,
                         "--video", tmp_path / "absent.mp4", "--port", _free_port())
    assert code == 2 and len(output.splitlines()) == 1
    assert output == f"aios view: input not found: {tmp_path / 'absent.mp4'}"


def test_busy_port_moves_to_the_next_free_one_and_says_so(tmp_path, meshes, capfd):
    from aios_core.viewer.server import RunningViewer, ViewerOptions

    results_path = save_results(walking_people(2, PATHS_M), tmp_path / "r.npz")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        said = []
        viewer = RunningViewer(ViewerOptions(results_path, port=busy), meshes)
        try:
            assert viewer.port != busy
            assert viewer.url == f"http://127.0.0.1:{viewer.port}"
            viewer.announce(said.append)
        finally:
            viewer.close()
    assert said[0] == f"port {busy} is busy; using port {viewer.port}"
    assert said[1].startswith(f"viewer at http://127.0.0.1:{viewer.port}")
    # aios says where the viewer is, once: viser's own banner is not printed beside it.
    assert "viser" not in capfd.readouterr().out


def test_run_view_opens_the_viewer_on_the_run_results(tmp_path, meshes, monkeypatch):
    import aios_core.inference.predictor as model_predictor
    import aios_core.viewer.server as viewer

    clip = write_video(tmp_path / "clip.mp4", 3, fps=25)
    opened = []
    monkeypatch.setattr(model_predictor, "load_network", lambda *args: (None, meshes))
    monkeypatch.setattr(model_predictor, "NetworkPredictor",
                        lambda *args: CrossingPeople(64, 48, 3))
    monkeypatch.setattr(viewer, "serve_viewer", lambda options, used, say: opened.append(
        (options, used)))
    result = CliRunner().invoke(cli, ["run", str(clip), "--out", str(tmp_path / "r.npz"),
                                      "--quiet", "--view"])
    assert result.exit_code == 0, result.output
    options, used = opened[0]
    assert options.results_path == tmp_path / "r.npz" and options.video_path == clip
    assert used is meshes and (options.host, options.port) == ("127.0.0.1", 8080)
    assert Path(options.results_path).is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_world_results_draw_in_the_world_with_a_floor_and_play(tmp_path, meshes):
    from aios_core.viewer.server import RunningViewer, ViewerOptions

    results = walking_people(6, PATHS_M)
    turned = np.diag([1.0, -1.0, -1.0])  # camera frame -> world: y up, looking along -z
    results.world = _World(np.repeat(turned[None], 6, axis=0),
                           np.tile([0.0, 1.6, 0.0], (6, 1)), np.zeros((12, 3)))
    results_path = save_results(results, tmp_path / "r.npz")
    viewer = RunningViewer(ViewerOptions(results_path, port=_free_port()), meshes,
                           results=results)
    scene = viewer.scene
    try:
        scene.show_keypoints.value = True
        scene.show_boxes.value = True
        scene.slider.value = 4
        _wait_for(lambda: "frame **4**" in scene.info.content and "boxes" in scene._overlays,
                  "frame 4 to be drawn")
        assert "world frame" in scene.info.content
        rows = np.flatnonzero(results.detections["frame_index"] == 4)
        camera = meshes.vertices({k: v[rows] for k, v in results.detections.items()})
        for track_id, vertices in zip(results.detections["track_id"][rows], camera, strict=True):
            drawn = scene._people[(int(track_id), 0)].vertices
            np.testing.assert_allclose(drawn, vertices @ turned.T + [0.0, 1.6, 0.0], atol=1e-5)
        assert "keypoints" in scene._overlays
        scene.show_floor.value = False
        assert not scene.floor.visible
        scene.track_toggles[8].value = False
        _wait_for(lambda: not scene._people[(8, 0)].visible, "track 8 to be hidden")
        assert scene._people[(3, 0)].visible

        scene.speed.value = "4x"
        scene.slider.value = 0
        scene.set_playing(True)
        _wait_for(lambda: scene.slider.value >= 2, "playing to move the timeline")
        scene.set_playing(False)
        assert scene.play_button.label == "Play"
    finally:
        viewer.close()
