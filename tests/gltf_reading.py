"""Reading what the glb exporter wrote: accessors, and skeletons posed by an animation's keys."""

from __future__ import annotations

import numpy as np
import pygltflib
from scipy.spatial.transform import Rotation


def accessor_array(gltf: pygltflib.GLTF2, blob: bytes, index: int) -> np.ndarray:
    """An accessor's data as a numpy array (tightly packed views, as the writer makes them)."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    dtype = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_BYTE: np.uint8,
             pygltflib.UNSIGNED_INT: np.uint32}[accessor.componentType]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[accessor.type]
    start = view.byteOffset + (accessor.byteOffset or 0)
    data = np.frombuffer(blob, dtype=dtype, count=accessor.count * width, offset=start)
    return data.reshape(accessor.count, width)


def animation_keys(gltf, blob, animation) -> tuple[np.ndarray, dict]:
    """(key times, {(node, path): (K, 3|4) values}) of one animation (one shared time base)."""
    values, times = {}, None
    for channel in animation.channels:
        sampler = animation.samplers[channel.sampler]
        times = accessor_array(gltf, blob, sampler.input)[:, 0]
        values[channel.target.node, channel.target.path] = accessor_array(
            gltf, blob, sampler.output).astype(np.float64)
    return times, values


def posed_skin(gltf, blob, skin, animation) -> tuple[np.ndarray, np.ndarray]:
    """((K,) key times, (K, J, 3) world positions of the skin's joints at each key)."""
    times, values = animation_keys(gltf, blob, animation)
    parent = {child: node for node in skin.joints for child in (gltf.nodes[node].children or [])}
    frames = []
    for k in range(len(times)):
        rotation, position = {}, {}
        for node in skin.joints:  # parents come before children (SMPL-X order)
            local_r = (Rotation.from_quat(values[node, "rotation"][k]).as_matrix()
                       if (node, "rotation") in values else np.eye(3))
            local_t = values.get((node, "translation"), np.array([gltf.nodes[node].translation]
                                                                 * len(times)))[k]
            if node in parent:
                up = parent[node]
                rotation[node] = rotation[up] @ local_r
                position[node] = position[up] + rotation[up] @ local_t
            else:
                rotation[node], position[node] = local_r, np.asarray(local_t)
        frames.append([position[node] for node in skin.joints])
    return times, np.array(frames)
