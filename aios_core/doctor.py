"""Environment checks behind `aios doctor`: what `aios run` needs and whether it is here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aios_core import assets
from aios_core.errors import AiosError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failed required check means `aios run` cannot work


def check_torch() -> list[Check]:
    try:
        import torch
    except ImportError as err:
        return [Check("torch", False, f"not importable: {err}")]
    checks = [Check("torch", True, torch.__version__)]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("device", True, f"CUDA {torch.version.cuda}: {names}"))
    else:
        checks.append(Check("device", True, "CPU only (no CUDA device)", required=False))
    checks.append(check_deformable_attention_kernel(torch.cuda.is_available()))
    return checks


def check_deformable_attention_kernel(cuda_available: bool) -> Check:
    if not cuda_available:
        return Check("deform-attn kernel", True, "PyTorch path (no CUDA)", required=False)
    try:
        import cuda_ops

        reason = cuda_ops.kernel_unavailable_reason()
        loaded = reason is None and cuda_ops.try_register()
    except Exception as err:  # a broken install must not hide the other checks
        return Check("deform-attn kernel", False, f"failed to load: {err}", required=False)
    if loaded:
        return Check("deform-attn kernel", True, "Triton GPU kernel (self-check passed)",
                     required=False)
    why = reason or "self-check failed, see the warning above"
    return Check("deform-attn kernel", False, f"PyTorch path ({why})", required=False)


def check_checkpoint(explicit: str | None) -> Check:
    """The checkpoint read as `aios run` reads it (safely: no code in it runs) and its tensors
    compared with the network they must fill."""
    try:
        path = assets.resolve_checkpoint(explicit)
    except assets.AssetNotFoundError as err:
        return Check("checkpoint", False, str(err))
    size = f"{path} ({path.stat().st_size / 2**20:.0f} MiB)"
    try:
        stored, mismatch = _read_against_network(path)
    except (AiosError, OSError) as err:
        return Check("checkpoint", False, _one_line(err))
    if mismatch:
        first = _one_line(mismatch.splitlines()[0])
        first = first if len(first) <= 160 else first[:157] + "..."
        return Check("checkpoint", False, f"{size} does not fit the network it records "
                                          f"({stored.summary()}): {first}")
    layout = ("official AiOS layout" if stored.model_config is None else
              f"aios layout, {stored.summary()}")
    return Check("checkpoint", True, f"{size}: {layout}, {len(stored.state)} tensors that fit "
                                     "the network")


def _read_against_network(path: Path):
    """(StoredCheckpoint, mismatch text or '') without allocating the network's memory."""
    import torch

    from aios_core.model.checkpoint import describe_mismatch, read_checkpoint
    from aios_core.model.network import AiOS

    stored = read_checkpoint(path)
    with torch.device("meta"):  # shapes only
        network = AiOS(stored.model_config)
    return stored, describe_mismatch(network.state_dict(), stored.state)


def check_smplx(explicit: str | None) -> Check:
    """The SMPL-X file opened as `aios ground`, `export` and `view` open it; required when
    --smplx-dir names it (then `aios run --smplx-dir` uses it)."""
    required = explicit is not None
    try:
        folder = assets.resolve_smplx_dir(explicit)
    except assets.AssetNotFoundError as err:
        # `aios run` draws with the SMPL-X model stored inside the AiOS checkpoint; the user's
        # files are needed for mesh export and evaluation only.
        return Check("SMPL-X model", False, f"optional for `aios run`. {err}", required=required)
    path = Path(folder) / assets.SMPLX_FILENAME
    from aios_core.body.smplx_model import build_smplx_layer

    try:
        found = describe_smplx_file(path)
        build_smplx_layer(path)
    except AiosError as err:
        return Check("SMPL-X model", False, _one_line(err), required=required)
    return Check("SMPL-X model", True, f"{path}: {found}", required=required)


def describe_smplx_file(path: Path) -> str:
    """Version, components and gender of an SMPL-X ``.npz``, read without unpickling."""
    import zipfile

    import numpy as np

    from aios_core.body.smplx_model import SmplxFileError

    if not zipfile.is_zipfile(path):
        raise SmplxFileError(f"{path} is not an SMPL-X model file: it is not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            components = data["shapedirs"].shape[-1]
            gender = str(data["gender"]) if "gender" in data.files else None
    except (KeyError, ValueError, OSError, IndexError) as err:
        raise SmplxFileError(f"{path} is not an SMPL-X model file ({_one_line(err)})") from None
    version = {400: "SMPL-X v1.1 (300 shape + 100 expression components)",
               20: "SMPL-X v1.0 (10 shape + 10 expression components)"}.get(
        components, f"{components} shape and expression components")
    if gender is None:
        gender = path.stem.split("_")[-1].lower() + " (from the file name)"
    return f"{version}, gender {gender}"


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def check_renderer() -> Check:
    try:
        from aios_core.rendering.gl_backend import GL_HELP, find_working_platform
    except ImportError as err:
        return Check("renderer", False, f"pyrender not importable: {err}", required=False)
    platform, reasons = find_working_platform()
    if platform:
        return Check("renderer", True, f"pyrender offscreen via {platform}", required=False)
    tried = "; ".join(f"{name}: {why}" for name, why in reasons.items())
    return Check("renderer", False, f"{tried}. {GL_HELP}", required=False)


def check_video() -> Check:
    try:
        import av
    except ImportError as err:
        return Check("video I/O", False, f"PyAV not importable: {err}")
    encoders = [name for name in ("libx264", "h264", "mpeg4") if name in av.codecs_available]
    detail = f"PyAV {av.__version__} (FFmpeg inside); encoders: {', '.join(encoders) or 'none'}"
    return Check("video I/O", bool(encoders), detail)


# CPU flags (Linux names) that decide which kernels OpenCV, MKL, oneDNN and Numba run.
_INSTRUCTION_SET_FLAGS = (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"),
                          ("amx_tile", "AMX"))


def cpu_description() -> str:
    """'<model name>: <instruction sets>' of this machine's CPU (Linux: from /proc/cpuinfo)."""
    import platform

    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    sets = [name for flag, name in _INSTRUCTION_SET_FLAGS if flag in flags]
    return f"{model}: {', '.join(sets) or 'no AVX2'}" if flags else model


def check_cpu() -> Check:
    detail = cpu_description()
    try:
        import torch

        detail += f"; torch kernels {torch.backends.cpu.get_cpu_capability()}"
    except ImportError:
        pass
    return Check("CPU", True, detail, required=False)


def check_numeric_libraries() -> Check:
    """Versions of the libraries whose CPU kernels shape aios's numbers (for bug reports)."""
    import numpy

    parts = [f"NumPy {numpy.__version__}"]
    try:
        import cv2

        parts.append(f"OpenCV {cv2.__version__} (IPP {'on' if cv2.ipp.useIPP() else 'off'})")
    except ImportError as err:
        return Check("libraries", False, f"OpenCV not importable: {err}")
    from aios_core.model.cpu.numba_runtime import numba

    parts.append(f"Numba {numba.__version__}" if numba else "Numba missing (slower CPU path)")
    return Check("libraries", True, ", ".join(parts))


def run_all(checkpoint: str | None = None, smplx_dir: str | None = None) -> list[Check]:
    return [
        *check_torch(),
        check_cpu(),
        check_numeric_libraries(),
        check_checkpoint(checkpoint),
        check_smplx(smplx_dir),
        check_renderer(),
        check_video(),
    ]
