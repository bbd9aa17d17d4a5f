"""Load the official AiOS checkpoint into a network, safely and strictly.

The official training script (``main.py``) saves ``{'model', 'optimizer', 'lr_scheduler',
'epoch', 'args'}`` plus ``'ema_model'`` when EMA is on, and official inference
(``--resume``) loads ``checkpoint['model']`` with a strict ``load_state_dict``; keys carry a
``module.`` prefix when saved from a DistributedDataParallel wrapper. ``args`` is an
``argparse.Namespace`` of plain values.

A checkpoint is untrusted input, so it is read with ``torch.load(weights_only=True)``:
``argparse.Namespace`` is allow-listed because it only stores attributes. Any other class or
function the file names (training metadata we never use) is never imported or called: it is
bound to an inert placeholder that merely records its arguments, and the state dict itself
must consist of tensors only. Names in the modules torch blocks outright (``os``, ``sys``,
...) make the file unreadable.

Checkpoints aios writes also record the architecture (``model_config``, see
``config_record``); ``read_checkpoint`` returns it with the weights, and a file that does not
fit the network says first what it holds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from aios_core.assets import resolve_checkpoint
from aios_core.errors import AiosError
from aios_core.io.file_kind import describe_file
from aios_core.model.config import AiOSConfig
from aios_core.model.config_record import (
    MODEL_CONFIG_KEY,
    architecture_summary,
    config_from_record,
    weights_summary,
)

# Where the weights live in a checkpoint dict, in order of preference (official inference
# reads 'model').
STATE_DICT_KEYS = ("model", "ema_model", "state_dict")
_DDP_PREFIX = "module."
_LIST_LIMIT = 10  # names shown per category in a mismatch report


class CheckpointFormatError(AiosError, ValueError):
    """The file is not a readable AiOS checkpoint (corrupt, unsafe, or no state dict)."""


class CheckpointMismatchError(AiosError, ValueError):
    """The checkpoint's tensors do not match the network's parameters and buffers."""


class _InertRecord:
    """Stands in for a class or function named in a checkpoint that is not allow-listed.

    Calling or rebuilding it only stores what the file passed; nothing named in the file runs.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args = args
        self.kwargs = kwargs

    def __setstate__(self, state: object) -> None:
        self.state = state


def _allowing(extra_globals: list):
    """Context in which torch.load(weights_only=True) also accepts ``extra_globals``."""
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    return safe_globals(extra_globals) if safe_globals else contextlib.nullcontext()


def _load_weights_only(path: os.PathLike) -> object:
    """torch.load with weights_only=True; unknown globals are bound to _InertRecord."""
    # torch warns about some unreadable pickles on top of raising: the raise is explained.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _load_allowing_inert_records(path)


