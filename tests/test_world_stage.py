"""The world stage on synthetic truth: floor, camera rotation, world roots, fallbacks."""

import math
from dataclasses import replace

import numpy as np
import pytest

from aios_core.world.body_points import SkeletonPoints
from aios_core.world.errors import WorldInputError, WorldOptionError
from aios_core.world.intrinsics import choose_focal
from aios_core.world.stage import WorldOptions, add_world_frame
from tests.synthetic_world import (
    ObservationNoise,
    body_joints,
    load_world_body_model,
    make_world,
    observe,
    render_frames,
    tracked_and_smoothed,
    world_errors,
)


@pytest.fixture(scope="module")
def model(world_smplx_dir):
    return load_world_body_model(world_smplx_dir)


@pytest.fixture(scope="module")
def joints(model):
    return SkeletonPoints(model)


@pytest.fixture(scope="module", params=["static", "rotating"])
def scene(request, model):
    world = make_world(model, frames=90, num_people=3, rotating=request.param == "rotating",
                       seed=1)
    observation = tracked_and_smoothed(observe(world, ObservationNoise(seed=1)))
    return world, observation, render_frames(world, seed=1)


def test_floor_camera_and_roots_match_the_truth_with_the_true_focal(scene, joints):
    world, observation, frames = scene
    options = WorldOptions(focal_px=world.camera.focal_px)
    grounded, report = add_world_frame(observation.results, joints, options, list(frames))
    rotating = world.camera.camera_to_scene_R[-1] is not world.camera.camera_to_scene_R[0] and \
        not np.allclose(world.camera.camera_to_scene_R[-1], world.camera.camera_to_scene_R[0])
    assert report.camera_mode == ("rotating" if rotating else "static")
    assert report.camera_note.startswith(f"auto chose {report.camera_mode}")
    assert grounded.world.camera_mode == report.camera_mode
    assert grounded.world.focal_source == "user" and report.warnings == []
    errors = world_errors(world, observation, grounded)
    assert errors["normal_deg"] < 3.0
    assert errors["floor_cm"] < 10.0
    assert errors["rotation_deg"] < 1.0
    assert errors["root_cm"] < 30.0
    assumed, assumed_report = add_world_frame(observation.results, joints, WorldOptions(),
                                              list(frames))
    if rotating:  # the turning camera gives its focal length: close to the true one
        assert assumed.world.focal_source == "camera_motion"
        assert abs(assumed.world.focal_px / world.camera.focal_px - 1) < 0.05
        assert 0 < assumed.world.focal_uncertainty < 0.05
        assert world_errors(world, observation, assumed)["root_cm"] < 30.0
        return
    # A static camera: the people's vanishing point and floor give the focal length, coarser.
    assert assumed.world.focal_source == "people"
    assert abs(assumed.world.focal_px / world.camera.focal_px - 1) < 0.3
    assert 0 < assumed.world.focal_uncertainty < 0.5
    assert "vanishing point" in assumed_report.focal.describe()
    # Without the people's help the default assumption (a 4x too long focal length) is far
    # worse, and says so.
    one_line = replace(observation.results, detections={
        key: value[:3] for key, value in observation.results.detections.items()})
    _, lone_report = add_world_frame(one_line, joints, WorldOptions(), list(frames))
    assert lone_report.focal.source == "assumed"
    assert any("--fov" in warning for warning in lone_report.warnings)


def test_world_fields_follow_the_stated_conventions(scene, joints):
    world, observation, frames = scene
    grounded, _ = add_world_frame(observation.results, joints,
                                  WorldOptions(focal_px=world.camera.focal_px), list(frames))
    block = grounded.world
    rotations = block.camera_to_world_R.astype(np.float64)
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1),
                               np.tile(np.eye(3), (len(rotations), 1, 1)), atol=1e-5)
    # x along the first camera's right projected on the floor: no y, positive along right.
    camera_right = rotations[0][:, 0]
    assert abs(camera_right[2]) < 1e-5 and camera_right[0] > 0.9
    # Camera above the floor; world bodies pose the same vertices as camera bodies + pose.
    assert block.camera_position_m[0, 1] > 1.0
    rows = np.arange(0, grounded.num_detections, 17)
    cam_rows = {key: value[rows] for key, value in grounded.detections.items()}
    world_rows = {**cam_rows, "global_orient": block.global_orient[rows]}
    # Skeleton and vertex-picked joints (the face contour landmarks depend on the root's turn).
    joints_cam = joints(cam_rows) + cam_rows["transl_m"][:, None]
    joints_world = joints(world_rows) + block.transl_m[rows][:, None]
    frame_rows = np.searchsorted(grounded.frame_index_per_frame, cam_rows["frame_index"])
    expected = np.einsum("dij,dpj->dpi", rotations[frame_rows], joints_cam) + \
        block.camera_position_m[frame_rows][:, None]
    np.testing.assert_allclose(joints_world, expected, atol=2e-4)
    # The origin lies on the floor under a sole point (the first contact's).
    all_world = joints({**grounded.detections, "global_orient": block.global_orient})[:, 60:66] \
        + block.transl_m[:, None]
    assert np.min(np.linalg.norm(all_world[..., [0, 2]], axis=-1)) < 1e-3


