"""AiOSConfig as data: --model-config files, checkpoint records, and checkpoints that say what
architecture they hold."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_network import SHORT_STAGES, TINY, build_tiny_network

from aios_core.errors import AiosError
from aios_core.model.checkpoint import CheckpointMismatchError, load_checkpoint_into
from aios_core.model.config import AiOSConfig
from aios_core.model.config_record import (
    MODEL_CONFIG_KEY,
    ModelConfigError,
    architecture_summary,
    config_from_record,
    config_record,
    read_model_config_file,
)
from aios_core.model.network import AiOS


def test_toml_and_json_files_give_the_same_config(tmp_path) -> None:
    (tmp_path / "m.toml").write_text(
        "hidden_dim = 32\nnheads = 2\nenc_layers = 1\ndec_layers = 4\n"
        "num_box_decoder_layers = 1\nnum_hand_face_decoder_layers = 3\n"
        "dim_feedforward = 64\nnum_queries = 20\nnum_group = 3\n")
    fields = {"hidden_dim": 32, "nheads": 2, "enc_layers": 1, "dec_layers": 4,
              "num_box_decoder_layers": 1, "num_hand_face_decoder_layers": 3,
              "dim_feedforward": 64, "num_queries": 20, "num_group": 3}
    (tmp_path / "m.json").write_text(json.dumps(fields))
    assert read_model_config_file(tmp_path / "m.toml") == SHORT_STAGES
    assert read_model_config_file(tmp_path / "m.json") == SHORT_STAGES


@pytest.mark.parametrize(("text", "message"), [
    ("hidden_dims = 32\n", "unknown model config field(s) hidden_dims; known fields: hidden_dim"),
    ("hidden_dim = '32'\n", "hidden_dim must be an integer, got '32'"),
    ("dropout = true\n", "dropout must be a number, got True"),
    ("return_interm_indices = [1, 2.5]\n", "return_interm_indices must be a list of int"),
    ("num_box_decoder_layers = 3\n",
     "num_hand_face_decoder_layers must equal num_box_decoder_layers + 2"),
    ("hidden_dim = \n", "not valid TOML"),
])
def test_bad_model_config_files_are_refused_by_name(tmp_path, text, message) -> None:
    path = tmp_path / "model.toml"
    path.write_text(text)
    with pytest.raises(ModelConfigError) as info:
        read_model_config_file(path)
    assert str(info.value).startswith(f"--model-config {path}: ")
    assert message in str(info.value)
    assert isinstance(info.value, AiosError)  # the CLI reports it as a usage error (exit 2)


def test_record_round_trip_tolerates_retired_fields_and_refuses_newer_schemas() -> None:
    record = config_record(TINY)
    assert config_from_record(record, "x") == TINY
    json.dumps(record)  # plain values only: weights_only loading reads them
    older = {"schema_version": 1, "fields": {**record["fields"], "num_select": 50,
                                             "focal_length_px": [5000.0, 5000.0]}}
    assert config_from_record(older, "x") == TINY
    with pytest.raises(ModelConfigError, match="schema version 2; this aios reads version 1"):
        config_from_record({**record, "schema_version": 2}, "checkpoint c.pth")


def test_a_checkpoint_rebuilds_the_architecture_it_records(tmp_path) -> None:
    network = build_tiny_network(0, SHORT_STAGES)
    path = tmp_path / "short.pth"
    torch.save({"model": network.state_dict(), MODEL_CONFIG_KEY: config_record(SHORT_STAGES)},
               path)
    loaded = AiOS.from_checkpoint(path)
    assert loaded.config == SHORT_STAGES
    for name, value in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name

    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint_into(build_tiny_network(0), path)
    message = str(info.value)
    assert message.startswith(f"this checkpoint holds {architecture_summary(SHORT_STAGES)}; "
                              f"the network was built as {architecture_summary(TINY)}: ")
    assert "AiOS hidden 32, 2 heads, feed-forward 64, 1 encoder / 4 decoder layers (box 1, " \
           "body 2, whole-body 1), 20 queries, 3 persons" in message


def test_a_checkpoint_without_a_record_loads_as_the_released_architecture(tmp_path) -> None:
    path = tmp_path / "unrecorded.pth"
    state = build_tiny_network(0).state_dict()
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        AiOS.from_checkpoint(path)  # no record: built as AiOSConfig(), which it does not fit
    assert str(info.value).startswith(
        "this checkpoint holds an architecture it does not record (no model config in the "
        "file); its weights say hidden 64, feed-forward 128, 1 encoder / 5 decoder layers, "
        f"4 feature levels; the network was built as {architecture_summary(AiOSConfig())}")
    assert "(the released architecture)" in str(info.value)
    assert AiOS.from_checkpoint(path, config=TINY).config == TINY  # an explicit config wins
