"""Run inside Blender (or a Python with ``bpy``): import a glb or fbx, print what Blender made.

    python blender_inspect.py FILE [BONE ...]    # or: blender -b --python blender_inspect.py -- ...

Prints one JSON object: ``objects`` (type, parent, action: active or stashed in an NLA track,
all_actions: every action on the object or its data, active or in NLA strips),
``actions`` (name, frame range), ``bone_names`` per armature and, per armature, the
world-space head of each named BONE at every scene frame of its action (``bones``:
{armature: {bone: [[x, y, z], ...]}}), in Blender's z-up frame.
"""

import json
import sys

import bpy


def object_action(obj):
    """The object's active action, else the one stashed in its first NLA strip, made active as
    a user would (the glTF importer activates the first glTF animation, stashes the others)."""
    data = obj.animation_data
    if data is None:
        return None
    if data.action is None:
        strips = [strip for track in data.nla_tracks for strip in track.strips if strip.action]
        if not strips:
            return None
        data.action = strips[0].action
        if hasattr(data, "action_slot"):
            data.action_slot = strips[0].action_slot
    return data.action


def all_actions(obj) -> list:
    """Names of the actions animating ``obj`` or its data (camera lens, shape keys ...)."""
    names = []
    for owner in (obj, obj.data, getattr(obj.data, "shape_keys", None)):
        data = getattr(owner, "animation_data", None)
        if data is None:
            continue
        found = [data.action] + [s.action for t in data.nla_tracks for s in t.strips]
        for action in found:
            if action is not None and action.name not in names:
                names.append(action.name)
    return names


def main(argv: list) -> None:
    args = argv[argv.index("--") + 1:] if "--" in argv else argv[1:]
    path, bone_names = args[0], args[1:]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if path.endswith(".fbx"):
        bpy.ops.import_scene.fbx(filepath=path)
    else:
        bpy.ops.import_scene.gltf(filepath=path)
    scene = bpy.context.scene
    report = {"objects": {}, "actions": {}, "bones": {}, "bone_names": {}}
    for obj in bpy.data.objects:
        animated_by = all_actions(obj)
        action = object_action(obj)
        report["objects"][obj.name] = {
            "type": obj.type, "parent": obj.parent.name if obj.parent else None,
            "action": action.name if action else None, "all_actions": animated_by}
    for obj in bpy.data.objects:
        if obj.type == "ARMATURE":
            report["bone_names"][obj.name] = [bone.name for bone in obj.data.bones]
    for action in bpy.data.actions:
        report["actions"][action.name] = list(action.frame_range)
    for obj in bpy.data.objects:
        action = object_action(obj)
        if obj.type != "ARMATURE" or action is None or not bone_names:
            continue
        first, last = (round(v) for v in action.frame_range)
        tracks = {name: [] for name in bone_names if name in obj.pose.bones}
        for frame in range(first, last + 1):
            scene.frame_set(frame)
            for name in tracks:
                head = obj.matrix_world @ obj.pose.bones[name].head
                tracks[name].append([head.x, head.y, head.z])
        report["bones"][obj.name] = tracks
    print("AIOS_REPORT " + json.dumps(report))


main(sys.argv)
