import os
import pickle

import pytest
from click.testing import CliRunner

from aios_cli.main import cli
from aios_core import doctor


def test_doctor_fails_without_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("AIOS_HOME", str(tmp_path))
    monkeypatch.setattr(doctor, "check_renderer", lambda: doctor.Check("renderer", True, "stub"))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "checkpoint" in result.output and "missing" in result.output


def test_doctor_passes_with_assets_present(fitting_checkpoint, smplx_model_dir):
    result = CliRunner().invoke(
        cli, ["doctor", "--checkpoint", str(fitting_checkpoint), "--smplx-dir",
              str(smplx_model_dir)]
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


# `aios doctor` opens the files as `aios run` does (safely) and says what it found.

@pytest.fixture(scope="module")
def fitting_checkpoint(tmp_path_factory):
    import torch

    from aios_core.model.config_record import MODEL_CONFIG_KEY, config_record
    from tests.tiny_network import TINY, build_tiny_network

    path = tmp_path_factory.mktemp("doctor") / "tiny.pth"
    torch.save({"model": build_tiny_network().state_dict(),
                MODEL_CONFIG_KEY: config_record(TINY)}, path)
    return path


def _foreign_checkpoints(folder, fitting):
    import torch

    text = folder / "notes.pth"
    text.write_text("not a checkpoint")
    truncated = folder / "truncated.pth"
    truncated.write_bytes(fitting.read_bytes()[:4096])
    wrong_shape = folder / "wrong_shape.pth"
    torch.save({"model": {"backbone.weight": torch.zeros(2, 2)}}, wrong_shape)
    no_weights = folder / "no_weights.pth"
    torch.save({"epoch": 3}, no_weights)
    malicious = folder / "malicious.pth"
    malicious.write_bytes(pickle.dumps(_Exploit()))
    return {text: "cannot read checkpoint", truncated: "cannot read checkpoint",
            wrong_shape: "does not fit the network", no_weights: "has no weights",
            malicious: "cannot read checkpoint"}


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


def test_checkpoint_check_reads_the_file_and_fits_it_to_the_network(fitting_checkpoint,
                                                                    tmp_path):
    check = doctor.check_checkpoint(str(fitting_checkpoint))
    assert check.ok, check.detail
    assert "aios layout" in check.detail and "tensors that fit the network" in check.detail
    for path, reason in _foreign_checkpoints(tmp_path, fitting_checkpoint).items():
        check = doctor.check_checkpoint(str(path))
        assert not check.ok and check.required, path
        assert reason in check.detail, check.detail
        assert "\n" not in check.detail


def test_smplx_check_says_version_and_gender_and_refuses_junk(smplx_model_dir, tmp_path):
    check = doctor.check_smplx(str(smplx_model_dir))
    assert check.ok and check.required, check.detail
    assert "SMPL-X v1.1 (300 shape + 100 expression components)" in check.detail
    assert "gender neutral" in check.detail
    junk = tmp_path / "smplx"
    junk.mkdir()
    (junk / "SMPLX_NEUTRAL.npz").write_bytes(b"npz")
    check = doctor.check_smplx(str(junk))
    assert not check.ok and check.required
    assert check.detail.endswith("is not an SMPL-X model file: it is not an .npz archive")


def test_doctor_exits_1_for_files_run_would_refuse(fitting_checkpoint, smplx_model_dir,
                                                   tmp_path, monkeypatch):
    monkeypatch.setattr(doctor, "check_renderer", lambda: doctor.Check("renderer", True, "stub"))
    junk = tmp_path / "junk.pth"
    junk.write_text("junk")
    for checkpoint, code in ((fitting_checkpoint, 0), (junk, 1)):
        result = CliRunner().invoke(cli, ["doctor", "--checkpoint", str(checkpoint),
                                          "--smplx-dir", str(smplx_model_dir)])
        assert result.exit_code == code, result.output