def test_no_foot_near_the_floor_falls_back_to_the_camera_frame(model, joints):
    world = make_world(model, frames=40, num_people=2, seed=2)
    observation = observe(world, ObservationNoise(seed=2))
    bobbing = observation.results.detections.copy()
    rng = np.random.default_rng(0)
    bobbing["transl_m"] = bobbing["transl_m"] + rng.uniform(-0.6, 0.6, (len(bobbing["transl_m"]),
                                                                         3)).astype(np.float32)
    floating = replace(observation.results, detections=bobbing)
    grounded, report = add_world_frame(floating, joints, WorldOptions(camera="static"))
    assert grounded.world is None
    assert len(report.warnings) == 2 and report.warnings[1].startswith("no floor found (")
    assert report.warnings[1].endswith("results stay in the camera frame")
    assert report.warnings[0].startswith("the focal length is the network's assumption")
    np.testing.assert_array_equal(grounded.detections["transl_m"], bobbing["transl_m"])


def test_true_focal_rescales_depth_only(model, joints):
    world = make_world(model, frames=10, num_people=1, seed=3)
    quiet = ObservationNoise(depth_sigma=0, depth_bias_sigma=0, pixel_sigma=0,
                             rotation_sigma_deg=0, pose_sigma_rad=0, miss_probability=0)
    observation = observe(world, quiet)
    options = WorldOptions(focal_px=world.camera.focal_px, camera="static",
                           floor_depth_correction=False)
    grounded, _ = add_world_frame(observation.results, joints, options)
    person = world.people[0]
    truth = np.array([world.camera.to_camera(person.joints_m[int(f), 0], int(f))
                      for f in grounded.detections["frame_index"]])
    np.testing.assert_allclose(grounded.detections["transl_m"] + person.rest_pelvis_m, truth,
                               atol=1e-4)
    np.testing.assert_allclose(grounded.focal_px_per_frame, world.camera.focal_px, rtol=1e-6)


def test_rotating_without_frames_is_a_clear_error(model, joints):
    world = make_world(model, frames=5, num_people=1)
    with pytest.raises(WorldInputError, match="--camera rotating needs the input's frames"):
        add_world_frame(observe(world).results, joints, WorldOptions(camera="rotating"))


@pytest.mark.parametrize(("options", "message"), [
    ({"fov_deg": 0.0}, "--fov 0 is impossible: the horizontal field of view must be between 0 "
                       "and 180 degrees"),
    ({"fov_deg": 200.0}, "--fov 200 is impossible"),
    ({"focal_px": -1.0}, "--focal-px -1 is impossible: give a focal length in pixels greater "
                         "than 0"),
    ({"camera": "sideways"}, "--camera sideways is not one of static, rotating, moving, auto"),
])
def test_bad_camera_options_are_one_line(options, message):
    with pytest.raises(WorldOptionError) as caught:
        WorldOptions(**options).check()
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_focal_from_fov_and_from_exif(tmp_path):
    choice = choose_focal(fov_deg=90.0)
    assert choice.source == "user" and math.isclose(choice.focal_for(640, 480), 320.0)
    from PIL import Image

    image = Image.fromarray(np.zeros((30, 40, 3), np.uint8))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26  # FocalLengthIn35mmFilm
    image.save(tmp_path / "photo.jpg", exif=exif)
    found = choose_focal(input_path=tmp_path / "photo.jpg")
    assert found.source == "metadata" and found.focal_35mm == 26.0
    assert math.isclose(found.focal_for(40, 30), 26.0 * 50 / math.hypot(36, 24))
    assert choose_focal(input_path=tmp_path / "absent.mp4").source == "assumed"


def test_skeleton_points_equal_the_body_models_joints(model):
    world = make_world(model, frames=4, num_people=2, seed=4)
    rows = observe(world).results.detections
    np.testing.assert_allclose(SkeletonPoints(model)(rows), body_joints(model, rows)[:, :66],
                               atol=1e-5)


def test_a_translating_camera_gets_a_warning_and_never_fails(model, joints):
    """Near and far halves of the view slide by different amounts (parallax): no single
    rotation explains them, so the stage warns and still answers."""
    world = make_world(model, frames=12, num_people=1, seed=6)
    observation = observe(world, ObservationNoise(seed=6, miss_probability=0))
    background = render_frames(replace(world, people=[]), seed=6, margin_px=40)[0]
    width, height = world.camera.image_size_wh
    frames = []
    for k in range(world.num_frames):
        frame = background.copy()
        frame[height // 2:] = np.roll(background[height // 2:], 12 * k, axis=1)  # near ground
        frames.append(frame)
    grounded, report = add_world_frame(observation.results, joints,
                                       WorldOptions(focal_px=world.camera.focal_px,
                                                    camera="rotating"), frames)
    assert report.camera_mode == "rotating", report.motion.rotation_inlier_fraction
    assert any("seems to move, not only turn" in w and "approximate" in w
               for w in report.warnings), (report.motion.rotation_inlier_fraction, report.warnings)
    assert grounded.num_detections == observation.results.num_detections
