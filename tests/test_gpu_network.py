"""The full network on CUDA against the CPU, and bf16 against fp32 (marked ``gpu``).

Random weights of the released architecture (the official checkpoint is not needed for a
parity check: the arithmetic is the same) on two frames of real video sizes. Tolerances:
fp32 on the GPU (TF32 off) against the CPU: scores and SMPL-X parameters within 1e-3, boxes
within 1e-3 of the image size. bf16 against fp32: the same people in the top 5 (up to swaps of
people whose fp32 scores are within 2e-2), differences written to $AIOS_GPU_REPORT if set.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from synthetic_media import frame_image
from tiny_network import build_tiny_network

from aios_core.inference.predict import predict_images
from aios_core.model.config import AiOSConfig

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

PARAMETERS = ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
              "betas", "expression", "transl_m")
BOXES = ("body_boxes_xyxy_px", "lhand_boxes_xyxy_px", "rhand_boxes_xyxy_px", "face_boxes_xyxy_px")
TOP_K = 10
DEVICE_TYPE = "cuda"


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [frame_image(3, width=1280, height=720), frame_image(11, width=1920, height=1080)]


@pytest.fixture(scope="module")
def cpu_results(images):
    model = build_tiny_network(5, AiOSConfig())
    with torch.inference_mode():
        return model, predict_images(model, images, threshold=0.0)


def _by_query(result, k: int) -> dict[tuple[int, int], int]:
    """(query index, n-th entry of that query) -> row, for the ``k`` best entries (a query
    can be selected more than once, for different classes)."""
    seen: dict[int, int] = {}
    rows = {}
    for row, query in enumerate(result.query_indices[:k]):
        nth = seen[int(query)] = seen.get(int(query), -1) + 1
        rows[(int(query), nth)] = row
    return rows


def _same_people(reference, other, k: int, score_gap: float) -> list[tuple[int, int]]:
    """Query indices in both top-k lists; a person missing from one side must have been
    within ``score_gap`` of the k-th score (a near-tie at the border)."""
    ref, oth = _by_query(reference, k), _by_query(other, k)
    border = float(reference.scores[k - 1])
    for query, row in ref.items():
        if query not in oth:
            assert float(reference.scores[row]) - border <= score_gap, (query, row)
    return [q for q in ref if q in oth]


def _max_differences(reference, other, queries: list[tuple[int, int]],
                     size_wh) -> dict[str, float]:
    ref, oth = _by_query(reference, TOP_K), _by_query(other, TOP_K)
    rows_a = [ref[q] for q in queries]
    rows_b = [oth[q] for q in queries]
    out = {"score": float(np.abs(reference.scores[rows_a] - other.scores[rows_b]).max())}
    for name in PARAMETERS:
        a, b = getattr(reference, name)[rows_a], getattr(other, name)[rows_b]
        out[name] = float(np.abs(a - b).max())
    scale = np.array([*size_wh, *size_wh], np.float32)
    for name in BOXES:
        a, b = getattr(reference, name)[rows_a], getattr(other, name)[rows_b]
        out[name] = float((np.abs(a - b) / scale).max())
    return out


def _report(name: str, values: object) -> None:
    path = os.environ.get("AIOS_GPU_REPORT")
    if not path:
        return
    record = json.loads(open(path).read()) if os.path.exists(path) else {}
    record[name] = values
    with open(path, "w") as stream:
        json.dump(record, stream, indent=2)


@pytest.fixture(scope="module")
def gpu_model(cpu_results):
    from aios_core.device import choose_device

    model, _ = cpu_results
    device = choose_device("cuda")  # registers the Triton kernel after its self-check
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return build_tiny_network(5, AiOSConfig()).to(device)


def test_cuda_fp32_equals_cpu_fp32(images, cpu_results, gpu_model) -> None:
    _, expected = cpu_results
    with torch.inference_mode():
        got = predict_images(gpu_model, images, threshold=0.0)
    differences = []
    for image, cpu, gpu in zip(images, expected, got, strict=True):
        queries = _same_people(cpu, gpu, TOP_K, score_gap=1e-3)
        assert len(queries) >= TOP_K - 1
        diff = _max_differences(cpu, gpu, queries, (image.shape[1], image.shape[0]))
        differences.append(diff)
        assert max(diff.values()) < 1e-3, diff
    _report("cuda_fp32_vs_cpu_fp32_max_abs", differences)


def test_bf16_finds_the_same_people_as_fp32(images, gpu_model) -> None:
    with torch.inference_mode():
        fp32 = predict_images(gpu_model, images, threshold=0.0)
        with torch.autocast(DEVICE_TYPE, dtype=torch.bfloat16):
            bf16 = predict_images(gpu_model, images, threshold=0.0)
    differences = []
    for image, reference, low in zip(images, fp32, bf16, strict=True):
        queries = _same_people(reference, low, 5, score_gap=2e-2)
        assert len(queries) >= 4
        differences.append(_max_differences(reference, low, queries,
                                            (image.shape[1], image.shape[0])))
    _report("cuda_bf16_vs_fp32_max_abs", differences)
