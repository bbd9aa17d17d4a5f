"""bench/matrix_floor.py: the forward's matrix calls are recorded once each with their counts,
and replayed on tensors of the same layouts."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from matrix_floor import TensorLayout, record_matrix_calls, shape_floor_s  # noqa: E402


def test_calls_are_recorded_with_layouts_and_counts_and_replayed():
    linear = nn.Linear(8, 16)
    conv = nn.Conv2d(3, 4, 3)
    x = torch.randn(5, 8)
    image = torch.randn(1, 3, 9, 9)

    def forward() -> None:
        with torch.inference_mode():
            for _ in range(3):
                linear(x)
            conv(image)
            torch.bmm(torch.randn(2, 3, 4), torch.randn(1, 4, 5).expand(2, 4, 5))
            torch.relu(x)  # not a matrix product: not recorded

    calls = record_matrix_calls(forward)
    by_op = {str(call.op): (call, count) for call, count in calls.items()}
    assert set(by_op) == {"aten.linear.default", "aten.conv2d.default", "aten.bmm.default"}
    call, count = by_op["aten.linear.default"]
    assert count == 3
    assert call.args[0] == TensorLayout((5, 8), (8, 1), torch.float32)
    bmm, _ = by_op["aten.bmm.default"]
    assert bmm.args[1].stride == (0, 5, 1)  # a broadcast operand keeps its layout
    seconds = shape_floor_s(calls, torch.device("cpu"), repeats=2)
    assert 0 < seconds < 1.0
