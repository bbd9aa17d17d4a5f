"""A camera that walks: its path, focal length and metric scale against synthetic truth."""

import numpy as np
import pytest

from aios_core.results.results_file import load_results, save_results
from aios_core.world.body_points import SkeletonPoints
from aios_core.world.camera_trajectory import TrajectoryFailed, estimate_trajectory
from aios_core.world.errors import WorldInputError
from aios_core.world.feature_tracks import FeatureTracks
from aios_core.world.focal_from_people import up_through, vertical_vanishing_point
from aios_core.world.stage import WorldOptions, add_world_frame
from tests.synthetic_scene import camera_path, make_scene_world, render_scene
from tests.synthetic_world import ObservationNoise, load_world_body_model, observe
from tests.trajectory_metrics import scene_scores, similarity_alignment


def _angle_deg(rotations: np.ndarray) -> np.ndarray:
    cos = (np.trace(rotations, axis1=-2, axis2=-1) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _exact_tracks(camera, frames: int, pixel_sigma: float, seed: int = 0) -> FeatureTracks:
    """Floor and back-wall points of the room projected through ``camera``, with pixel noise."""
    rng = np.random.default_rng(seed)
    floor = np.c_[rng.uniform(-8, 8, 600), np.zeros(600), rng.uniform(-4, 14, 600)]
    wall = np.c_[rng.uniform(-8, 8, 300), rng.uniform(0, 4, 300), np.full(300, 14.0)]
    points = np.concatenate([floor, wall])
    ids, pixels = [], []
    width, height = camera.image_size_wh
    for k in range(frames):
        cam = camera.to_camera(points, k)
        px = camera.project(cam)
        seen = ((cam[:, 2] > 0.1) & (px[:, 0] > 0) & (px[:, 0] < width) & (px[:, 1] > 0)
                & (px[:, 1] < height))
        ids.append(np.flatnonzero(seen))
        pixels.append(px[seen] + rng.normal(0, pixel_sigma, (seen.sum(), 2)))
    return FeatureTracks(ids, pixels, [tuple(camera.image_size_wh)] * frames)


@pytest.mark.parametrize(("path", "fov_deg"), [("orbit", 70.0), ("handheld", 45.0)])
def test_path_and_focal_from_tracks_match_the_truth(path, fov_deg):
    camera = camera_path(path, 60, 10.0, fov_deg)
    tracks = _exact_tracks(camera, 60, pixel_sigma=0.3)
    found = estimate_trajectory(tracks, camera.principal_point_px, None)
    assert abs(found.focal_px / camera.focal_px - 1) < 0.03
    assert 0 < found.focal_sigma < 0.03
    true_relative = np.einsum("ji,fjk->fik", camera.camera_to_scene_R[0],
                              camera.camera_to_scene_R)
    error = np.einsum("fji,fjk->fik", found.camera_to_ref_R, true_relative)
    assert _angle_deg(error).max() < 0.3
    true_centre = (camera.position_m - camera.position_m[0]) @ camera.camera_to_scene_R[0]
    rotation, shift, scale = similarity_alignment(found.camera_centre, true_centre)
    aligned = scale * found.camera_centre @ rotation.T + shift
    travel = np.linalg.norm(true_centre, axis=1).max()
    assert np.linalg.norm(aligned - true_centre, axis=1).max() < 0.02 * travel


def test_a_given_focal_is_kept_and_too_few_points_fail_plainly():
    camera = camera_path("dolly", 30, 10.0, 60.0)
    tracks = _exact_tracks(camera, 30, pixel_sigma=0.2)
    found = estimate_trajectory(tracks, camera.principal_point_px, camera.focal_px)
    assert found.focal_px == camera.focal_px and found.focal_sigma == 0.0
    sparse = FeatureTracks([ids[:10] for ids in tracks.ids],
                           [px[:10] for px in tracks.points_px], tracks.image_size_wh)
    with pytest.raises(TrajectoryFailed, match="parallax"):
        estimate_trajectory(sparse, camera.principal_point_px, None)


@pytest.fixture(scope="module")
def handheld(world_smplx_dir):
    model = load_world_body_model(world_smplx_dir)
    world = make_scene_world(model, "handheld", frames=50, fps=10.0, num_people=3, fov_deg=70.0)
    observation = observe(world, ObservationNoise(seed=0))
    return model, world, observation, render_scene(world, model)


def test_walking_camera_gives_focal_scale_gravity_and_world_roots(handheld, tmp_path):
    model, world, observation, frames = handheld
    grounded, report = add_world_frame(observation.results, SkeletonPoints(model),
                                       WorldOptions(), list(frames))
    assert report.camera_mode == "moving" and report.camera_note.startswith("auto chose moving")
    block = grounded.world
    assert block.camera_mode == "moving" and block.focal_source == "camera_motion"
    assert 0 < block.focal_uncertainty < 0.05
    scores = scene_scores(world, observation, grounded)
    assert abs(scores["focal_pct"]) < 5.0
    assert scores["scale_pct"] < 5.0
    assert scores["gravity_deg"] < 2.0
    assert scores["ate_yaw_cm"] < 10.0
    assert scores["root_cm"] < 40.0
    # The camera really walks in the written world, and the file keeps the focal's record.
    assert np.linalg.norm(block.camera_position_m[-1] - block.camera_position_m[0]) > 1.0
    path = save_results(grounded, tmp_path / "moving.npz")
    loaded = load_results(path).world
    assert loaded.camera_mode == "moving" and loaded.focal_source == "camera_motion"
    assert loaded.focal_px == pytest.approx(block.focal_px)
    assert loaded.focal_uncertainty == pytest.approx(block.focal_uncertainty)
    np.testing.assert_allclose(loaded.camera_position_m, block.camera_position_m)


def test_moving_needs_frames_and_auto_without_them_says_so(handheld):
    model, _, observation, _ = handheld
    with pytest.raises(WorldInputError, match="--input VIDEO"):
        add_world_frame(observation.results, SkeletonPoints(model), WorldOptions(camera="moving"))
    _, report = add_world_frame(observation.results, SkeletonPoints(model), WorldOptions())
    assert report.camera_mode == "static"
    assert any("--input VIDEO" in warning for warning in report.warnings)


def test_head_to_foot_lines_meet_where_the_camera_sees_up():
    camera = camera_path("static", 1, 10.0, 60.0)
    rng = np.random.default_rng(0)
    feet = np.c_[rng.uniform(-3, 3, 40), np.zeros(40), rng.uniform(3, 9, 40)]
    heads = feet + [0.0, 1.7, 0.0]
    project = lambda points: camera.project(camera.to_camera(points, 0))  # noqa: E731
    vanishing = vertical_vanishing_point(project(heads), project(feet))
    up_cam = camera.camera_to_scene_R[0].T @ np.array([0.0, 1.0, 0.0])
    found = up_through(vanishing, camera.focal_px, camera.principal_point_px, up_cam)
    np.testing.assert_allclose(found, up_cam, atol=1e-6)
    assert vertical_vanishing_point(project(heads[:5]), project(feet[:5])) is None
