"""``--format glb``: animated, skinned SMPL-X meshes as binary glTF 2.0 (Blender, three.js).

Per track the scene holds a node ``track_<ID>`` with two children: the skeleton (55 joint
nodes named as ``SMPLX_JOINT_NAMES``, parented as in SMPL-X) and the mesh node (mesh + skin).

* Mesh: the SMPL-X template shaped by the track's betas (neutral expression), with smooth
  normals and the model's faces. Skinning uses each vertex's four largest SMPL-X blend weights,
  renormalised (glTF viewers take four). Pose-corrective blend shapes are not included: the
  skinned mesh is plain linear blend skinning of the SMPL-X rig.
* Bind pose = SMPL-X rest pose: every joint node has an identity rotation and the translation
  rest_joint - rest_parent (the pelvis: its rest position); inverse bind matrices are the
  translations by -rest_joint.
* Animation ``motion``: per joint a rotation channel (the SMPL-X local rotation as an xyzw
  quaternion, sign-continuous), plus the pelvis translation (J_pelvis + trans). Key times are
  the frames' times in the input (seconds), so several exports line up with each other and
  with the video. glTF is y-up and in metres: export in the default ``y_up`` frame.

``combined=True`` puts every track in one file and one animation; otherwise one file a track.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pygltflib as gl
import trimesh
from scipy.spatial.transform import Rotation

from aios_core.body.keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS
from aios_core.export.motion import Motion, TrackMotion
from aios_core.export.paths import atomic_output, files_for_tracks
from aios_core.export.rest_shape import RestShape

INFLUENCES_PER_VERTEX = 4
_BODY_COLOUR_RGBA = [0.75, 0.72, 0.68, 1.0]


def top_influences(weights: np.ndarray, count: int = INFLUENCES_PER_VERTEX):
    """(V, J) blend weights -> (V, count) joint indices and their renormalised weights."""
    joints = np.argsort(-weights, axis=1, kind="stable")[:, :count]
    kept = np.take_along_axis(weights, joints, axis=1)
    return joints, kept / kept.sum(axis=1, keepdims=True)


def continuous_quaternions(rotvecs: np.ndarray) -> np.ndarray:
    """(T, J, 3) axis-angle -> (T, J, 4) xyzw quaternions with no sign flip between frames
    (viewers that interpolate components would otherwise spin the long way round)."""
    frames, joints, _ = rotvecs.shape
    quats = Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_quat().reshape(frames, joints, 4)
    agree = np.ones((frames, joints))
    agree[1:] = np.where(np.sum(quats[1:] * quats[:-1], axis=-1) < 0, -1.0, 1.0)
    return quats * np.cumprod(agree, axis=0)[..., None]


class _Builder:
    """Collects the glTF JSON objects and the binary buffer they point into."""

    def __init__(self):
        self.gltf = gl.GLTF2(asset=gl.Asset(generator="aios export", version="2.0"))
        self.gltf.scenes.append(gl.Scene(nodes=[]))
        self.gltf.scene = 0
        self.gltf.materials.append(gl.Material(
            name="body", pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=_BODY_COLOUR_RGBA, metallicFactor=0.0, roughnessFactor=0.8)))
        self.animation = gl.Animation(name="motion", channels=[], samplers=[])
        self.blob = bytearray()

    def accessor(self, array: np.ndarray, kind: str, component: int,
                 target: int | None = None, bounds: bool = False) -> int:
        data = np.ascontiguousarray(array)
        self.blob.extend(b"\0" * (-len(self.blob) % 4))  # 4-byte alignment for every view
        self.gltf.bufferViews.append(gl.BufferView(
            buffer=0, byteOffset=len(self.blob), byteLength=data.nbytes, target=target))
        self.blob.extend(data.tobytes())
        flat = data.reshape(len(data), -1)
        self.gltf.accessors.append(gl.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1, componentType=component,
            count=len(data), type=kind,
            min=flat.min(axis=0).tolist() if bounds else None,
            max=flat.max(axis=0).tolist() if bounds else None))
        return len(self.gltf.accessors) - 1

    def node(self, **fields) -> int:
        self.gltf.nodes.append(gl.Node(**fields))
        return len(self.gltf.nodes) - 1

    def add_track(self, track: TrackMotion, shape: RestShape) -> None:
        rest = shape.rest_joints(track.betas)  # (55, 3)
        joint_nodes = self._skeleton(rest)
        mesh = self._mesh(shape, track.betas)
        ibm = np.tile(np.eye(4, dtype=np.float32), (len(rest), 1, 1))
        ibm[:, :3, 3] = -rest
        # glTF matrices are column-major.
        ibm_accessor = self.accessor(ibm.transpose(0, 2, 1), gl.MAT4, gl.FLOAT)
        self.gltf.skins.append(gl.Skin(name=f"track_{track.track_id}", joints=joint_nodes,
                                       skeleton=joint_nodes[0],
                                       inverseBindMatrices=ibm_accessor))
        mesh_node = self.node(name=f"track_{track.track_id}_body", mesh=mesh,
                              skin=len(self.gltf.skins) - 1)
        root = self.node(name=f"track_{track.track_id}", children=[joint_nodes[0], mesh_node])
        self.gltf.scenes[0].nodes.append(root)
        self._animate(track, rest, joint_nodes)

    def _skeleton(self, rest: np.ndarray) -> list[int]:
        first = len(self.gltf.nodes)
        for joint, parent in enumerate(SMPLX_PARENTS):
            local = rest[joint] - (rest[parent] if parent >= 0 else 0.0)
            self.node(name=SMPLX_JOINT_NAMES[joint], translation=local.tolist())
        for joint, parent in enumerate(SMPLX_PARENTS):
            if parent >= 0:
                self.gltf.nodes[first + parent].children.append(first + joint)
        return list(range(first, first + len(SMPLX_PARENTS)))

    def _mesh(self, shape: RestShape, betas: np.ndarray) -> int:
        vertices = shape.shaped_template(betas)
        normals = np.asarray(
            trimesh.Trimesh(vertices, shape.faces, process=False).vertex_normals, np.float32)
        normals[np.linalg.norm(normals, axis=1) < 0.5] = (0.0, 1.0, 0.0)  # unused vertices
        joints, weights = top_influences(shape.skinning_weights)
        attributes = gl.Attributes(
            POSITION=self.accessor(vertices.astype(np.float32), gl.VEC3, gl.FLOAT,
                                   gl.ARRAY_BUFFER, bounds=True),
            NORMAL=self.accessor(normals, gl.VEC3, gl.FLOAT, gl.ARRAY_BUFFER),
            JOINTS_0=self.accessor(joints.astype(np.uint8), gl.VEC4, gl.UNSIGNED_BYTE,
                                   gl.ARRAY_BUFFER),
            WEIGHTS_0=self.accessor(weights.astype(np.float32), gl.VEC4, gl.FLOAT,
                                    gl.ARRAY_BUFFER),
        )
        indices = self.accessor(shape.faces.reshape(-1).astype(np.uint32), gl.SCALAR,
                                gl.UNSIGNED_INT, gl.ELEMENT_ARRAY_BUFFER)
        self.gltf.meshes.append(gl.Mesh(name="smplx", primitives=[gl.Primitive(
            attributes=attributes, indices=indices, material=0)]))
        return len(self.gltf.meshes) - 1

    def _channel(self, node: int, path: str, times: int, values: np.ndarray, kind: str) -> None:
        output = self.accessor(values.astype(np.float32), kind, gl.FLOAT)
        self.animation.samplers.append(
            gl.AnimationSampler(input=times, output=output, interpolation=gl.ANIM_LINEAR))
        self.animation.channels.append(gl.AnimationChannel(
            sampler=len(self.animation.samplers) - 1,
            target=gl.AnimationChannelTarget(node=node, path=path)))

    def _animate(self, track: TrackMotion, rest: np.ndarray, joint_nodes: list[int]) -> None:
        times = np.maximum(track.timestamp_s, 0.0).astype(np.float32)
        time_accessor = self.accessor(times, gl.SCALAR, gl.FLOAT, bounds=True)
        self._channel(joint_nodes[0], "translation", time_accessor, rest[0] + track.trans_m,
                      gl.VEC3)
        quats = continuous_quaternions(track.poses)
        for joint, node in enumerate(joint_nodes):
            self._channel(node, "rotation", time_accessor, quats[:, joint], gl.VEC4)

    def glb_bytes(self) -> bytes:
        self.gltf.animations.append(self.animation)
        self.gltf.buffers.append(gl.Buffer(byteLength=len(self.blob)))
        self.gltf.set_binary_blob(bytes(self.blob))
        return b"".join(self.gltf.save_to_bytes())


def glb_bytes(tracks: Sequence[TrackMotion], shape: RestShape) -> bytes:
    """One binary glTF holding ``tracks`` and a single animation playing them all."""
    builder = _Builder()
    for track in tracks:
        builder.add_track(track, shape)
    return builder.glb_bytes()


def write_glb(motion: Motion, shape: RestShape, out: Path, combined: bool = False) -> list[Path]:
    """One glb per track, or every track in ``out`` when ``combined``."""
    groups = files_for_tracks(out, motion.tracks, ".glb", combined)
    for path, tracks in groups.items():
        data = glb_bytes(tracks, shape)
        with atomic_output(path) as temp:
            temp.write_bytes(data)
    return list(groups)
