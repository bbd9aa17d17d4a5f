"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synthetic_smplx import write_synthetic_smplx


@pytest.fixture(scope="session")
def smplx_model_dir(tmp_path_factory) -> Path:
    """A folder holding a synthetic SMPLX_NEUTRAL.npz (see tests/synthetic_smplx.py)."""
    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx_model"))
