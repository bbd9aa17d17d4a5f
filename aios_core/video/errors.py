"""Exceptions raised by the video input/output helpers."""

from __future__ import annotations


class VideoInputError(ValueError):
    """The input cannot be used: missing, not a video or image, or without any frame."""


class VideoOutputError(ValueError):
    """The output video cannot be written (bad path, unknown container, bad frames)."""
