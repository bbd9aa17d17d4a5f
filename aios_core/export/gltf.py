"""``--format glb``: animated, skinned SMPL-X meshes as binary glTF 2.0 (Blender, three.js).

Per track the scene holds two root nodes: ``track_<ID>``, the armature (its one child is the
skeleton: 55 joint nodes named as ``--skeleton`` says, see ``skeleton_names``, parented as in
SMPL-X), and ``track_<ID>_body``, the skinned mesh. glTF ignores a skinned mesh node's own
transform, so the mesh node is a root (gltf-validator's NODE_SKINNED_MESH_NON_ROOT).

* Mesh: the SMPL-X template shaped by the track's betas (neutral expression), with smooth
  normals and the model's faces. Skinning uses each vertex's four largest SMPL-X blend weights,
  renormalised (glTF viewers take four). Pose-corrective blend shapes are not included: the
  skinned mesh is plain linear blend skinning of the SMPL-X rig.
* Bind pose = SMPL-X rest pose: every joint node has an identity rotation and the translation
  rest_joint - rest_parent (the pelvis: its rest position); inverse bind matrices are the
  translations by -rest_joint.
* One animation per track, named ``track_<ID>`` (Blender makes one action of each): per joint
  a rotation channel (the SMPL-X local rotation as an xyzw quaternion, sign-continuous), plus
  the pelvis translation (J_pelvis + trans). Key times are the frames' times in the input
  (seconds), so several exports line up with each other and with the video. glTF is y-up and
  in metres: export in a y-up frame (the default, or the world frame).
* World exports (``Motion.camera`` set) add a node ``camera`` (a perspective camera with the
  run's vertical field of view) animated by an animation ``camera``, and a node ``floor``: a
  grey square on the plane y = 0 under everybody.

``combined=True`` puts every track in one file; otherwise one file a track.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pygltflib as gl
import trimesh
from scipy.spatial.transform import Rotation

from aios_core.body.keypoints import SMPLX_PARENTS
from aios_core.export.motion import CameraPath, Motion, TrackMotion
from aios_core.export.paths import atomic_output, files_for_tracks
from aios_core.export.rest_shape import RestShape
from aios_core.export.skeleton_names import joint_names

INFLUENCES_PER_VERTEX = 4
_BODY_COLOUR_RGBA = [0.75, 0.72, 0.68, 1.0]
_FLOOR_COLOUR_RGBA = [0.5, 0.5, 0.5, 1.0]


def top_influences(weights: np.ndarray, count: int = INFLUENCES_PER_VERTEX):
    """(V, J) blend weights -> (V, count) joint indices and their renormalised weights."""
    joints = np.argsort(-weights, axis=1, kind="stable")[:, :count]
    kept = np.take_along_axis(weights, joints, axis=1)
    # glTF wants joint 0 in unused slots (gltf-validator: ACCESSOR_JOINTS_USED_ZERO_WEIGHT).
    joints = np.where(kept > 0, joints, 0)
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

    def __init__(self, names: Sequence[str]):
        self.names = names
        self.gltf = gl.GLTF2(asset=gl.Asset(generator="aios export", version="2.0"))
        self.gltf.scenes.append(gl.Scene(nodes=[]))
        self.gltf.scene = 0
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

    def node(self, root: bool = False, **fields) -> int:
        self.gltf.nodes.append(gl.Node(**fields))
        index = len(self.gltf.nodes) - 1
        if root:
            self.gltf.scenes[0].nodes.append(index)
        return index

    def material(self, name: str, rgba: list[float]) -> int:
        self.gltf.materials.append(gl.Material(
            name=name, pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=rgba, metallicFactor=0.0, roughnessFactor=0.8)))
        return len(self.gltf.materials) - 1

    def add_track(self, track: TrackMotion, shape: RestShape) -> None:
        rest = shape.rest_joints(track.betas)  # (55, 3)
        joint_nodes = self._skeleton(rest)
        mesh = self._mesh(shape, track.betas)
        ibm = np.tile(np.eye(4, dtype=np.float32), (len(rest), 1, 1))
        ibm[:, :3, 3] = -rest
        # glTF matrices are column-major.
        ibm_accessor = self.accessor(ibm.transpose(0, 2, 1), gl.MAT4, gl.FLOAT)
        name = f"track_{track.track_id}"
        self.gltf.skins.append(gl.Skin(name=name, joints=joint_nodes, skeleton=joint_nodes[0],
                                       inverseBindMatrices=ibm_accessor))
        self.node(root=True, name=name, children=[joint_nodes[0]])
        self.node(root=True, name=f"{name}_body", mesh=mesh, skin=len(self.gltf.skins) - 1)
        self._animate(track, rest, joint_nodes)

    def _skeleton(self, rest: np.ndarray) -> list[int]:
        first = len(self.gltf.nodes)
        for joint, parent in enumerate(SMPLX_PARENTS):
            local = rest[joint] - (rest[parent] if parent >= 0 else 0.0)
            self.node(name=self.names[joint], translation=local.tolist())
        for joint, parent in enumerate(SMPLX_PARENTS):
            if parent >= 0:
                self.gltf.nodes[first + parent].children.append(first + joint)
        return list(range(first, first + len(SMPLX_PARENTS)))

    def _primitive(self, vertices: np.ndarray, normals: np.ndarray, faces: np.ndarray,
                   material: int, **skin_attributes: int) -> gl.Primitive:
        attributes = gl.Attributes(
            POSITION=self.accessor(vertices.astype(np.float32), gl.VEC3, gl.FLOAT,
                                   gl.ARRAY_BUFFER, bounds=True),
            NORMAL=self.accessor(normals.astype(np.float32), gl.VEC3, gl.FLOAT, gl.ARRAY_BUFFER),
            **skin_attributes)
        indices = self.accessor(faces.reshape(-1).astype(np.uint32), gl.SCALAR,
                                gl.UNSIGNED_INT, gl.ELEMENT_ARRAY_BUFFER)
        return gl.Primitive(attributes=attributes, indices=indices, material=material)

    def _mesh(self, shape: RestShape, betas: np.ndarray) -> int:
        vertices = shape.shaped_template(betas)
        normals = np.asarray(
            trimesh.Trimesh(vertices, shape.faces, process=False).vertex_normals, np.float32)
        normals[np.linalg.norm(normals, axis=1) < 0.5] = (0.0, 1.0, 0.0)  # unused vertices
        joints, weights = top_influences(shape.skinning_weights)
        if not self.gltf.materials:
            self.material("body", _BODY_COLOUR_RGBA)
        primitive = self._primitive(
            vertices, normals, shape.faces, 0,
            JOINTS_0=self.accessor(joints.astype(np.uint8), gl.VEC4, gl.UNSIGNED_BYTE,
                                   gl.ARRAY_BUFFER),
            WEIGHTS_0=self.accessor(weights.astype(np.float32), gl.VEC4, gl.FLOAT,
                                    gl.ARRAY_BUFFER))
        self.gltf.meshes.append(gl.Mesh(name="smplx", primitives=[primitive]))
        return len(self.gltf.meshes) - 1

    def _channel(self, animation: gl.Animation, node: int, path: str, times: int,
                 values: np.ndarray, kind: str) -> None:
        output = self.accessor(values.astype(np.float32), kind, gl.FLOAT)
        animation.samplers.append(
            gl.AnimationSampler(input=times, output=output, interpolation=gl.ANIM_LINEAR))
        animation.channels.append(gl.AnimationChannel(
            sampler=len(animation.samplers) - 1,
            target=gl.AnimationChannelTarget(node=node, path=path)))

    def _animation(self, name: str, times_s: np.ndarray) -> tuple[gl.Animation, int]:
        animation = gl.Animation(name=name, channels=[], samplers=[])
        self.gltf.animations.append(animation)
        times = np.maximum(times_s, 0.0).astype(np.float32)
        return animation, self.accessor(times, gl.SCALAR, gl.FLOAT, bounds=True)

    def _animate(self, track: TrackMotion, rest: np.ndarray, joint_nodes: list[int]) -> None:
        animation, times = self._animation(f"track_{track.track_id}", track.timestamp_s)
        self._channel(animation, joint_nodes[0], "translation", times, rest[0] + track.trans_m,
                      gl.VEC3)
        quats = continuous_quaternions(track.poses)
        for joint, node in enumerate(joint_nodes):
            self._channel(animation, node, "rotation", times, quats[:, joint], gl.VEC4)

    def add_camera(self, camera: CameraPath) -> None:
        """The ``camera`` node (glTF cameras look down -z, y up) and its animation."""
        self.gltf.cameras.append(gl.Camera(type="perspective", name="camera",
                                           perspective=gl.Perspective(
                                               yfov=camera.yfov_rad, aspectRatio=camera.aspect,
                                               znear=0.05, zfar=1000.0)))
        opengl = camera.camera_to_world_R @ np.diag([1.0, -1.0, -1.0])
        quats = continuous_quaternions(Rotation.from_matrix(opengl).as_rotvec()[:, None])[:, 0]
        node = self.node(root=True, name="camera", camera=len(self.gltf.cameras) - 1,
                         translation=camera.position_m[0].tolist(), rotation=quats[0].tolist())
        animation, times = self._animation("camera", camera.timestamp_s)
        self._channel(animation, node, "translation", times, camera.position_m, gl.VEC3)
        self._channel(animation, node, "rotation", times, quats, gl.VEC4)

    def add_floor(self, tracks: Sequence[TrackMotion], shape: RestShape) -> None:
        """A square at y = 0 under every pelvis of ``tracks``, 1 m beyond them."""
        pelvis = np.concatenate([shape.rest_joints(t.betas)[0] + t.trans_m for t in tracks])
        low, high = pelvis[:, [0, 2]].min(axis=0) - 1.0, pelvis[:, [0, 2]].max(axis=0) + 1.0
        corners = np.array([[low[0], 0.0, low[1]], [high[0], 0.0, low[1]],
                            [high[0], 0.0, high[1]], [low[0], 0.0, high[1]]])
        faces = np.array([[0, 2, 1], [0, 3, 2]])  # counter-clockwise seen from above (+y)
        normals = np.tile([0.0, 1.0, 0.0], (4, 1))
        primitive = self._primitive(corners, normals, faces,
                                    self.material("floor", _FLOOR_COLOUR_RGBA))
        self.gltf.meshes.append(gl.Mesh(name="floor", primitives=[primitive]))
        self.node(root=True, name="floor", mesh=len(self.gltf.meshes) - 1)

    def glb_bytes(self) -> bytes:
        self.gltf.buffers.append(gl.Buffer(byteLength=len(self.blob)))
        self.gltf.set_binary_blob(bytes(self.blob))
        return b"".join(self.gltf.save_to_bytes())


def glb_bytes(tracks: Sequence[TrackMotion], shape: RestShape, skeleton: str = "smplx",
              camera: CameraPath | None = None) -> bytes:
    """One binary glTF holding ``tracks`` (one animation each) [and the camera and floor]."""
    builder = _Builder(joint_names(skeleton))
    for track in tracks:
        builder.add_track(track, shape)
    if camera is not None:
        builder.add_camera(camera)
        builder.add_floor(tracks, shape)
    return builder.glb_bytes()


def write_glb(motion: Motion, shape: RestShape, out: Path, combined: bool = False,
              skeleton: str = "smplx") -> list[Path]:
    """One glb per track, or every track in ``out`` when ``combined``."""
    groups = files_for_tracks(out, motion.tracks, ".glb", combined)
    for path, tracks in groups.items():
        data = glb_bytes(tracks, shape, skeleton, motion.camera)
        with atomic_output(path) as temp:
            temp.write_bytes(data)
    return list(groups)
