"""``--skeleton``: joint names of BVH / glb exports, checked against docs/export.md's table with an
independent BVH reader (PyPI ``bvh``) and Khronos' glTF validator."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from bvh import Bvh
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core.body import SmplxModel
from aios_core.body.keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS
from aios_core.export import ExportError, ExportOptions, export_results
from aios_core.results.results_file import save_results
from tests.export_synthetic import make_results
from tests.gltf_validator import issue_codes, validate_glb

EXPORT_DOC = Path(__file__).resolve().parents[1] / "docs" / "export.md"
FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def documented_names(column: int) -> dict[str, str]:
    """SMPL-X joint -> name in docs/export.md's `--skeleton` table (1 mixamo, 2 unreal)."""
    section = EXPORT_DOC.read_text().split("## Skeletons that retarget", 1)[1]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = re.findall(r"`([^`]*)`", line)
        if line.startswith("| `") and len(cells) == 3:
            table[cells[0]] = cells[column]
    for side in ("left", "right"):
        pattern = table.pop(f"{side}_<finger>_<k>")
        for finger in FINGERS:
            for k in "123":
                table[f"{side}_{finger}_{k}"] = (pattern.replace("<Finger>", finger.capitalize())
                                                 .replace("<finger>", finger)
                                                 .replace("<k>", k))
    return table


@pytest.fixture(scope="module")
def body(smplx_model_dir) -> SmplxModel:
    return SmplxModel(smplx_model_dir)


def export(body, tmp_path, file_format, skeleton):
    return export_results(make_results(), body, ExportOptions(
        file_format=file_format, out_path=tmp_path / f"m.{file_format}", track_ids=(0,),
        skeleton=skeleton))


@pytest.mark.parametrize("skeleton,column", [("mixamo", 1), ("unreal", 2)])
def test_bvh_joint_names_follow_the_documented_table(body, tmp_path, skeleton, column):
    documented = documented_names(column)
    assert set(documented) == set(SMPLX_JOINT_NAMES)
    assert documented["pelvis"] == {"mixamo": "mixamorig:Hips", "unreal": "pelvis"}[skeleton]
    (renamed,) = export(body, tmp_path / "renamed", "bvh", skeleton)
    (plain,) = export(body, tmp_path / "plain", "bvh", "smplx")
    mocap, reference = Bvh(renamed.read_text()), Bvh(plain.read_text())
    names = mocap.get_joints_names()
    assert names == [documented[name] for name in reference.get_joints_names()]
    for smplx_name, parent in zip(SMPLX_JOINT_NAMES, SMPLX_PARENTS, strict=True):
        name = documented[smplx_name]
        if parent >= 0:
            assert mocap.joint_parent(name).name == documented[SMPLX_JOINT_NAMES[parent]]
        # Same skeleton and motion, other names.
        np.testing.assert_allclose(mocap.joint_offset(name), reference.joint_offset(smplx_name))
        assert mocap.joint_channels(name) == reference.joint_channels(smplx_name)
    assert mocap.nframes == reference.nframes
    np.testing.assert_allclose(
        mocap.frames_joint_channels(documented["left_knee"], ["Zrotation", "Xrotation"]),
        reference.frames_joint_channels("left_knee", ["Zrotation", "Xrotation"]))


def test_glb_joint_nodes_carry_the_mixamo_names(body, tmp_path):
    (path,) = export(body, tmp_path, "glb", "mixamo")
    gltf = pygltflib.GLTF2().load(str(path))
    documented = documented_names(1)
    (skin,) = gltf.skins
    assert [gltf.nodes[n].name for n in skin.joints] == [documented[n] for n in SMPLX_JOINT_NAMES]
    assert issue_codes(validate_glb(path)) == []


def test_unknown_skeleton_lists_the_known_ones(body, smplx_model_dir, tmp_path):
    with pytest.raises(ExportError, match="known skeletons: smplx, mixamo, unreal"):
        export(body, tmp_path, "bvh", "rigify")
    results = save_results(make_results(), tmp_path / "r.aios.npz")
    outcome = CliRunner().invoke(cli, ["export", str(results), "--format", "bvh", "--out",
                                       str(tmp_path / "x.bvh"), "--skeleton", "rigify",
                                       "--smplx-dir", str(smplx_model_dir)])
    assert outcome.exit_code == 2, outcome.output
    assert "unknown --skeleton 'rigify'; known skeletons: smplx, mixamo, unreal" in outcome.output
    assert not (tmp_path / "x.bvh").exists()
