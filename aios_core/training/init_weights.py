"""``aios train --init``: start from released AiOS weights or an ED-Pose COCO checkpoint.

Entries whose name and shape match the network are loaded; the rest keep their fresh
initialisation, and the report lists both, so a user sees exactly what was transferred.
ED-Pose shares AiOS' backbone, encoder and box decoder layout (AiOS was built on it), so those
parts transfer; its keypoint heads differ in shape and are reported as skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from aios_core.model.checkpoint import read_state_dict


@dataclass
class InitReport:
    loaded: list[str] = field(default_factory=list)
    shape_mismatch: list[str] = field(default_factory=list)  # "name: file (..) vs model (..)"
    not_in_file: list[str] = field(default_factory=list)  # model entries left as initialised
    not_in_model: list[str] = field(default_factory=list)  # file entries the model lacks

    def summary(self, limit: int = 8) -> str:
        def names(items: list[str]) -> str:
            more = f" ... (+{len(items) - limit})" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        lines = [f"loaded {len(self.loaded)} entries"]
        for label, items in (("shape differs (kept initial)", self.shape_mismatch),
                             ("not in the file (kept initial)", self.not_in_file),
                             ("in the file but unused", self.not_in_model)):
            if items:
                lines.append(f"{label}: {len(items)}: {names(items)}")
        return "\n".join(lines)


def load_matching_weights(network: nn.Module, path: str | os.PathLike,
                          skip_prefixes: tuple[str, ...] = ()) -> InitReport:
    """Copy every entry of the checkpoint at ``path`` whose name and shape match ``network``.

    ``skip_prefixes``: model entries never taken from the file (e.g. ``body_model.`` when the
    SMPL-X buffers come from the user's own SMPL-X folder).
    """
    provided = read_state_dict(path)
    own = network.state_dict()
    report = InitReport()
    update = {}
    for name, value in own.items():
        if name.startswith(skip_prefixes) or name not in provided:
            if not name.startswith(skip_prefixes):
                report.not_in_file.append(name)
            continue
        theirs = provided[name]
        if tuple(theirs.shape) != tuple(value.shape):
            report.shape_mismatch.append(
                f"{name}: file {tuple(theirs.shape)} vs model {tuple(value.shape)}")
            continue
        update[name] = theirs.to(value.dtype)
        report.loaded.append(name)
    report.not_in_model = sorted(set(provided) - set(own))
    with torch.no_grad():
        network.load_state_dict(update, strict=False)
    return report
