"""Loading official-format checkpoints: layouts, strictness, readable errors, unsafe content."""

from __future__ import annotations

import argparse
import os
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from aios_core.assets import AssetNotFoundError
from aios_core.model.checkpoint import (
    CheckpointFormatError,
    CheckpointMismatchError,
    load_checkpoint_into,
    read_state_dict,
)


class _Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 8), nn.Linear(8, 2)])


class _StandIn(nn.Module):
    """Small network with parameters, buffers and nesting, like AiOS's state-dict layout."""

    def __init__(self):
        super().__init__()
        self.input_proj = nn.Conv2d(3, 4, 1)
        self.norm = nn.BatchNorm1d(4)
        self.class_embed = _Head()


def _random_state(seed: int) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    return OrderedDict(
        (k, torch.randn(v.shape, generator=g).to(v.dtype) if v.is_floating_point() else v + seed)
        for k, v in _StandIn().state_dict().items()
    )


def _save_official(path: Path, model_state: dict, prefix: str = "") -> Path:
    """The layout main.py writes: weights plus optimizer, scheduler, epoch, args and EMA."""
    torch.save(
        {
            "model": OrderedDict((prefix + k, v) for k, v in model_state.items()),
            "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]},
            "lr_scheduler": {"milestones": {30: 1, 60: 1}, "last_epoch": 5},
            "epoch": 5,
            "args": argparse.Namespace(lr=1e-4, lr_drop_list=[30, 60], output_dir="runs/x"),
            "ema_model": _random_state(99),
        },
        path,
    )
    return path


def _assert_loaded(model: nn.Module, state: dict) -> None:
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_layout_loads_strictly(tmp_path, prefix):
    state = _random_state(1)
    path = _save_official(tmp_path / "aios_checkpoint.pth", state, prefix)
    model = _StandIn()
    load_checkpoint_into(model, path)
    _assert_loaded(model, state)  # 'model', not 'ema_model', as official inference


def test_bare_state_dict_loads(tmp_path):
    state = _random_state(2)
    torch.save(state, tmp_path / "bare.pth")
    model = _StandIn()
    load_checkpoint_into(model, tmp_path / "bare.pth")
    _assert_loaded(model, state)


def test_directory_resolves_to_the_official_file_name(tmp_path):
    state = _random_state(3)
    _save_official(tmp_path / "aios_checkpoint.pth", state)
    model = _StandIn()
    load_checkpoint_into(model, tmp_path)
    _assert_loaded(model, state)


def _mismatch_message(tmp_path, state) -> str:
    torch.save({"model": state, "epoch": 0}, tmp_path / "bad.pth")
    model = _StandIn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint_into(model, tmp_path / "bad.pth")
    _assert_loaded(model, before)  # nothing was half-loaded
    assert "Traceback" not in str(info.value)
    return str(info.value)


def test_missing_key_is_reported(tmp_path):
    state = _random_state(4)
    del state["class_embed.layers.1.bias"]
    message = _mismatch_message(tmp_path, state)
    assert "1 missing" in message
    assert "class_embed.layers.1.bias" in message
    assert "unexpected" not in message


def test_unexpected_key_is_reported(tmp_path):
    state = _random_state(5)
    state["label_enc.weight"] = torch.zeros(3, 4)
    message = _mismatch_message(tmp_path, state)
    assert "1 unexpected" in message
    assert "label_enc.weight" in message
    assert "missing" not in message


def test_shape_difference_is_reported(tmp_path):
    state = _random_state(6)
    state["class_embed.layers.0.weight"] = torch.zeros(9, 4)
    message = _mismatch_message(tmp_path, state)
    assert "class_embed.layers.0.weight: checkpoint (9, 4) vs network (8, 4)" in message


def test_all_differences_in_one_error_and_long_lists_truncated(tmp_path):
    state = _random_state(7)
    state["input_proj.weight"] = torch.zeros(1)
    del state["norm.running_var"]
    for i in range(25):
        state[f"extra.{i:02d}"] = torch.zeros(1)
    message = _mismatch_message(tmp_path, state)
    assert "1 missing" in message and "norm.running_var" in message
    assert "25 unexpected" in message and "... and 15 more" in message
    assert "extra.00" in message and "extra.24" not in message
    assert "1 with a different shape" in message


def test_missing_file_raises_asset_not_found(tmp_path):
    with pytest.raises(AssetNotFoundError, match="not found"):
        load_checkpoint_into(_StandIn(), tmp_path / "nowhere.pth")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_corrupt_file_raises_format_error(tmp_path, content):
    path = tmp_path / "corrupt.pth"
    if content == "truncated":
        _save_official(path, _random_state(8))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointFormatError, match="cannot read checkpoint"):
        load_checkpoint_into(_StandIn(), path)


def test_checkpoint_without_weights_lists_its_keys(tmp_path):
    torch.save({"epoch": 3, "notes": "x"}, tmp_path / "empty.pth")
    with pytest.raises(CheckpointFormatError, match="top-level keys: epoch, notes"):
        read_state_dict(tmp_path / "empty.pth")


# --- untrusted content -------------------------------------------------------------------------

def _leave_marker(path: str) -> str:
    """Stands for arbitrary code a malicious checkpoint would like to run."""
    Path(path).write_text("code from the checkpoint ran")
    return "payload"


class _Payload:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (_leave_marker, (self.marker,))


class _SystemCall:
    def __reduce__(self):
        return (os.system, ("true",))


def test_code_named_in_metadata_never_runs(tmp_path):
    marker = tmp_path / "marker.txt"
    state = _random_state(9)
    torch.save({"model": state, "args": _Payload(marker)}, tmp_path / "ckpt.pth")
    model = _StandIn()
    load_checkpoint_into(model, tmp_path / "ckpt.pth")
    assert not marker.exists()
    _assert_loaded(model, state)


def test_arbitrary_object_in_the_weights_is_refused(tmp_path):
    marker = tmp_path / "marker.txt"
    state = _random_state(10)
    state["norm.weight"] = _Payload(marker)
    torch.save({"model": state}, tmp_path / "ckpt.pth")
    with pytest.raises(CheckpointFormatError, match="not tensors: norm.weight"):
        load_checkpoint_into(_StandIn(), tmp_path / "ckpt.pth")
    assert not marker.exists()


def test_blocked_module_is_refused(tmp_path):
    torch.save({"model": _random_state(11), "args": _SystemCall()}, tmp_path / "ckpt.pth")
    with pytest.raises(CheckpointFormatError, match="cannot read checkpoint"):
        load_checkpoint_into(_StandIn(), tmp_path / "ckpt.pth")


def test_a_checkpoint_that_records_its_config_rebuilds_that_network(tmp_path):
    from aios_core.model.checkpoint import with_config
    from aios_core.model.network import AiOS
    from tests.tiny_network import TINY, build_tiny_network

    tiny = build_tiny_network()
    torch.save(with_config({"model": tiny.state_dict()}, TINY), tmp_path / "tiny.pth")
    loaded = AiOS.from_checkpoint(tmp_path / "tiny.pth")
    assert loaded.config == TINY
    for key, value in tiny.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_a_recorded_config_with_unknown_fields_is_refused(tmp_path):
    from aios_core.model.network import AiOS

    torch.save({"model": {}, "aios_config": {"hidden_dim": 64, "wings": 2}}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointFormatError, match=r"odd.pth: .*unknown fields: \['wings'\]"):
        AiOS.from_checkpoint(tmp_path / "odd.pth")
