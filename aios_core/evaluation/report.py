"""The outputs of ``aios eval``: the results JSON, the per-image errors file and a rich table.

Results JSON (``--out``), schema ``aios-eval/1``::

    {
      "schema": "aios-eval/1",
      "benchmark": "ehf",                    # aios eval BENCHMARK
      "title": "EHF",
      "arithmetic": "correct",               # or "official-quirks" (--official-quirks)
      "created_utc": "2024-01-01T00:00:00Z",
      "inputs": {"data_root": str, "annotations": str | null, "images_dir": str,
                 "num_images": int, "checkpoint": str | null, "smplx_dir": str,
                 "threshold": float | null,  # null: top-1 detection per image
                 "device": str | null},
      "results": {...} | null,               # null for leaderboard submissions
      "counts": {...},                       # persons / images scored, missed, ...
      "submission": {"zip": str, "num_person_files": int, "form": "params" | "vertices"}
                    | null,
      "per_image_errors": str | null,        # path of --per-image-errors
      "notes": [str, ...]
    }

``results`` for AGORA is ``AgoraResults.to_dict()``: {"benchmark": "agora", "model_type":
"smplx", "metrics": {toolkit key: value}, "counts": {...}} with the toolkit's keys (precision,
recall, f1, body-MVE, body-NMVE, fullbody-MPJPE, lhand-MVE, kid-..., errors in mm, P/R/F1 in
[0, 1]). For the mesh benchmarks it is ``MeshResults.to_dict()``: {"benchmark": protocol,
"official_quirks": bool, "num_persons": int, "metrics": {"mpvpe_all": mm, "pa_mpvpe_hand": mm,
..., EHF "pa_mpjpe_body": mm}}. NaN / unavailable numbers are null.

Per-image errors file (``--per-image-errors``), schema ``aios-eval-per-image/1``:
{"schema", "benchmark", "arithmetic", "rows": [...]} where a mesh-benchmark row is one scored
person {"image", "instance" (row in the annotation file), "score", "errors_mm": {metric: mm
or null}} and an AGORA row is one image {"image", "num_detections", "num_false_positives",
"persons": [{"instance", "valid", "kid", "missed", "errors_mm": {"body_mpjpe", "body_mve",
"lhand_mpjpe", ..., "face_mve"} or null when missed}]}.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.table import Table

from aios_core.io.atomic import atomic_write_text

RESULTS_SCHEMA = "aios-eval/1"
PER_IMAGE_SCHEMA = "aios-eval-per-image/1"


def _clean(value):
    """NaN -> None recursively, so the file is standard JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, content: dict) -> None:
    """Write standard JSON atomically (a crash never leaves half a file)."""
    text = json.dumps(_clean(content), indent=2, allow_nan=False) + "\n"
    atomic_write_text(Path(path), text)


def _mm(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.2f}"


def _one_decimal(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def mesh_table(report: dict) -> Table:
    """PVE / PA-PVE (+ EHF PA-MPJPE) in mm, columns all / hands / face / L / R."""
    metrics = report["results"]["metrics"]
    table = Table(title=f"{report['title']} — arithmetic: {report['arithmetic']}",
                  caption=_count_caption(report))
    table.add_column("metric (mm)")
    for column in ("all", "hands", "face", "L-hand", "R-hand"):
        table.add_column(column, justify="right")
    parts = ("all", "hand", "face", "l_hand", "r_hand")
    for label, prefix in (("PVE", "mpvpe"), ("PA-PVE", "pa_mpvpe")):
        table.add_row(label, *(_mm(metrics.get(f"{prefix}_{p}")) for p in parts))
    if "pa_mpjpe_body" in metrics:
        values = [metrics.get("pa_mpjpe_body"), metrics.get("pa_mpjpe_hand"), None,
                  metrics.get("pa_mpjpe_l_hand"), metrics.get("pa_mpjpe_r_hand")]
        table.add_row("PA-MPJPE (body J14 in 'all')", *(_mm(v) for v in values))
    return table


def agora_table(report: dict) -> Table:
    """The paper's AGORA layout: NMVE / NMJE (FB, B) and MVE / MPJPE (FB, B, F, LH, RH)."""
    m = report["results"]["metrics"]
    caption = (f"precision {_mm(m.get('precision'))}  recall {_mm(m.get('recall'))}  "
               f"F1 {_mm(m.get('f1'))}; {_count_caption(report)}")
    table = Table(title=f"{report['title']} — arithmetic: {report['arithmetic']}",
                  caption=caption)
    table.add_column("metric (mm)")
    for column in ("FB", "B", "F", "LH", "RH"):
        table.add_column(column, justify="right")
    table.add_row("NMVE", _one_decimal(m.get("fullbody-NMVE")),
                  _one_decimal(m.get("body-NMVE")), "", "", "")
    table.add_row("NMJE", _one_decimal(m.get("fullbody-NMJE")),
                  _one_decimal(m.get("body-NMJE")), "", "", "")
    for name in ("MVE", "MPJPE"):
        table.add_row(name, *(_one_decimal(m.get(f"{part}-{name}"))
                              for part in ("fullbody", "body", "face", "lhand", "rhand")))
    return table


def submission_table(report: dict) -> Table:
    table = Table(title=f"{report['title']} — leaderboard submission")
    table.add_column("item")
    table.add_column("value")
    submission = report["submission"]
    table.add_row("images", str(report["inputs"]["num_images"]))
    table.add_row("person files", str(submission["num_person_files"]))
    table.add_row("upload this zip", submission["zip"])
    return table


def results_table(report: dict) -> Table:
    """The table that fits the report's benchmark."""
    if report["submission"] is not None:
        return submission_table(report)
    if report["results"].get("model_type") is not None:
        return agora_table(report)
    return mesh_table(report)


def _count_caption(report: dict) -> str:
    counts = report.get("counts", {})
    shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
    return shown
