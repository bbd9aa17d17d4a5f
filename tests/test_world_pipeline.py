"""`aios run ... --render out.mp4 --floor` and `aios ground` end to end on a generated clip."""

import numpy as np
import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.body.meshes import MeshMaker
from aios_core.pipeline.run import RunOptions, run_pipeline
from aios_core.results.results_file import load_results, save_results
from aios_core.video import MediaReader, VideoWriter
from aios_core.world.body_points import SkeletonPoints
from aios_core.world.stage import WorldOptions
from tests.synthetic_world import (
    ObservationNoise,
    ObservedPredictor,
    load_world_body_model,
    make_world,
    observe,
    render_frames,
    world_errors,
)

FRAMES = 40


@pytest.fixture(scope="module")
def scene(world_smplx_dir, tmp_path_factory):
    model = load_world_body_model(world_smplx_dir)
    world = make_world(model, frames=FRAMES, num_people=3, rotating=True, seed=5,
                       image_size_wh=(256, 144))
    # Gentler than the stage tests' noise: a 40-frame clip has few footprints, and this test is
    # about the run writing the right world, not the fit's accuracy (test_world_stage.py).
    noise = ObservationNoise(depth_sigma=0.01, depth_bias_sigma=0.01, pixel_sigma=0.5,
                             rotation_sigma_deg=0.5, seed=5)
    observation = observe(world, noise)
    clip = tmp_path_factory.mktemp("world_clip") / "walkers.mp4"
    with VideoWriter(clip, world.fps) as writer:
        for frame in render_frames(world, seed=5, margin_px=160):
            writer.write(frame)
    return world, observation, clip


def _match_people(world, results) -> np.ndarray:
    """Truth person of each tracked detection: the nearest projected pelvis in its frame."""
    camera, people = world.camera, []
    centres = results.detections["body_keypoints_px"][:, 11:13].mean(1)  # between the hips
    for frame, centre in zip(results.detections["frame_index"], centres, strict=True):
        pelvis_px = [camera.project(camera.to_camera(p.joints_m[frame, 0], frame))
                     for p in world.people]
        people.append(int(np.argmin(np.linalg.norm(np.array(pelvis_px) - centre, axis=1))))
    return np.array(people)


