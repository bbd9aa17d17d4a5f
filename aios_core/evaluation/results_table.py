"""Result containers of ``aios eval``: plain dataclasses with a JSON-ready dict view.

All errors are millimetres. NaN (an empty average, e.g. no kids in the set) becomes ``None``
in the dict view, so ``json.dumps`` stays standard JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Field name -> key of the AGORA toolkit's ``<baseline>_result.pkl`` (paper columns:
# B = body-*, LH/RH = lhand/rhand-*, F = face-*, FB = fullbody-*).
_AGORA_KEYS = {
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "kid_precision": "kid_precision",
    "kid_recall": "kid_recall",
    "kid_f1": "kid_f1",
}
for _prefix, _key_prefix in (("", ""), ("kid_", "kid-")):
    for _part in ("body", "lhand", "rhand", "face", "fullbody"):
        for _metric in ("mpjpe", "mve", "nmje", "nmve"):
            if _part in ("lhand", "rhand", "face") and _metric in ("nmje", "nmve"):
                continue  # the toolkit normalises only body and full body
            _AGORA_KEYS[f"{_prefix}{_part}_{_metric}"] = (
                f"{_key_prefix}{_part}-{_metric.upper()}"
            )


def _json_number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass
class AgoraResults:
    """AGORA metric set (toolkit semantics). Part metrics that the SMPL track lacks are None.

    P/R/F1 are rounded to 2 decimals, errors to 1 decimal, and normalised errors (NMJE/NMVE =
    error / F1) and full body (B + (LH + RH + F) / 3) are computed from the rounded values,
    all as the toolkit does.
    """

    model_type: str
    precision: float
    recall: float
    f1: float
    kid_precision: float
    kid_recall: float
    kid_f1: float
    body_mpjpe: float
    body_mve: float
    body_nmje: float
    body_nmve: float
    kid_body_mpjpe: float
    kid_body_mve: float
    kid_body_nmje: float
    kid_body_nmve: float
    lhand_mpjpe: float | None = None
    lhand_mve: float | None = None
    rhand_mpjpe: float | None = None
    rhand_mve: float | None = None
    face_mpjpe: float | None = None
    face_mve: float | None = None
    fullbody_mpjpe: float | None = None
    fullbody_mve: float | None = None
    fullbody_nmje: float | None = None
    fullbody_nmve: float | None = None
    kid_lhand_mpjpe: float | None = None
    kid_lhand_mve: float | None = None
    kid_rhand_mpjpe: float | None = None
    kid_rhand_mve: float | None = None
    kid_face_mpjpe: float | None = None
    kid_face_mve: float | None = None
    kid_fullbody_mpjpe: float | None = None
    kid_fullbody_mve: float | None = None
    kid_fullbody_nmje: float | None = None
    kid_fullbody_nmve: float | None = None
    counts: dict[str, int] = field(default_factory=dict)  # num_gt, num_missed, num_fp, ...

    def to_toolkit_dict(self) -> dict[str, float | None]:
        """The metrics under the toolkit's result-pkl key names (None where not computed)."""
        out: dict[str, float | None] = {}
        for name, key in _AGORA_KEYS.items():
            value = getattr(self, name)
            if value is None and self.model_type == "smpl":
                continue
            out[key] = _json_number(value)
        return out

    def to_dict(self) -> dict:
        """JSON-ready: model type, toolkit-named metrics, and the underlying counts."""
        return {
            "benchmark": "agora",
            "model_type": self.model_type,
            "metrics": self.to_toolkit_dict(),
            "counts": dict(self.counts),
        }


@dataclass
class MeshResults:
    """AiOS in-process benchmark numbers (EHF, UBody, ARCTIC, EgoBody, AGORA-internal).

    metrics_mm uses AiOS's keys (``mpvpe_all``, ``pa_mpvpe_hand``, ``pa_mpjpe_body``, ...);
    a metric the official code does not produce for the dataset is absent or None.
    """

    dataset: str
    official_quirks: bool
    num_persons: int
    metrics_mm: dict[str, float | None]

    def to_dict(self) -> dict:
        return {
            "benchmark": self.dataset,
            "official_quirks": self.official_quirks,
            "num_persons": self.num_persons,
            "metrics": {k: _json_number(v) for k, v in self.metrics_mm.items()},
        }

