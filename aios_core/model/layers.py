"""Small building blocks shared by the encoder, decoder and heads."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Rows a row-wise block computes at a time on the CPU when nothing needs gradients: the encoder
# FFN's 2048-wide activations for 2048 rows are 16 MB, which stay in the cache between the two
# matrix products instead of a 180 MB round trip through memory (an encoder layer's FFN ran
# ~1.5x faster so on a 2-core Zen 4). Every row gets the same bits either way: each operation
# is row-wise and the matrix products block along the reduced dimension, not along rows.
# Except for very few rows: MKL multiplies fewer than 8 rows another way (other bits), so the
# rows are split evenly and no chunk has fewer than ROW_CHUNK / 2 of them
# (``tests/test_row_chunks.py`` checks the network's shapes, including a 2049-row input). GPU
# tensors stay in one piece: GPU matrix libraries pick their algorithm by shape, so a chunk
# could get other bits than the whole, and the pieces were measured for the CPU only.
ROW_CHUNK = 2048


def apply_by_rows(function: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``function(x)`` for a function that treats every row (last dimension) on its own,
    computed in even chunks of at most ``ROW_CHUNK`` rows on the CPU when autograd is off.
    x (..., C) -> (..., C')."""
    rows = x.reshape(-1, x.shape[-1])
    if x.device.type != "cpu" or torch.is_grad_enabled() or rows.shape[0] <= ROW_CHUNK:
        return function(x)
    chunks = -(-rows.shape[0] // ROW_CHUNK)
    parts = [function(part) for part in rows.tensor_split(chunks)]
    return torch.cat(parts).reshape(*x.shape[:-1], parts[0].shape[-1])


# The official util/misc.py clamps with this epsilon; boxes round-trip through it, so it must match.
INVERSE_SIGMOID_EPS = 1e-3


def inverse_sigmoid(x: Tensor, eps: float = INVERSE_SIGMOID_EPS) -> Tensor:
    """Logit of ``x`` clamped to [0, 1]; numerator and denominator are floored at ``eps``."""
    x = x.clamp(min=0.0, max=1.0)
    numerator = x.clamp(min=eps)
    denominator = (1.0 - x).clamp(min=eps)
    return torch.log(numerator / denominator)


class MLP(nn.Module):
    """Stack of ``num_layers`` linear layers with ReLU between them (none after the last)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
        super().__init__()
        self.num_layers = num_layers
        in_dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        out_dims = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(in_dims, out_dims, strict=True))

    def forward(self, x: Tensor) -> Tensor:
        last = len(self.layers) - 1
        for index, linear in enumerate(self.layers):
            x = linear(x)
            if index < last:
                x = F.relu(x)
        return x


def _relu_in_place(x: Tensor) -> Tensor:
    """ReLU written into ``x``: the feed-forward blocks apply it to a fresh linear output (no
    other reader), and autograd needs only its result, so the 2048-wide activations get one
    pass and no new buffer (about 4% of an encoder FFN on the CPU); the same numbers."""
    return F.relu(x, inplace=True)


_FUNCTIONAL_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": _relu_in_place,
    "gelu": F.gelu,
    "glu": F.glu,
    "selu": F.selu,
}


def activation_from_name(name: str) -> Callable[[Tensor], Tensor]:
    """Activation for a config name; 'prelu' is a module (it has a parameter), the rest functions
    ('relu' writes into its input: give it a fresh tensor).

    Functions rather than modules keep the state dict free of extra keys, as in the official code.
    """
    if name == "prelu":
        return nn.PReLU()
    if name not in _FUNCTIONAL_ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected relu, gelu, glu, prelu or selu")
    return _FUNCTIONAL_ACTIVATIONS[name]
