"""npz / json / glb / obj / ply exports checked against SMPL-X itself and their own schemas."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pygltflib
import pytest
import trimesh

from aios_core.body import SmplxModel
from aios_core.body.keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS
from aios_core.export import ExportOptions, build_motion, export_results
from aios_core.export.json_motion import MOTION_JSON_SCHEMA
from aios_core.export.rest_shape import RestShape
from tests.export_synthetic import FPS, TRACK_FRAMES, flat_hand_smplx, make_results, smplx_posed
from tests.gltf_reading import accessor_array, posed_skin
from tests.gltf_validator import issue_codes, validate_glb


@pytest.fixture(scope="module")
def body(smplx_model_dir) -> SmplxModel:
    return SmplxModel(smplx_model_dir)


@pytest.fixture(scope="module")
def motion(body):
    return build_motion(make_results(), RestShape(body))


@pytest.fixture(scope="module")
def flat_model(smplx_model_dir):
    return flat_hand_smplx(smplx_model_dir)


def export(body, tmp_path, file_format, name, **options):
    return export_results(make_results(), body,
                          ExportOptions(file_format=file_format, out_path=tmp_path / name,
                                        **options))


def test_npz_round_trips_in_the_amass_layout(body, motion, tmp_path):
    paths = export(body, tmp_path, "npz", "motion.npz")
    assert [p.name for p in paths] == ["motion_track0.npz", "motion_track7.npz"]
    for path, track in zip(paths, motion.tracks, strict=True):
        with np.load(path) as data:
            assert data["poses"].shape == (track.num_frames, 165)
            np.testing.assert_array_equal(data["poses"], track.poses.reshape(-1, 165))
            np.testing.assert_array_equal(data["trans"], track.trans_m)
            # AMASS carries 16 betas: the model's 10, then zeros.
            assert data["betas"].shape == (16,) and int(data["num_betas"]) == 16
            np.testing.assert_array_equal(data["betas"][:10], track.betas)
            np.testing.assert_array_equal(data["betas"][10:], 0.0)
            np.testing.assert_array_equal(data["expression"], track.expression)
            np.testing.assert_array_equal(data["pose_hand"], data["poses"][:, 75:])
            assert str(data["gender"]) == "neutral" and float(data["mocap_frame_rate"]) == FPS
            assert data["frame_index"].tolist() == list(range(track.frame_index[0],
                                                              track.frame_index[-1] + 1))
            assert int(data["track_id"]) == track.track_id and bool(data["flat_hand_mean"])


def test_json_validates_against_its_schema_and_holds_the_npz_values(body, motion, tmp_path):
    (path,) = export(body, tmp_path, "json", "motion.json")
    document = json.loads(path.read_text())
    jsonschema.validate(document, MOTION_JSON_SCHEMA)
    frames = {frame["frame_index"]: frame for frame in document["frames"]}
    assert sorted(frames) == sorted({f for fs in TRACK_FRAMES.values() for f in fs} | {3})
    track = motion.tracks[1]  # track 7: frame 3 is filled in
    for k, frame_index in enumerate(track.frame_index.tolist()):
        (person,) = [p for p in frames[frame_index]["people"] if p["track_id"] == 7]
        assert person["interpolated"] == (frame_index == 3)
        np.testing.assert_allclose(person["body_pose"], track.poses[k, 1:22], atol=1e-6)
        np.testing.assert_allclose(person["trans"], track.trans_m[k], atol=1e-6)
    broken = dict(document, fps=-1)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, MOTION_JSON_SCHEMA)


def sampled_joint_positions(gltf, blob, frame: int) -> tuple[np.ndarray, float]:
    """World positions of the single skin's joints from its animation's keys at ``frame``."""
    (skin,) = gltf.skins
    (animation,) = gltf.animations
    times, positions = posed_skin(gltf, blob, skin, animation)
    return positions[frame], float(times[frame])


def test_glb_skin_and_animation_reproduce_smplx_joints(body, motion, flat_model, tmp_path):
    paths = export(body, tmp_path, "glb", "motion.glb", track_ids=(7,))
    assert [p.name for p in paths] == ["motion.glb"]
    gltf = pygltflib.GLTF2().load(str(paths[0]))
    blob = gltf.binary_blob()
    (skin,) = gltf.skins
    assert len(skin.joints) == 55
    assert [gltf.nodes[n].name for n in skin.joints] == list(SMPLX_JOINT_NAMES)
    for joint, parent in enumerate(SMPLX_PARENTS):
        if parent >= 0:
            assert skin.joints[joint] in gltf.nodes[skin.joints[parent]].children
    positions = accessor_array(gltf, blob, gltf.meshes[0].primitives[0].attributes.POSITION)
    assert positions.shape == (body.layer.v_template.shape[0], 3)

    track = motion.tracks[1]
    # The skeleton carries no expression: compare with SMPL-X at a neutral one.
    joints, _ = smplx_posed(flat_model, track.poses, track.trans_m, track.betas,
                            np.zeros_like(track.expression))
    for frame in range(track.num_frames):
        sampled, time_s = sampled_joint_positions(gltf, blob, frame)
        assert time_s == pytest.approx(track.timestamp_s[frame], abs=1e-6)
        np.testing.assert_allclose(sampled, joints[frame], atol=1e-4)


def test_combined_glb_holds_one_animation_per_track_and_root_skinned_meshes(body, tmp_path):
    (path,) = export(body, tmp_path, "glb", "all.glb", combined=True)
    gltf = pygltflib.GLTF2().load(str(path))
    assert len(gltf.skins) == 2
    assert [a.name for a in gltf.animations] == ["track_0", "track_7"]
    roots = {gltf.nodes[n].name: n for n in gltf.scenes[0].nodes}
    assert set(roots) == {"track_0", "track_0_body", "track_7", "track_7_body"}
    for animation, skin in zip(gltf.animations, gltf.skins, strict=True):
        # Each animation moves only its own person's joints.
        assert {c.target.node for c in animation.channels} == set(skin.joints)
        body_node = gltf.nodes[roots[f"{skin.name}_body"]]
        assert body_node.skin == gltf.skins.index(skin) and body_node.mesh is not None
        assert gltf.nodes[roots[skin.name]].children == [skin.joints[0]]
    issues = validate_glb(path)
    assert issues["numErrors"] == 0 and issue_codes(issues) == [], issues["messages"][:5]


@pytest.mark.parametrize("file_format", ["obj", "ply"])
def test_mesh_sequence_holds_the_posed_smplx_surface(body, motion, flat_model, tmp_path,
                                                     file_format):
    paths = export(body, tmp_path, file_format, "meshes", track_ids=(0,))
    track = motion.tracks[0]
    assert [p.relative_to(tmp_path / "meshes").as_posix() for p in paths] == [
        f"track_0/frame_{f:06d}.{file_format}" for f in track.frame_index]
    _, vertices = smplx_posed(flat_model, track.poses, track.trans_m, track.betas,
                              track.expression)
    for frame in (0, track.num_frames - 1):
        mesh = trimesh.load(paths[frame], process=False, maintain_order=True)  # keep all
        np.testing.assert_allclose(mesh.vertices, vertices[frame], atol=1e-5)
        assert len(mesh.faces) == len(body.faces)
