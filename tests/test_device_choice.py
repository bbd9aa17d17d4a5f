"""`choose_device`: the one place a command picks its torch device."""

from __future__ import annotations

import pytest
import torch

import aios_core.model.deformable_attention as da
from aios_core.device import DeviceUnavailableError, choose_device
from aios_core.errors import AiosError


def test_cpu_is_always_available_and_registers_no_kernel() -> None:
    assert choose_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert choose_device("auto") == torch.device("cpu")
        assert da.registered_kernel() is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_asking_for_cuda_without_a_gpu_is_a_user_error() -> None:
    with pytest.raises(DeviceUnavailableError, match="no CUDA device.*--device cpu"):
        choose_device("cuda")
    assert issubclass(DeviceUnavailableError, AiosError)


def test_an_unknown_device_name_is_refused() -> None:
    with pytest.raises(DeviceUnavailableError, match="auto, cpu or cuda.*'tpu'"):
        choose_device("tpu")


def test_the_model_does_not_import_the_kernel_package() -> None:
    import ast
    from pathlib import Path

    import aios_core.model

    for source in Path(aios_core.model.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        assert not any(name.split(".")[0] == "cuda_ops" for name in imported), source.name
