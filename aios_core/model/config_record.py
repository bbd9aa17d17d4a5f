"""``AiOSConfig`` as plain data: in checkpoints, in ``--model-config`` files, in messages.

A checkpoint aios writes stores ``{"schema_version": 1, "fields": {name: value}}`` under
``MODEL_CONFIG_KEY``; the values are ints, floats, strings and lists only, so the restricted
unpickler of ``torch.load(weights_only=True)`` reads them. The official checkpoint holds no
record and is built as the default ``AiOSConfig()``.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from pathlib import Path

import tomllib

from aios_core.errors import AiosError
from aios_core.model.config import AiOSConfig

MODEL_CONFIG_KEY = "model_config"
CONFIG_SCHEMA_VERSION = 1
# Fields older versions recorded that the network never read; ignored when found in a record.
RETIRED_FIELDS = frozenset(
    {"dn_number", "focal_length_px", "camera_3d_size", "input_body_shape"}
)


class ModelConfigError(AiosError):
    """A model configuration (file or checkpoint record) that cannot be used as given."""


def _default(field) -> object:
    return field.default if field.default is not MISSING else field.default_factory()


def config_values(config: AiOSConfig) -> dict[str, object]:
    """Every field of ``config`` as plain values (tuples become lists)."""
    return {f.name: (list(v) if isinstance(v := getattr(config, f.name), tuple) else v)
            for f in fields(config)}


def _checked(name: str, value: object, default: object, source: str) -> object:
    """``value`` in the type of the field's default, or a ModelConfigError naming both."""
    expected = type(default)
    if expected is tuple and isinstance(value, list | tuple):
        inner = type(default[0]) if default else object
        items = [float(v) if inner is float and isinstance(v, int) else v for v in value]
        if all(isinstance(v, inner) and not isinstance(v, bool) for v in items):
            return tuple(items)
    elif expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, expected) and (expected is bool or not isinstance(value, bool)):
        return value
    raise ModelConfigError(f"{source}: {name} must be {_type_name(default)}, got {value!r}")


def _type_name(default: object) -> str:
    if isinstance(default, tuple):
        return f"a list of {type(default[0]).__name__}" if default else "a list"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        type(default), type(default).__name__)


def config_from_values(values: dict, source: str) -> AiOSConfig:
    """An ``AiOSConfig`` from field values (missing = default); unknown names are refused."""
    known = {f.name: f for f in fields(AiOSConfig)}
    unknown = sorted(set(values) - set(known) - RETIRED_FIELDS)
    if unknown:
        raise ModelConfigError(
            f"{source}: unknown model config field(s) {', '.join(unknown)}; known fields: "
            f"{', '.join(known)}")
    checked = {name: _checked(name, value, _default(known[name]), source)
               for name, value in values.items() if name in known}
    try:
        return AiOSConfig(**checked)
    except ValueError as error:  # the stage-layout rules of AiOSConfig.__post_init__
        raise ModelConfigError(f"{source}: {error}") from None


def config_record(config: AiOSConfig) -> dict:
    """What a checkpoint stores under ``MODEL_CONFIG_KEY``."""
    return {"schema_version": CONFIG_SCHEMA_VERSION, "fields": config_values(config)}


def config_from_record(record: object, source: str) -> AiOSConfig:
    """The ``AiOSConfig`` a checkpoint recorded; ModelConfigError if the record is unusable."""
    if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
        raise ModelConfigError(f"{source}: its {MODEL_CONFIG_KEY!r} entry is not a model config "
                               "record (expected schema_version and fields)")
    version = record.get("schema_version")
    if version != CONFIG_SCHEMA_VERSION:
        raise ModelConfigError(
            f"{source}: model config schema version {version!r}; this aios reads version "
            f"{CONFIG_SCHEMA_VERSION} (update aios to load this checkpoint)")
    return config_from_values(record["fields"], source)


def read_model_config_file(path: Path) -> AiOSConfig:
    """``--model-config FILE``: a TOML or JSON table of AiOSConfig fields (others default)."""
    path = Path(path)
    if not path.is_file():
        raise ModelConfigError(f"--model-config {path}: file not found")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ModelConfigError(f"--model-config {path}: expected a .toml or .json file")
    text = path.read_text(encoding="utf-8")
    try:
        values = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ModelConfigError(f"--model-config {path}: not valid {suffix[1:].upper()} "
                               f"({error})") from None
    if not isinstance(values, dict):
        raise ModelConfigError(f"--model-config {path}: expected a table of field = value")
    return config_from_values(values, f"--model-config {path}")


def architecture_summary(config: AiOSConfig) -> str:
    """One line naming the numbers that fix the weights' shapes."""
    c = config
    body_layers = c.num_hand_face_decoder_layers - c.num_box_decoder_layers
    whole_layers = c.dec_layers - c.num_hand_face_decoder_layers
    default = " (the released architecture)" if config == AiOSConfig() else ""
    return (f"AiOS hidden {c.hidden_dim}, {c.nheads} heads, feed-forward {c.dim_feedforward}, "
            f"{c.enc_layers} encoder / {c.dec_layers} decoder layers (box "
            f"{c.num_box_decoder_layers}, body {body_layers}, whole-body {whole_layers}), "
            f"{c.num_queries} queries, "
            f"{c.num_group} persons, {c.num_feature_levels} feature levels{default}")


def differences(old: dict, new: dict, old_label: str, new_label: str) -> list[str]:
    """``"name: A <old_label>, B <new_label>"`` for every key whose values differ (labels such
    as "in the checkpoint", "now")."""
    lines = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, "(absent)"), new.get(name, "(absent)")
        if _plain(a) != _plain(b):
            lines.append(f"{name}: {a!r} {old_label}, {b!r} {new_label}")
    return lines


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _layer_count(state: dict, prefix: str) -> int:
    return len({key[len(prefix):].split(".", 1)[0] for key in state if key.startswith(prefix)})


def weights_summary(state: dict) -> str:
    """What the tensor shapes of a state dict without a config record say about it."""
    level_embed = state.get("transformer.level_embed")
    linear1 = state.get("transformer.encoder.layers.0.linear1.weight")
    if level_embed is None or linear1 is None or level_embed.dim() != 2:
        return "an architecture it does not record (no model config in the file)"
    levels, hidden = level_embed.shape
    return (f"an architecture it does not record (no model config in the file); its weights "
            f"say hidden {hidden}, feed-forward {linear1.shape[0]}, "
            f"{_layer_count(state, 'transformer.encoder.layers.')} encoder / "
            f"{_layer_count(state, 'class_embed.')} decoder layers, {levels} feature levels")
