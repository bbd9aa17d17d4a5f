"""The world frame of a run: the real camera, the floor, gravity, and each person's path.

Light at import: each job lives in its own module (``intrinsics``, ``rescale``,
``camera_motion``, ``ground_plane``, ``world_axes``, ``stage``); import the one you need.
"""
