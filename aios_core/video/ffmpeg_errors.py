"""FFmpeg's errors in plain words: PyAV's "[Errno 1094995529] Invalid data found when
processing input: 'clip.mp4'" says nothing a user can act on."""

from __future__ import annotations

import av

# PyAV error classes whose FFmpeg wording ("Invalid data found when processing input") reads
# like an internal failure; what it means for the user's file instead.
_PLAIN_REASONS: dict[type[BaseException], str] = {
    av.error.InvalidDataError: "the data is not a video FFmpeg can read (damaged, or not a video)",
    av.error.EOFError: "the file ends too early (truncated?)",
    av.error.PermissionError: "permission denied",
    av.error.FileNotFoundError: "the file does not exist",
    av.error.IsADirectoryError: "it is a folder",
    av.error.DecoderNotFoundError: "this FFmpeg build has no decoder for its codec",
    av.error.PatchWelcomeError: "FFmpeg does not support this feature of the file",
}


def plain_ffmpeg_reason(error: BaseException) -> str:
    """One short clause for an FFmpeg/PyAV error: no '[Errno 1094995529]', no repeated path."""
    for error_type, reason in _PLAIN_REASONS.items():
        if isinstance(error, error_type):
            return reason
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    text = " ".join(str(text).split())
    return text[:1].lower() + text[1:]
