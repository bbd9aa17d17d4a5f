"""Convert an aios glb export to FBX inside Blender (standalone: imports nothing from aios).

Run by ``aios_core.export.fbx`` as either of::

    blender --background --factory-startup --python fbx_blender_script.py -- IN.glb OUT.fbx FPS
    python fbx_blender_script.py IN.glb OUT.fbx FPS      # a Python with the `bpy` module

Blender's own glTF importer builds the armatures, skinned meshes and actions; its FBX exporter
writes them with the animation baked at FPS. Between the two, ``tidy_import`` removes what the
importer adds for display only (the 'Icosphere' objects it draws bones with) and gives every
animated object its own action (the glb has one animation per person, named as the person's
armature, plus ``camera``), which the importer would otherwise leave in NLA tracks.
"""

import sys

import bpy

# With a simplify factor of 0, Blender's FBX exporter keys every baked channel of every object,
# so Blender reads the fixed floor back with an action and the camera with a second one (its
# fixed lens and focus distance, on the camera data). This factor (relative tolerance 1e-8,
# below float32 key precision) writes no keys for a channel that never changes and keeps each
# key of a moving one, except inside exact holds, which the keys around them reproduce.
_SIMPLIFY_UNCHANGED_ONLY = 1e-5


def _arguments(argv: list) -> tuple:
    args = argv[argv.index("--") + 1:] if "--" in argv else argv[1:]
    if len(args) != 3:
        raise SystemExit("usage: fbx_blender_script.py IN.glb OUT.fbx FPS")
    return args[0], args[1], float(args[2])


def convert(glb_path: str, fbx_path: str, fps: float) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    # The glTF importer turns key times (seconds) into frames at the scene's rate.
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps
    bpy.ops.import_scene.gltf(filepath=glb_path)
    tidy_import()
    ranges = [action.frame_range for action in bpy.data.actions]
    if ranges:
        scene.frame_start = int(min(r[0] for r in ranges))
        scene.frame_end = int(max(r[1] for r in ranges))
    bpy.ops.export_scene.fbx(
        filepath=fbx_path,
        use_selection=False,
        object_types={"ARMATURE", "MESH", "CAMERA"},
        add_leaf_bones=False,
        bake_anim=True,
        bake_anim_use_all_actions=False,
        bake_anim_use_nla_strips=False,
        bake_anim_simplify_factor=_SIMPLIFY_UNCHANGED_ONLY,
        axis_forward="-Z",
        axis_up="Y",
    )


def tidy_import() -> None:
    """No bone-shape helper objects; each object's action (same name) active, no NLA copies."""
    armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    shapes = set()
    for armature in armatures:
        for bone in armature.pose.bones:
            if bone.custom_shape is not None:
                shapes.add(bone.custom_shape)
                bone.custom_shape = None
    for shape in shapes:
        mesh = shape.data if shape.type == "MESH" else None
        bpy.data.objects.remove(shape, do_unlink=True)
        if mesh is not None and mesh.users == 0:
            bpy.data.meshes.remove(mesh)
    for obj in bpy.data.objects:
        action = bpy.data.actions.get(obj.name)
        if action is None:
            continue
        data = obj.animation_data or obj.animation_data_create()
        for track in list(data.nla_tracks):
            data.nla_tracks.remove(track)
        data.action = action
        if hasattr(data, "action_slot") and data.action_slot is None and action.slots:
            data.action_slot = action.slots[0]  # Blender >= 4.4: actions hold slots


if __name__ == "__main__":
    convert(*_arguments(sys.argv))
