"""Per-track motion for export: absolute hands, one shape, kept pelvis, y-up, time grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aios_core.body import SmplxModel
from aios_core.export.motion import ExportError, build_motion
from aios_core.export.rest_shape import RestShape
from tests.export_synthetic import FPS, flat_hand_smplx, make_results, smplx_posed

CAMERA_TO_Y_UP = np.diag([1.0, -1.0, -1.0])


@pytest.fixture(scope="module")
def body(smplx_model_dir) -> SmplxModel:
    return SmplxModel(smplx_model_dir)


@pytest.fixture(scope="module")
def shape(body) -> RestShape:
    return RestShape(body)


@pytest.fixture(scope="module")
def flat_model(smplx_model_dir):
    return flat_hand_smplx(smplx_model_dir)


def _track_rows(results, track_id: int) -> dict[str, np.ndarray]:
    rows = results.select(results.detections["track_id"] == track_id).detections
    order = np.argsort(rows["frame_index"], kind="stable")
    return {key: value[order] for key, value in rows.items()}


@torch.no_grad()
def _aios_model(body, rows, betas=None):
    """Joints/vertices as aios run's model sees the rows (relative hands), camera frame."""
    count = len(rows["frame_index"])
    betas = rows["betas"] if betas is None else np.broadcast_to(betas, (count, 10))
    fields = ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose")
    out = body(*(torch.as_tensor(rows[k], dtype=torch.float32) for k in fields),
               betas=torch.as_tensor(np.ascontiguousarray(betas), dtype=torch.float32),
               expression=torch.as_tensor(rows["expression"]))
    transl = rows["transl_m"][:, None].astype(np.float64)
    return out.joints[:, :55].double().numpy() + transl, out.vertices.double().numpy() + transl


def test_exported_hand_poses_are_absolute(body, shape, flat_model):
    results = make_results()
    track = build_motion(results, shape, [0], coordinate_frame="camera").tracks[0]
    rows = _track_rows(results, 0)
    np.testing.assert_allclose(track.poses[:, 25:40],
                               rows["left_hand_pose"] + body.layer.left_hand_mean.reshape(15, 3)
                               .numpy(), atol=1e-6)
    # A flat-hand-mean SMPL-X fed the export reproduces the network's relative-hand mesh.
    joints, vertices = smplx_posed(flat_model, track.poses, track.trans_m, track.betas,
                                   track.expression)
    ref_joints, ref_vertices = _aios_model(body, rows, betas=track.betas)
    shift = (track.trans_m - rows["transl_m"])[:, None]
    np.testing.assert_allclose(joints, ref_joints + shift, atol=1e-5)
    np.testing.assert_allclose(vertices, ref_vertices + shift, atol=1e-5)


def test_pelvis_stays_where_each_frame_put_it(body, shape, flat_model):
    results = make_results()
    rows = _track_rows(results, 0)
    detected_pelvis = _aios_model(body, rows)[0][:, 0]  # per-frame betas
    for frame_name, turn in (("camera", np.eye(3)), ("y_up", CAMERA_TO_Y_UP)):
        track = build_motion(results, shape, [0], coordinate_frame=frame_name).tracks[0]
        joints, _ = smplx_posed(flat_model, track.poses, track.trans_m, track.betas,
                                track.expression)
        np.testing.assert_allclose(joints[:, 0], detected_pelvis @ turn.T, atol=1e-5)


def test_y_up_is_the_camera_frame_turned_about_x(shape, flat_model):
    results = make_results()
    camera = build_motion(results, shape, coordinate_frame="camera")
    y_up = build_motion(results, shape)
    for cam_track, up_track in zip(camera.tracks, y_up.tracks, strict=True):
        cam = smplx_posed(flat_model, cam_track.poses, cam_track.trans_m, cam_track.betas,
                          cam_track.expression)
        up = smplx_posed(flat_model, up_track.poses, up_track.trans_m, up_track.betas,
                         up_track.expression)
        for cam_points, up_points in zip(cam, up, strict=True):
            np.testing.assert_allclose(up_points, cam_points @ CAMERA_TO_Y_UP.T, atol=1e-5)


