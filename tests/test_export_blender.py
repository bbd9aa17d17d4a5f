"""glb and FBX exports opened by Blender itself (skipped where no Blender / bpy is found)."""

from __future__ import annotations

import pytest

from aios_core.body import SmplxModel
from aios_core.export import ExportOptions, export_results
from tests.blender_check import blender_or_skip, blender_report
from tests.export_synthetic import make_results


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
