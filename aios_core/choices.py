"""The names users choose between on the command line, and the defaults they see, in one
torch-free place (the CLI's help and validation import them without importing what implements
them). Precisions live beside their dtypes in ``precision.py``."""

from __future__ import annotations

DEVICE_CHOICES = ("auto", "cpu", "cuda")
# --camera of the world stage: "auto" decides from the background and says which.
CAMERA_CHOICES = ("static", "rotating", "moving", "auto")
# `aios export --format`; obj and ply write a folder of per-frame meshes.
EXPORT_FORMATS = ("npz", "json", "bvh", "glb", "fbx", "obj", "ply")
MESH_FORMATS = ("obj", "ply")

# --smooth-strength of run and batch, and what `aios ground` smooths with.
DEFAULT_SMOOTH_STRENGTH = 0.5