def test_betas_are_the_median_over_the_track(shape):
    results = make_results()
    motion = build_motion(results, shape)
    for track in motion.tracks:
        rows = _track_rows(results, track.track_id)
        np.testing.assert_allclose(track.betas, np.median(rows["betas"], axis=0), atol=1e-6)


def _quaternion_wxyz(rotvec: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    axis = rotvec / np.maximum(angle, 1e-12)
    return np.concatenate([np.cos(angle / 2), np.sin(angle / 2) * axis], axis=-1)


def test_a_missed_frame_is_filled_halfway(shape):
    results = make_results()
    track = build_motion(results, shape, [7]).tracks[0]
    np.testing.assert_array_equal(track.frame_index, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(track.interpolated, [False, False, True, False, False])
    assert np.isnan(track.score[2]) and not np.isnan(track.score[[0, 1, 3, 4]]).any()
    np.testing.assert_allclose(track.timestamp_s, np.arange(1, 6) / FPS)
    np.testing.assert_allclose(track.expression[2], track.expression[[1, 3]].mean(0), atol=1e-12)
    # Half-way slerp: the normalised sum of the two (same-hemisphere) quaternions.
    before, after = _quaternion_wxyz(track.poses[1]), _quaternion_wxyz(track.poses[3])
    after *= np.sign(np.sum(before * after, axis=-1, keepdims=True))
    expected = (before + after) / np.linalg.norm(before + after, axis=-1, keepdims=True)
    got = _quaternion_wxyz(track.poses[2])
    np.testing.assert_allclose(np.abs(np.sum(got * expected, axis=-1)), 1.0, atol=1e-9)


def test_fps_resamples_on_a_shared_time_grid(shape):
    results = make_results()
    native = build_motion(results, shape)
    doubled = build_motion(results, shape, fps=2 * FPS)
    assert doubled.fps == 2 * FPS
    track, base = doubled.tracks[0], native.tracks[0]
    np.testing.assert_array_equal(track.frame_index, np.arange(11))
    np.testing.assert_allclose(track.timestamp_s, np.arange(11) / (2 * FPS))
    np.testing.assert_array_equal(track.interpolated, np.arange(11) % 2 == 1)
    np.testing.assert_allclose(track.poses[::2], base.poses, atol=1e-12)
    np.testing.assert_allclose(track.trans_m[::2], base.trans_m, atol=1e-12)
    np.testing.assert_allclose(track.trans_m[1::2], (base.trans_m[:-1] + base.trans_m[1:]) / 2,
                               atol=1e-9)  # pelvis and expression are linear, so is trans
    np.testing.assert_array_equal(doubled.tracks[1].frame_index, np.arange(2, 11))


def test_tracks_are_filtered_and_unknown_ones_named(shape):
    results = make_results()
    assert [t.track_id for t in build_motion(results, shape, [7]).tracks] == [7]
    assert [t.track_id for t in build_motion(results, shape).tracks] == [0, 7]
    with pytest.raises(ExportError, match=r"track\(s\) 3 not in the results; available: 0, 7"):
        build_motion(results, shape, [3, 7])
    empty = results.select(np.zeros(results.num_detections, dtype=bool))
    with pytest.raises(ExportError, match="no detected person"):
        build_motion(empty, shape)


def test_two_rows_in_one_frame_keep_the_best_scored(shape):
    results = make_results()
    row = np.flatnonzero((results.detections["track_id"] == 0)
                         & (results.detections["frame_index"] == 2))[0]
    duplicate = results.select(np.ones(results.num_detections, dtype=bool))
    for key, value in duplicate.detections.items():
        extra = value[row:row + 1].copy()
        if key == "score":
            extra[:] = 0.01
        if key == "body_pose":
            extra[:] += 1.0
        duplicate.detections[key] = np.concatenate([value, extra])
    kept = build_motion(duplicate, shape, [0]).tracks[0]
    expected = build_motion(results, shape, [0]).tracks[0]
    np.testing.assert_allclose(kept.poses, expected.poses)
