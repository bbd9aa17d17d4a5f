"""What kind of file a path holds, from its first bytes: for messages such as "not an aios
results file: it is an MP4 video". Nothing is parsed or loaded beyond the leading bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

_HEAD_BYTES = 512
_TEXT_SHOWN = 40

# (offset, signature, description), first match wins.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "a zip archive"),
    (0, b"PK\x05\x06", "an empty zip archive"),
    (0, b"\x93NUMPY", "a single NumPy array (.npy)"),
    (4, b"ftyp", "an MP4/MOV video"),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"),
    (0, b"RIFF", "a RIFF file (AVI video or WAV audio)"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"glTF", "a binary glTF (.glb)"),
    (0, b"Kaydara FBX Binary", "an FBX file"),
    (0, b"\x80", "a Python pickle (not opened: a pickle can run code)"),
    (0, b"\x1f\x8b", "a gzip archive"),
)


def describe_file(path: Path) -> str:
    """A short noun phrase: 'an empty file', 'an MP4/MOV video', "a text file starting
    'HIERARCHY'", 'binary data of an unknown kind'."""
    path = Path(path)
    if path.is_dir():
        return "a folder"
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEAD_BYTES)
    except OSError as error:
        return f"unreadable ({error.strerror or error})"
    if not head:
        return "an empty file"
    for offset, signature, description in _SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            if signature.startswith(b"PK") and not zipfile.is_zipfile(path):
                return "a damaged (truncated?) zip archive"
            return description
    text = _as_text(head)
    if text is not None:
        first_line = text.strip().splitlines()[0] if text.strip() else ""
        shown = first_line[:_TEXT_SHOWN] + ("..." if len(first_line) > _TEXT_SHOWN else "")
        return f"a text file starting {shown!r}" if shown else "a text file of blank lines"
    return "binary data of an unknown kind"


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # a multi-byte character cut by the read
            return head[:error.start].decode("utf-8")
        return None
