"""The foot stage on world-frame results, and world-frame exports (glb, bvh, npz) of it."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest
from click.testing import CliRunner
from scipy.spatial.transform import Rotation

from aios_cli.main import cli
from aios_core.body import SmplxModel
from aios_core.export import ExportOptions, export_results
from aios_core.export.rest_shape import RestShape
from aios_core.feet import metrics
from aios_core.feet.stage import (
    FootStageOptions,
    NoWorldFrameError,
    add_foot_stage,
    track_legs,
)
from aios_core.results.results_file import load_results, save_results
from tests.export_synthetic import make_results
from tests.gltf_reading import accessor_array, animation_keys, posed_skin
from tests.gltf_validator import issue_codes, validate_glb
from tests.test_export_bvh import forward_kinematics, parse_bvh
from tests.world_results import world_case, world_smplx_dir

ANKLES_AND_FEET = [7, 10, 8, 11]  # the joints carrying [left_heel, left_toe, right_heel, ...]


@pytest.fixture(scope="module")
def smplx_dir(tmp_path_factory):
    return world_smplx_dir(tmp_path_factory.mktemp("world_smplx"))


@pytest.fixture(scope="module")
def body(smplx_dir):
    return SmplxModel(smplx_dir)


@pytest.fixture(scope="module")
def case(smplx_dir):
    return world_case(smplx_dir, frames=75, num_people=2)


@pytest.fixture(scope="module")
def locked(case, body):
    return add_foot_stage(case.results, RestShape(body))


def test_foot_stage_finds_contacts_and_plants_feet(case, locked, body):
    shape = RestShape(body)
    assert metrics.contact_f1(locked.feet.contact, case.truth_contact) >= 0.85
    for track in locked.track_ids():
        rows, _, raw_points = track_legs(locked, shape, track, locked=False)
        _, _, points = track_legs(locked, shape, track, locked=True)
        truth = case.truth_contact[rows]
        raw_skate, _ = metrics.foot_skate_cm(raw_points, truth)
        skate, _ = metrics.foot_skate_cm(points, truth)
        assert raw_skate > 0.8 and skate < 0.35 * raw_skate, (raw_skate, skate)


def test_foot_block_round_trips_and_no_lock_keeps_labels_only(case, locked, body, tmp_path):
    again = load_results(save_results(locked, tmp_path / "r.aios.npz"))
    np.testing.assert_array_equal(again.feet.contact, locked.feet.contact)
    np.testing.assert_allclose(again.feet.locked_transl_m, locked.feet.locked_transl_m)
    assert again.select(again.detections["track_id"] == 10).feet.contact.shape[0] == int(
        (again.detections["track_id"] == 10).sum())
    labels_only = add_foot_stage(case.results, RestShape(body), FootStageOptions(lock=False))
    assert not labels_only.feet.locked
    np.testing.assert_array_equal(labels_only.feet.contact, locked.feet.contact)


def test_world_glb_has_camera_floor_and_planted_feet(locked, body, tmp_path):
    (path,) = export_results(locked, body, ExportOptions(
        file_format="glb", out_path=tmp_path / "scene.glb", combined=True))
    issues = validate_glb(path)
    assert issues["numErrors"] == 0 and issue_codes(issues) == [], issues["messages"][:5]
    gltf = pygltflib.GLTF2().load(str(path))
    blob = gltf.binary_blob()
    assert [a.name for a in gltf.animations] == ["track_10", "track_11", "camera"]
    roots = {gltf.nodes[n].name: n for n in gltf.scenes[0].nodes}
    assert {"camera", "floor", "track_10", "track_10_body", "track_11"} <= set(roots)
    floor = accessor_array(gltf, blob, gltf.meshes[gltf.nodes[roots["floor"]].mesh]
                           .primitives[0].attributes.POSITION)
    np.testing.assert_array_equal(floor[:, 1], 0.0)
    # The camera moves as the world block says (glTF cameras look down -z).
    times, keys = animation_keys(gltf, blob, gltf.animations[2])
    world = locked.world
    np.testing.assert_allclose(keys[roots["camera"], "translation"], world.camera_position_m,
                               atol=1e-5)
    rotation = Rotation.from_quat(keys[roots["camera"], "rotation"]).as_matrix()
    np.testing.assert_allclose(rotation, world.camera_to_world_R @ np.diag([1, -1, -1]),
                               atol=1e-5)
    # Feet stay put while in contact: the ankle / foot joints carrying heel and toe.
    det = locked.detections
    for skin, animation in zip(gltf.skins, gltf.animations[:2], strict=True):
        rows = np.flatnonzero(det["track_id"] == int(skin.name.removeprefix("track_")))
        key_times, joints = posed_skin(gltf, blob, skin, animation)
        key_frames = np.rint(key_times * locked.fps).astype(int)
        labels = np.zeros((len(key_frames), 4), bool)
        labels[np.searchsorted(key_frames, det["frame_index"][rows])] = locked.feet.contact[rows]
        skate, _ = metrics.foot_skate_cm(joints[:, ANKLES_AND_FEET], labels)
        assert skate < 0.3, skate
        assert joints[:, ANKLES_AND_FEET, 1].min() > 0.0  # above the floor


def test_world_bvh_root_moves_in_the_world_and_feet_stay_planted(locked, body, tmp_path):
    paths = export_results(locked, body, ExportOptions(file_format="bvh",
                                                       out_path=tmp_path / "m.bvh"))
    det = locked.detections
    for path in paths:
        track = int(path.stem.removeprefix("m_track"))
        bvh = parse_bvh(path.read_text())
        joints = np.array([forward_kinematics(bvh, f) for f in range(len(bvh["motion"]))])
        rows = np.flatnonzero(det["track_id"] == track)
        frames = det["frame_index"][rows] - det["frame_index"][rows].min()
        # The root is where the world (foot-locked) translation puts the pelvis.
        rest_pelvis = RestShape(body).rest_joints(np.median(det["betas"][rows], 0))[0]
        np.testing.assert_allclose(bvh["motion"][frames, :3],
                                   locked.feet.locked_transl_m[rows] + rest_pelvis, atol=2e-3)
        names = bvh["names"]
        feet = [names.index(n) for n in ("left_ankle", "left_foot", "right_ankle", "right_foot")]
        consecutive = np.zeros((len(joints), 4), bool)
        consecutive[frames] = locked.feet.contact[rows]
        skate, _ = metrics.foot_skate_cm(joints[:, feet], consecutive)
        assert skate < 0.3, skate


def test_world_npz_is_z_up_with_people_on_the_floor(locked, body, tmp_path):
    (path, _) = export_results(locked, body, ExportOptions(file_format="npz",
                                                           out_path=tmp_path / "m.npz"))
    with np.load(path) as data:
        assert str(data["coordinate_frame"]) == "world_z_up"
        trans, poses = data["trans"], data["poses"]
    rest = RestShape(body).rest_joints(np.zeros(10))
    pelvis_height = trans[:, 2] + rest[0, 2]  # posed pelvis = rest pelvis + trans
    assert 0.7 < np.median(pelvis_height) < 1.6  # standing on z = 0, not at camera height
    assert np.abs(poses).max() < 2 * np.pi


def test_camera_frame_keeps_todays_output(locked, body, tmp_path):
    (ours,) = export_results(locked, body, ExportOptions(
        file_format="npz", out_path=tmp_path / "a.npz", track_ids=(10,),
        coordinate_frame="camera"))
    plain = locked.select(np.ones(locked.num_detections, bool))
    plain.world, plain.feet = None, None
    (theirs,) = export_results(plain, body, ExportOptions(
        file_format="npz", out_path=tmp_path / "b.npz", track_ids=(10,),
        coordinate_frame="camera"))
    with np.load(ours) as a, np.load(theirs) as b:
        np.testing.assert_array_equal(a["poses"], b["poses"])
        np.testing.assert_array_equal(a["trans"], b["trans"])


def test_world_export_of_results_without_a_world_says_run_ground(smplx_model_dir, tmp_path,
                                                                  body):
    results = save_results(make_results(), tmp_path / "plain.aios.npz")
    outcome = CliRunner().invoke(cli, ["export", str(results), "--format", "glb", "--world",
                                       "--out", str(tmp_path / "x.glb"),
                                       "--smplx-dir", str(smplx_model_dir)])
    assert outcome.exit_code == 2, outcome.output
    assert f"{results} has no world frame: run `aios ground {results}` first" in outcome.output
    assert not (tmp_path / "x.glb").exists()
    with pytest.raises(NoWorldFrameError, match="run `aios ground` first"):
        add_foot_stage(make_results(), RestShape(body))


def test_foot_pass_after_the_world_stage(case, smplx_dir):
    from aios_core.pipeline.foot_pass import foot_pass
    from tests.synthetic_world import load_world_body_model

    model = load_world_body_model(smplx_dir)  # the checkpoint's kind of body model
    done = foot_pass(case.results, model, lock=False)
    assert done.feet is not None and not done.feet.locked
    assert metrics.contact_f1(done.feet.contact, case.truth_contact) >= 0.85
    no_world = done.select(np.ones(done.num_detections, bool))
    no_world.world = None
    assert foot_pass(no_world, model).feet is None


@pytest.mark.parametrize("lock", [True, False])
def test_aios_ground_adds_the_foot_block_then_export_writes_the_world(smplx_dir, tmp_path, lock):
    from tests.synthetic_world import load_world_body_model, make_world, observe

    world = make_world(load_world_body_model(smplx_dir), frames=45, num_people=2)
    path = save_results(observe(world).results, tmp_path / "clip.aios.npz")
    runner = CliRunner()
    outcome = runner.invoke(cli, ["ground", str(path), "--camera", "static", "--focal-px",
                                  str(world.camera.focal_px), "--smplx-dir", str(smplx_dir),
                                  *([] if lock else ["--no-foot-lock"])])
    assert outcome.exit_code == 0, outcome.output
    grounded = load_results(path)
    assert grounded.world is not None and grounded.feet.locked == lock
    assert grounded.feet.contact.any()
    outcome = runner.invoke(cli, ["export", str(path), "--format", "glb", "--combined",
                                  "--out", str(tmp_path / "scene.glb"),
                                  "--smplx-dir", str(smplx_dir)])
    assert outcome.exit_code == 0, outcome.output
    gltf = pygltflib.GLTF2().load(str(tmp_path / "scene.glb"))
    assert [a.name for a in gltf.animations] == ["track_0", "track_1", "camera"]


def test_world_json_validates_and_holds_the_camera_path(locked, body, tmp_path):
    import json

    import jsonschema

    from aios_core.export.json_motion import MOTION_JSON_SCHEMA

    (path,) = export_results(locked, body, ExportOptions(file_format="json",
                                                         out_path=tmp_path / "m.json"))
    document = json.loads(path.read_text())
    jsonschema.validate(document, MOTION_JSON_SCHEMA)
    assert document["coordinate_frame"] == "world"
    camera_path = document["camera"]["path"]
    assert len(camera_path) == locked.num_frames
    np.testing.assert_allclose(camera_path[5]["position_m"], locked.world.camera_position_m[5],
                               atol=1e-5)
    np.testing.assert_allclose(np.reshape(camera_path[5]["camera_to_world_R"], (3, 3)),
                               locked.world.camera_to_world_R[5], atol=1e-5)
