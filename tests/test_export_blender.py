"""glb and FBX exports opened by Blender itself (skipped where no Blender / bpy is found)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aios_core.body import SmplxModel
from aios_core.export import ExportOptions, export_results
from aios_core.export.rest_shape import RestShape
from aios_core.export.skeleton_names import SKELETON_JOINT_NAMES
from aios_core.feet.stage import add_foot_stage
from tests.blender_check import blender_or_skip, blender_report
from tests.export_synthetic import make_results
from tests.world_results import world_case, world_smplx_dir


@pytest.fixture(scope="module")
def body(smplx_model_dir) -> SmplxModel:
    return SmplxModel(smplx_model_dir)


@pytest.mark.parametrize("file_format", ["glb", "fbx"])
def test_blender_makes_one_action_per_person_and_no_helper_objects(body, tmp_path, file_format):
    blender_or_skip()
    (path,) = export_results(make_results(), body, ExportOptions(
        file_format=file_format, out_path=tmp_path / f"all.{file_format}", combined=True))
    report = blender_report(path)
    objects = report["objects"]
    armatures = sorted(name for name, o in objects.items() if o["type"] == "ARMATURE")
    assert armatures == ["track_0", "track_7"]
    if file_format == "fbx":  # what aios wrote: no bone-shape helpers, each person animated
        assert sorted(objects) == ["track_0", "track_0_body", "track_7", "track_7_body"]
        assert all(objects[name]["action"] for name in armatures)
    # One action per person, each on its own armature (glb: as imported; fbx: as written).
    actions = [objects[name]["action"] for name in armatures if objects[name]["action"]]
    assert len(set(actions)) == len(actions)
    assert len([a for a in report["actions"] if a.startswith("track_")]) == 2


def _world_export(tmp_path: Path, file_format: str) -> Path:
    """A combined world-frame export of two people (camera and floor included)."""
    smplx_dir = world_smplx_dir(tmp_path / "smplx")
    body = SmplxModel(smplx_dir)
    results = add_foot_stage(world_case(smplx_dir, frames=40, num_people=2).results,
                             RestShape(body))
    (path,) = export_results(results, body, ExportOptions(
        file_format=file_format, out_path=tmp_path / f"scene.{file_format}", combined=True))
    return path


@pytest.mark.parametrize("file_format", ["glb", "fbx"])
def test_blender_opens_a_world_export_with_people_on_the_floor(tmp_path, file_format):
    blender_or_skip()
    report = blender_report(_world_export(tmp_path, file_format), ("left_ankle", "right_foot"))
    objects = report["objects"]
    assert objects["camera"]["type"] == "CAMERA" and objects["camera"]["action"]
    assert objects["floor"]["type"] == "MESH"
    assert {"track_10", "track_11"} <= {n for n, o in objects.items() if o["type"] == "ARMATURE"}
    for armature, bones in report["bones"].items():  # Blender is z up
        heights = np.array([np.array(track)[:, 2] for track in bones.values()])
        assert -0.01 < heights.min() < 0.15, (armature, heights.min())


@pytest.mark.parametrize("file_format", ["glb", "fbx"])
def test_blender_finds_one_action_per_animated_object_of_a_world_export(tmp_path, file_format):
    """Each person's armature and the camera carry one action; the floor, the skinned meshes and
    the camera's lens (fixed focal length) none."""
    blender_or_skip()
    report = blender_report(_world_export(tmp_path, file_format))
    actions_per_object = {name: len(o["all_actions"]) for name, o in report["objects"].items()}
    animated = {"camera", "track_10", "track_11"}
    assert animated <= set(actions_per_object) and "floor" in actions_per_object
    assert actions_per_object == {name: int(name in animated) for name in actions_per_object}
    assert len(report["actions"]) == len(animated)


def test_blender_keeps_the_mixamo_names_of_an_fbx(body, tmp_path):
    blender_or_skip()
    (path,) = export_results(make_results(), body, ExportOptions(
        file_format="fbx", out_path=tmp_path / "mixamo.fbx", track_ids=(0,), skeleton="mixamo"))
    (names,) = blender_report(path)["bone_names"].values()
    assert sorted(names) == sorted(SKELETON_JOINT_NAMES["mixamo"])
