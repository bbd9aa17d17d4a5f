"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synthetic_smplx import write_synthetic_smplx


@pytest.fixture(scope="session")
def smplx_model_dir(tmp_path_factory) -> Path:
    """A folder holding a synthetic SMPLX_NEUTRAL.npz (see tests/synthetic_smplx.py)."""
    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx_model"))


@pytest.fixture(scope="session")
def world_smplx_dir(tmp_path_factory) -> Path:
    """The synthetic SMPL-X with flat soles at the foot joints (see tests/synthetic_world.py)."""
    from tests.synthetic_world import write_world_smplx

    return write_world_smplx(tmp_path_factory.mktemp("world_smplx"))
