"""Row-wise blocks computed in chunks give the bits of one piece, on the network's shapes."""

from __future__ import annotations

import pytest
import torch

from aios_core.model import layers
from aios_core.model.decoder_layer import DeformableDecoderLayer
from aios_core.model.encoder import DeformableEncoderLayer
from aios_core.model.layers import ROW_CHUNK, apply_by_rows


@pytest.mark.parametrize("rows", [ROW_CHUNK + 1, 3 * ROW_CHUNK + 517])
def test_encoder_feed_forward_in_chunks_changes_no_bit(rows):
    torch.manual_seed(0)
    layer = DeformableEncoderLayer(d_model=256, d_ffn=2048).eval()  # the released widths
    src = torch.randn(1, rows, 256)
    with torch.no_grad():
        chunked = apply_by_rows(layer._feed_forward, src)
        with torch.enable_grad():  # autograd on: one piece
            whole = layer._feed_forward(src).detach()
    assert torch.equal(chunked, whole)


def test_decoder_feed_forward_in_chunks_changes_no_bit():
    torch.manual_seed(1)
    layer = DeformableDecoderLayer(d_model=256, d_ffn=2048).eval()
    queries = torch.randn(3900, 1, 256)  # the whole-body stage: 100 persons x 39 tokens
    with torch.no_grad():
        chunked = apply_by_rows(layer._feed_forward, queries)
    whole = layer._feed_forward(queries).detach()
    assert torch.equal(chunked, whole)


def test_chunks_only_without_autograd(monkeypatch):
    monkeypatch.setattr(layers, "ROW_CHUNK", 4)
    calls: list[int] = []

    def row_sums(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.reshape(-1, x.shape[-1]).shape[0])
        return x.sum(-1, keepdim=True) * 2

    x = torch.randn(2, 5, 3, requires_grad=True)
    with torch.no_grad():
        out = apply_by_rows(row_sums, x)
    assert calls == [4, 3, 3]  # even chunks: none much smaller than the others
    assert out.shape == (2, 5, 1)
    torch.testing.assert_close(out, x.detach().sum(-1, keepdim=True) * 2)
    calls.clear()
    apply_by_rows(row_sums, x).sum().backward()  # gradients flow through the one piece
    assert calls == [10]
    torch.testing.assert_close(x.grad, torch.full_like(x, 2.0))


def test_tensors_off_the_cpu_stay_in_one_piece(monkeypatch):
    monkeypatch.setattr(layers, "ROW_CHUNK", 4)
    calls: list[int] = []

    def rows_seen(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.reshape(-1, x.shape[-1]).shape[0])
        return x

    with torch.no_grad():
        apply_by_rows(rows_seen, torch.empty(10, 3, device="meta"))
        apply_by_rows(rows_seen, torch.empty(10, 3))
    assert calls == [10, 4, 3, 3]
