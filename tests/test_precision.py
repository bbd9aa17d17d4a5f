"""One map from precision names to dtypes, shared by run, eval, train and the benchmarks."""

from __future__ import annotations

import pytest
import torch

from aios_core.errors import AiosError
from aios_core.precision import PRECISIONS, PrecisionError, autocast_dtype, precision_dtype


def test_names_map_to_the_torch_dtypes():
    assert PRECISIONS == ("fp32", "bf16", "fp16")
    assert [precision_dtype(n) for n in PRECISIONS] == [torch.float32, torch.bfloat16,
                                                        torch.float16]
    assert [autocast_dtype(n) for n in PRECISIONS] == [None, torch.bfloat16, torch.float16]


def test_an_unknown_name_is_a_user_error_naming_the_choices():
    with pytest.raises(PrecisionError) as caught:
        autocast_dtype("fp8")
    assert isinstance(caught.value, AiosError)
    assert str(caught.value) == "--precision must be one of fp32, bf16, fp16, got 'fp8'"


def test_the_cli_offers_exactly_these_names():
    from aios_cli.run import run
    from aios_cli.train import train

    for command in (run, train):
        option = next(p for p in command.params if p.name == "precision")
        assert tuple(option.type.choices) == PRECISIONS