def test_run_with_floor_writes_world_fields_that_match_the_truth(scene, world_smplx_dir,
                                                                 tmp_path):
    world, observation, clip = scene
    options = RunOptions(
        clip, results_path=tmp_path / "r.npz", render_path=tmp_path / "overlay.mp4",
        batch_size=8, world=WorldOptions(focal_px=world.camera.focal_px), render_floor=True,
    )
    meshes = MeshMaker(EmbeddedSMPLX.from_model_folder(world_smplx_dir))
    summary = run_pipeline(options, ObservedPredictor(observation), meshes)
    assert summary.warnings == []
    assert "auto chose rotating" in summary.world_note
    results = load_results(tmp_path / "r.npz")
    assert results.world is not None and results.world.camera_mode == "rotating"
    assert results.world.focal_source == "user"
    errors = world_errors(world, observation, results, _match_people(world, results))
    assert errors["normal_deg"] < 3.0
    assert errors["floor_cm"] < 10.0
    assert errors["rotation_deg"] < 1.0
    assert errors["root_cm"] < 25.0
    # What is written is consistent: world pelvis = camera pose applied to the camera pelvis.
    rows = np.searchsorted(results.frame_index_per_frame, results.detections["frame_index"])
    rest = SkeletonPoints(meshes.body_model).rest_pelvis(results.detections)
    pelvis_world = np.einsum("dij,dj->di", results.world.camera_to_world_R[rows],
                             results.detections["transl_m"] + rest) + \
        results.world.camera_position_m[rows]
    np.testing.assert_allclose(pelvis_world, results.world.transl_m + rest, atol=1e-4)
    rendered = [frame.rgb for frame in MediaReader(tmp_path / "overlay.mp4")]
    assert len(rendered) == FRAMES
    # The grid's lines are drawn where the floor projects: a pixel of a line under the first
    # person is near the grid colour in the overlay, not in the input.
    first_input = next(iter(MediaReader(clip))).rgb
    changed = np.abs(rendered[0].astype(int) - first_input.astype(int)).sum(-1) > 60
    assert changed[world.camera.image_size_wh[1] // 2:].mean() > 0.01  # floor: lower half


def test_ground_command_adds_the_world_block_to_a_results_file(scene, world_smplx_dir,
                                                                tmp_path):
    world, observation, clip = scene
    path = save_results(observation.results, tmp_path / "walkers.aios.npz")
    (tmp_path / observation.results.source).symlink_to(clip)  # named in the results, beside it
    result = CliRunner().invoke(cli, [
        "ground", str(path), "--focal-px", f"{world.camera.focal_px}", "--smplx-dir",
        str(world_smplx_dir),
    ])
    assert result.exit_code == 0, result.output
    assert "camera: auto chose rotating" in result.output
    grounded = load_results(path)
    assert grounded.world.camera_mode == "rotating" and grounded.world.focal_source == "user"
    assert world_errors(world, observation, grounded)["floor_cm"] < 10.0


@pytest.mark.parametrize(("arguments", "message"), [
    (["--fov", "0"], "aios ground: --fov 0 is impossible"),
    (["--fov", "200"], "aios ground: --fov 200 is impossible"),
    (["--focal-px", "-1"], "aios ground: --focal-px -1 is impossible"),
    (["--camera", "sideways"], "aios ground: --camera sideways is not one of static, rotating"),
])
def test_bad_camera_options_are_one_line_before_any_work(arguments, message, tmp_path):
    for command in (["ground", str(tmp_path / "absent.npz")], ["run", str(tmp_path / "x.mp4")]):
        result = CliRunner().invoke(cli, [*command, *arguments])
        expected = message.replace("aios ground", f"aios {command[0]}")
        assert result.exit_code == 2
        assert result.output.strip().startswith(expected) and len(
            result.output.strip().splitlines()) == 1


def test_floor_without_render_is_refused_before_any_work(scene, tmp_path):
    from aios_core.pipeline.run import RunOutputError, check_run_inputs

    _, _, clip = scene
    options = RunOptions(clip, results_path=tmp_path / "r.npz", world=WorldOptions(),
                         render_floor=True)
    with pytest.raises(RunOutputError, match="--floor draws the floor grid in the overlay: "
                                             "add --render OUT"):
        check_run_inputs(options)


def test_run_and_ground_give_the_same_motion(scene, world_smplx_dir, tmp_path):
    """One chain behind both commands: grounding a run's tracked results afterwards gives the
    world motion and the planted feet that the run itself wrote."""
    world, observation, clip = scene
    meshes = MeshMaker(EmbeddedSMPLX.from_model_folder(world_smplx_dir))
    focal = WorldOptions(focal_px=world.camera.focal_px)
    run_pipeline(RunOptions(clip, results_path=tmp_path / "run.npz", world=focal),
                 ObservedPredictor(observation), meshes)
    # The same run without the world chain: tracked, not smoothed, then `aios ground`.
    run_pipeline(RunOptions(clip, results_path=tmp_path / "tracked.npz", world=None,
                            smooth_strength=0.0), ObservedPredictor(observation), meshes)
    (tmp_path / observation.results.source).symlink_to(clip)
    result = CliRunner().invoke(cli, [
        "ground", str(tmp_path / "tracked.npz"), "--out", str(tmp_path / "grounded.npz"),
        "--input", str(clip), "--focal-px", f"{world.camera.focal_px}",
        "--smplx-dir", str(world_smplx_dir),
    ])
    assert result.exit_code == 0, result.output
    ran, grounded = load_results(tmp_path / "run.npz"), load_results(tmp_path / "grounded.npz")
    assert ran.feet is not None and ran.feet.locked and ran.feet.contact.any()
    for name in ("global_orient", "transl_m", "camera_to_world_R", "camera_position_m"):
        np.testing.assert_allclose(getattr(grounded.world, name), getattr(ran.world, name),
                                   atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(grounded.feet.contact, ran.feet.contact)
    np.testing.assert_allclose(grounded.feet.locked_transl_m, ran.feet.locked_transl_m, atol=1e-6)
    np.testing.assert_allclose(grounded.feet.locked_body_pose, ran.feet.locked_body_pose,
                               atol=1e-6)
    for key in ("global_orient", "transl_m", "body_pose"):
        np.testing.assert_allclose(grounded.detections[key], ran.detections[key], atol=1e-6,
                                   err_msg=key)
