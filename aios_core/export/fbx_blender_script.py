"""Convert an aios glb export to FBX inside Blender (standalone: imports nothing from aios).

Run by ``aios_core.export.fbx`` as either of::

    blender --background --factory-startup --python fbx_blender_script.py -- IN.glb OUT.fbx FPS
    python fbx_blender_script.py IN.glb OUT.fbx FPS      # a Python with the `bpy` module

Blender's own glTF importer builds the armature, skinned mesh and action; its FBX exporter
writes them with the animation baked at FPS.
"""

import sys

import bpy


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
    ranges = [action.frame_range for action in bpy.data.actions]
    if ranges:
        scene.frame_start = int(min(r[0] for r in ranges))
        scene.frame_end = int(max(r[1] for r in ranges))
    bpy.ops.export_scene.fbx(
        filepath=fbx_path,
        use_selection=False,
        object_types={"ARMATURE", "MESH"},
        add_leaf_bones=False,
        bake_anim=True,
        bake_anim_use_all_actions=False,
        bake_anim_use_nla_strips=False,
        bake_anim_simplify_factor=0.0,
        axis_forward="-Z",
        axis_up="Y",
    )


if __name__ == "__main__":
    convert(*_arguments(sys.argv))
