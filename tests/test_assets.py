from pathlib import Path

import pytest

from aios_core import assets


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AIOS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_default_layout_follows_aios_home(home):
    assert assets.default_checkpoint_path() == home / "checkpoints" / "aios_checkpoint.pth"
    assert assets.default_smplx_dir() == home / "body_models" / "smplx"


def test_missing_checkpoint_names_file_place_and_source(home):
    with pytest.raises(assets.AssetNotFoundError) as info:
        assets.resolve_checkpoint()
    message = str(info.value)
    assert "aios_checkpoint.pth" in message
    assert str(home / "checkpoints") in message
    assert "github.com/ttxskk/AiOS" in message
    assert "--checkpoint" in message


def test_missing_explicit_checkpoint_reports_that_path(tmp_path, home):
    wanted = tmp_path / "elsewhere" / "mine.pth"
    with pytest.raises(assets.AssetNotFoundError, match="mine.pth"):
        assets.resolve_checkpoint(wanted)


def test_explicit_checkpoint_wins_over_home(tmp_path, home):
    explicit = tmp_path / "ckpt.pth"
    explicit.write_bytes(b"x")
    (home / "checkpoints").mkdir(parents=True)
    (home / "checkpoints" / "aios_checkpoint.pth").write_bytes(b"y")
    assert assets.resolve_checkpoint(explicit) == explicit
    assert assets.resolve_checkpoint() == home / "checkpoints" / "aios_checkpoint.pth"


def test_missing_smplx_names_file_place_and_source(home):
    with pytest.raises(assets.AssetNotFoundError) as info:
        assets.resolve_smplx_dir()
    message = str(info.value)
    assert "SMPLX_NEUTRAL.npz" in message
    assert str(home / "body_models" / "smplx") in message
    assert "smpl-x.is.tue.mpg.de" in message


@pytest.mark.parametrize("given", ["folder", "parent", "file"])
def test_smplx_dir_accepts_folder_parent_or_file(tmp_path, given):
    folder = tmp_path / "body_models" / "smplx"
    folder.mkdir(parents=True)
    (folder / "SMPLX_NEUTRAL.npz").write_bytes(b"npz")
    arg = {"folder": folder, "parent": folder.parent, "file": folder / "SMPLX_NEUTRAL.npz"}[given]
    assert assets.resolve_smplx_dir(arg) == folder
