"""Errors of the world stage (user-facing: one line, the CLI exits 2)."""

from __future__ import annotations

from aios_core.errors import AiosError


class WorldOptionError(AiosError):
    """A camera or floor option out of range (``--fov``, ``--focal-px``, ``--camera``)."""


class WorldInputError(AiosError):
    """The world stage cannot run on this input (e.g. ``--camera rotating`` with no frames)."""
