"""BVH export: parsed by an independent reader, its forward kinematics give SMPL-X's joints."""

from __future__ import annotations

import numpy as np
import pytest

from aios_core.body import SmplxModel
from aios_core.body.keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS
from aios_core.export.bvh import write_bvh
from aios_core.export.motion import build_motion
from aios_core.export.rest_shape import RestShape
from tests.export_synthetic import FPS, flat_hand_smplx, make_results, smplx_posed


@pytest.fixture(scope="module")
def shape(smplx_model_dir) -> RestShape:
    return RestShape(SmplxModel(smplx_model_dir))


@pytest.fixture(scope="module")
def flat_model(smplx_model_dir):
    return flat_hand_smplx(smplx_model_dir)


def parse_bvh(text: str) -> dict:
    """A minimal BVH reader: joints (name, parent, offset, channels) and the motion table."""
    tokens = text.split()
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    i = tokens.index("HIERARCHY") + 1
    while tokens[i] != "MOTION":
        token = tokens[i]
        if token in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append(None)
            channels.append([])
            i += 2
        elif token == "End":  # "End Site": a block with only an OFFSET, no channels
            assert tokens[i + 1] == "Site" and tokens[i + 2] == "{"
            assert tokens[i + 3] == "OFFSET" and tokens[i + 7] == "}"
            i += 8
        elif token == "{":
            stack.append(len(names) - 1)
            i += 1
        elif token == "}":
            stack.pop()
            i += 1
        elif token == "OFFSET":
            offsets[-1] = np.array([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif token == "CHANNELS":
            count = int(tokens[i + 1])
            channels[-1] = tokens[i + 2:i + 2 + count]
            i += 2 + count
        else:
            raise AssertionError(f"unexpected token {token!r}")
    assert not stack
    assert tokens[i + 1] == "Frames:" and tokens[i + 3:i + 5] == ["Frame", "Time:"]
    frames, frame_time = int(tokens[i + 2]), float(tokens[i + 5])
    values = np.array([float(v) for v in tokens[i + 6:]])
    return {"names": names, "parents": parents, "offsets": offsets, "channels": channels,
            "frame_time": frame_time, "motion": values.reshape(frames, -1)}


def _axis_rotation(axis: str, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def forward_kinematics(bvh: dict, frame: int) -> np.ndarray:
    """World joint positions at one frame; channels apply in file order (BVH convention)."""
    values = iter(bvh["motion"][frame])
    rotations, positions = [], []
    for offset, parent, joint_channels in zip(bvh["offsets"], bvh["parents"], bvh["channels"],
                                              strict=True):
        local_rotation, local_translation = np.eye(3), offset.copy()
        for channel in joint_channels:
            value = next(values)
            if channel.endswith("position"):
                local_translation["XYZ".index(channel[0])] += value
            else:
                local_rotation = local_rotation @ _axis_rotation(channel[0], value)
        if parent < 0:
            rotations.append(local_rotation)
            positions.append(local_translation)
        else:
            rotations.append(rotations[parent] @ local_rotation)
            positions.append(positions[parent] + rotations[parent] @ local_translation)
    return np.array(positions)


def test_bvh_forward_kinematics_reproduces_smplx_joints(tmp_path, shape, flat_model):
    motion = build_motion(make_results(), shape)
    paths = write_bvh(motion, shape, tmp_path / "motion.bvh")
    assert [p.name for p in paths] == ["motion_track0.bvh", "motion_track7.bvh"]
    for path, track in zip(paths, motion.tracks, strict=True):
        bvh = parse_bvh(path.read_text())
        assert len(bvh["names"]) == 55 and set(bvh["names"]) == set(SMPLX_JOINT_NAMES)
        by_name = {name: k for k, name in enumerate(SMPLX_JOINT_NAMES)}
        for name, parent in zip(bvh["names"], bvh["parents"], strict=True):
            expected_parent = SMPLX_PARENTS[by_name[name]]
            assert (parent < 0 and expected_parent < 0) or (
                by_name[bvh["names"][parent]] == expected_parent)
        assert bvh["motion"].shape[0] == track.num_frames
        assert bvh["frame_time"] == pytest.approx(1 / FPS)
        # A skeleton carries no face expression: compare with SMPL-X at a neutral one.
        joints, _ = smplx_posed(flat_model, track.poses, track.trans_m, track.betas,
                                np.zeros_like(track.expression))
        order = [by_name[name] for name in bvh["names"]]
        for frame in range(track.num_frames):
            np.testing.assert_allclose(forward_kinematics(bvh, frame), joints[frame, order],
                                       atol=1e-4)


def test_bvh_in_centimetres_scales_lengths_only(tmp_path, shape):
    motion = build_motion(make_results(), shape, [0])
    metres = parse_bvh(write_bvh(motion, shape, tmp_path / "m.bvh")[0].read_text())
    centimetres = parse_bvh(write_bvh(motion, shape, tmp_path / "cm", units="cm")[0]
                            .read_text())
    assert (tmp_path / "cm.bvh").is_file()
    for frame in (0, 3):
        np.testing.assert_allclose(forward_kinematics(centimetres, frame),
                                   100 * forward_kinematics(metres, frame), atol=1e-3)


def test_euler_angles_do_not_jump_between_frames(tmp_path, shape):
    results = make_results()
    # A root turning steadily about y, 54 degrees a frame, past 180 degrees.
    angles = results.detections["frame_index"] * 0.3 * np.pi
    results.detections["global_orient"] = np.stack(
        [np.zeros_like(angles), angles, np.zeros_like(angles)], axis=1).astype(np.float32)
    motion = build_motion(results, shape, [0], coordinate_frame="camera")
    bvh = parse_bvh(write_bvh(motion, shape, tmp_path / "turn.bvh")[0].read_text())
    root_angles = bvh["motion"][:, 3:6]
    assert np.abs(np.diff(root_angles, axis=0)).max() < 90.0
