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


def test_doctor_reports_the_versions_and_cpu_a_bug_report_needs(monkeypatch):
    import cv2
    import numba
    import torch

    monkeypatch.setattr(doctor, "check_renderer", lambda: doctor.Check("renderer", True, "stub"))
    checks = {check.name: check.detail for check in doctor.run_all()}
    assert torch.__version__ in checks["torch"]
    assert f"OpenCV {cv2.__version__}" in checks["libraries"]
    assert f"Numba {numba.__version__}" in checks["libraries"]
    assert "PyAV " in checks["video I/O"]
    # The instruction sets named match the kernel level torch chose on this CPU.
    capability = torch.backends.cpu.get_cpu_capability()
    assert capability in checks["CPU"]
    if capability in ("AVX2", "AVX512"):
        assert "AVX2" in checks["CPU"].split(";")[0]
    if capability == "AVX512":
        assert "AVX-512" in checks["CPU"].split(";")[0]