def _load_allowing_inert_records(path: os.PathLike) -> object:
    allowed: list = [argparse.Namespace]
    try:
        with _allowing(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        unknown = _unknown_globals(path)
        if not unknown:
            raise _unreadable(path, error) from error
    inert = [(_InertRecord, name) for name in unknown]
    try:
        with _allowing(allowed + inert):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure here means an unusable file
        raise _unreadable(path, error) from error


def _unknown_globals(path: os.PathLike) -> list[str]:
    """Names of classes/functions the file refers to that weights_only does not allow."""
    lister = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if lister is None:  # torch < 2.5
        return []
    try:
        return [name for name in lister(path) if name != "argparse.Namespace"]
    except Exception:  # noqa: BLE001 - not a zip checkpoint: report the original error
        return []


# Lines of torch's weights_only error text that carry no information about this file.
_BOILERPLATE = ("Weights only load failed", "Check the documentation", "return Unpickler(")


def _error_detail(error: BaseException) -> str:
    """The informative part of a loading error, on one line."""
    lines = []
    for line in str(error).splitlines():
        line = line.strip()
        if "WeightsUnpickler error:" in line:
            line = line.split("WeightsUnpickler error:", 1)[1].strip()
        if line and not line.startswith(_BOILERPLATE):
            lines.append(line)
    if not lines:
        return "unexpected end of file" if isinstance(error, EOFError) else type(error).__name__
    detail = " ".join(lines)
    if len(detail) > 160:  # torch's longer messages continue with advice; keep the finding
        detail = detail.split(". ", 1)[0]
    return detail.rstrip(".")


def _unreadable(path: os.PathLike, error: BaseException) -> CheckpointFormatError:
    # Outside a zip checkpoint torch's unpickler speaks of its own internals ("pop from empty
    # list", "Unsupported operand 149"): say what the file is instead.
    detail = (_error_detail(error) if zipfile.is_zipfile(path)
              else f"it is {describe_file(Path(path))}")
    return CheckpointFormatError(
        f"cannot read checkpoint {path}: {detail}. It is not a readable, safe "
        "PyTorch checkpoint (truncated, corrupt, another format, or it names code that may not "
        "run); re-download the official AiOS checkpoint."
    )


@dataclass
class StoredCheckpoint:
    """The weights of a checkpoint file and the architecture it records (None: unrecorded)."""

    path: os.PathLike
    state: dict[str, Tensor]
    model_config: AiOSConfig | None  # None for the official release and other foreign files

    def summary(self) -> str:
        """What the file holds, for messages: the recorded config, or what the shapes say."""
        if self.model_config is not None:
            return architecture_summary(self.model_config)
        return weights_summary(self.state)


def read_checkpoint(path: str | os.PathLike) -> StoredCheckpoint:
    """Weights (without ``module.``) and recorded ``AiOSConfig`` of a checkpoint file."""
    path = resolve_checkpoint(path)
    try:
        content = _load_weights_only(path)
    except (CheckpointFormatError, OSError):
        raise  # already explained, or a file-system problem that explains itself
    except Exception as error:  # noqa: BLE001 - e.g. truncated zip, empty file, garbage
        raise _unreadable(path, error) from error
    state = _find_state_dict(content, path)
    bad = [key for key, value in state.items() if not isinstance(value, Tensor)]
    if bad:
        raise CheckpointFormatError(
            f"checkpoint {path}: state dict entries that are not tensors: {_names(bad)}"
        )
    record = content.get(MODEL_CONFIG_KEY) if isinstance(content, Mapping) else None
    model_config = None if record is None else config_from_record(record, f"checkpoint {path}")
    return StoredCheckpoint(
        path=path, state={_strip_ddp_prefix(str(k)): v for k, v in state.items()},
        model_config=model_config)


def read_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """The network weights stored in an official-format checkpoint, without ``module.``."""
    return read_checkpoint(path).state


def _find_state_dict(content: object, path: os.PathLike) -> Mapping:
    if not isinstance(content, Mapping):
        raise CheckpointFormatError(
            f"checkpoint {path} holds a {type(content).__name__}, not a dict of weights"
        )
    for key in STATE_DICT_KEYS:
        if isinstance(content.get(key), Mapping):
            return content[key]
    if content and all(isinstance(v, Tensor) for v in content.values()):
        return content  # a bare state dict
    raise CheckpointFormatError(
        f"checkpoint {path} has no weights under any of {list(STATE_DICT_KEYS)}; "
        f"top-level keys: {_names([str(k) for k in content])}"
    )


def _strip_ddp_prefix(key: str) -> str:
    return key[len(_DDP_PREFIX):] if key.startswith(_DDP_PREFIX) else key


def _names(names: list[str], limit: int = _LIST_LIMIT) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... and {len(names) - limit} more" if len(names) > limit else "")


def describe_mismatch(expected: Mapping[str, Tensor], provided: Mapping[str, Tensor]) -> str:
    """Readable list of missing keys, unexpected keys and shape differences; '' if none."""
    missing = [k for k in expected if k not in provided]
    unexpected = [k for k in provided if k not in expected]
    shapes = [
        f"{k}: checkpoint {tuple(provided[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in provided and tuple(provided[k].shape) != tuple(expected[k].shape)
    ]
    lines = []
    if missing:
        lines.append(f"{len(missing)} missing (in the network, not in the checkpoint): "
                     f"{_names(missing)}")
    if unexpected:
        lines.append(f"{len(unexpected)} unexpected (in the checkpoint, not in the network): "
                     f"{_names(unexpected)}")
    if shapes:
        lines.append(f"{len(shapes)} with a different shape: {_names(shapes)}")
    return "\n  ".join(lines)


def load_checkpoint_into(model: nn.Module, path: str | os.PathLike) -> None:
    """Strictly load an official AiOS checkpoint into ``model`` (any device).

    Raises AssetNotFoundError if the file is missing, CheckpointFormatError if it cannot be
    read safely, CheckpointMismatchError (one message, all differences) if keys or shapes
    differ from the network's.
    """
    load_stored_into(model, read_checkpoint(path))


def load_stored_into(model: nn.Module, stored: StoredCheckpoint) -> None:
    """Strict load of ``stored`` into ``model``; a mismatch says what the file holds first."""
    mismatch = describe_mismatch(model.state_dict(), stored.state)
    if mismatch:
        network = getattr(model, "config", None)
        built = (f"; the network was built as {architecture_summary(network)}"
                 if isinstance(network, AiOSConfig) else "")
        raise CheckpointMismatchError(
            f"this checkpoint holds {stored.summary()}{built}: {stored.path} does not fit this "
            f"network (strict load):\n  {mismatch}"
        )
    try:
        model.load_state_dict(stored.state, strict=True)
    except RuntimeError as error:  # e.g. a tensor that cannot be copied (dtype)
        raise CheckpointMismatchError(
            f"checkpoint {stored.path} could not be loaded: {error}") from None
