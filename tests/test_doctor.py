from click.testing import CliRunner

from aios_cli.main import cli
from aios_core import doctor


def test_doctor_fails_without_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("AIOS_HOME", str(tmp_path))
    monkeypatch.setattr(doctor, "check_renderer", lambda: doctor.Check("renderer", True, "stub"))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "checkpoint" in result.output and "missing" in result.output


def test_doctor_passes_with_assets_present(tmp_path, monkeypatch):
    ckpt = tmp_path / "aios_checkpoint.pth"
    ckpt.write_bytes(b"0" * 2048)
    smplx_dir = tmp_path / "smplx"
    smplx_dir.mkdir()
    (smplx_dir / "SMPLX_NEUTRAL.npz").write_bytes(b"npz")
    result = CliRunner().invoke(
        cli, ["doctor", "--checkpoint", str(ckpt), "--smplx-dir", str(smplx_dir)]
    )
    assert result.exit_code == 0, result.output
    for name in ("torch", "checkpoint", "SMPL-X", "renderer", "video"):
        assert name in result.output


def test_renderer_probe_finds_a_platform():
    # install.sh provides Mesa's EGL, so a headless CPU machine must be able to render.
    check = doctor.check_renderer()
    assert check.ok, check.detail
