"""Does training learn? Fine-tune a small AiOS from random weights on rendered people and score
held-out renders before and after (shared by bench/bench_training_learns.py and the slow test).

Scores on each held-out image, for its N people and the network's N highest-scoring persons:
detection recall at IoU 0.5 (a person counts when some top-N box overlaps it by >= 0.5),
body keypoint error (pixels, 17 COCO points, of the prediction that overlaps best) and PVE
(mm, vertices of that prediction's SMPL-X against the truth, both pelvis-aligned).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from synthetic_renders import RenderedImage, RenderedSet, render_people
from synthetic_smplx import write_synthetic_smplx

from aios_core.body.embedded_smplx import EmbeddedSMPLX
from aios_core.model.config import AiOSConfig
from aios_core.model.network import AiOS
from aios_core.tracking.tracker import box_iou
from aios_core.training.box_ops import cxcywh_to_xyxy
from aios_core.training.loop import TrainingJob, train
from aios_core.training.run_config import TrainConfig

# A small network (the released token layout, fewer and narrower layers).
LEARNING_CONFIG = AiOSConfig(hidden_dim=64, nheads=4, enc_layers=1, dec_layers=4,
                             num_box_decoder_layers=1, num_hand_face_decoder_layers=3,
                             dim_feedforward=128, num_queries=30, num_group=5)


@dataclass
class HeldOutScores:
    recall_at_05: float  # fraction of people found
    keypoint_error_px: float  # mean over found-or-not people, 17 body keypoints
    pve_mm: float


@dataclass
class LearningReport:
    before: HeldOutScores
    after: HeldOutScores
    losses: list[float] = field(default_factory=list)  # weighted total per step
    step_s: list[float] = field(default_factory=list)  # wall time per step
    image_size_hw: tuple[int, int] = (0, 0)

    def table(self) -> str:
        rows = [f"{'held-out':<22}{'before':>10}{'after':>10}",
                f"{'recall @ IoU 0.5':<22}{self.before.recall_at_05:>10.2f}"
                f"{self.after.recall_at_05:>10.2f}",
                f"{'keypoint error (px)':<22}{self.before.keypoint_error_px:>10.1f}"
                f"{self.after.keypoint_error_px:>10.1f}",
                f"{'PVE (mm)':<22}{self.before.pve_mm:>10.1f}{self.after.pve_mm:>10.1f}"]
        return "\n".join(rows)


@torch.no_grad()
def score_held_out(network: AiOS, images: list[RenderedImage], data: RenderedSet
                   ) -> HeldOutScores:
    network.eval()
    found, keypoint_errors, vertex_errors = [], [], []
    for rendered, (image, targets) in zip(images, data.items, strict=True):
        height, width = image.shape[1:]
        out = network(image[None], torch.zeros(1, height, width, dtype=torch.bool))
        n = targets.num_persons
        top = out["pred_logits"][0].sigmoid().max(-1).values.topk(n).indices
        scale = torch.tensor([width, height, width, height], dtype=torch.float32)
        predicted = cxcywh_to_xyxy(out["pred_boxes"][0, top]) * scale
        truth = cxcywh_to_xyxy(targets.boxes) * scale
        iou = torch.from_numpy(box_iou(truth.numpy(), predicted.numpy()))  # (n, n)
        best = iou.argmax(1)
        found += (iou.max(1).values >= 0.5).tolist()
        size = torch.tensor([width, height], dtype=torch.float32)
        gt_xy = targets.body_keypoints()[:, :34].reshape(n, 17, 2) * size
        for person in range(n):
            query = top[best[person]]
            xy = out["pred_keypoints"][0, query, :34].reshape(17, 2) * size
            keypoint_errors.append(float((xy - gt_xy[person]).norm(dim=-1).mean()))
            vertices = out["pred_smpl_verts"][0, query] - out["pred_smpl_kp3d"][0, query, 0]
            truth_v = torch.from_numpy(rendered.vertices_m[person] - rendered.pelvis_m[person])
            vertex_errors.append(float((vertices - truth_v).norm(dim=-1).mean()) * 1000)
    return HeldOutScores(float(np.mean(found)), float(np.mean(keypoint_errors)),
                         float(np.mean(vertex_errors)))


def learning_experiment(steps: int = 40, train_images: int = 8, held_out_images: int = 4,
                        size_hw: tuple[int, int] = (64, 96), lr: float = 1e-3,
                        seed: int = 0, run_dir: Path | None = None) -> LearningReport:
    """Render, score the random-weight network, train ``steps`` steps (batch 2), score again."""
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        body = EmbeddedSMPLX.from_model_folder(write_synthetic_smplx(Path(scratch)))
        training = render_people(body, train_images, size_hw, seed=seed + 1)
        held_out = render_people(body, held_out_images, size_hw, seed=seed + 2)
        network = AiOS(LEARNING_CONFIG)
        network.body_model.load_state_dict(body.state_dict())
        held_out_set = RenderedSet(held_out)
        before = score_held_out(network, held_out, held_out_set)
        config = TrainConfig(stage="finetune", epochs=1, lr=lr, lr_backbone=lr / 10,
                             lr_drop_epochs=(), batch_size=2, num_workers=0, use_ema=False,
                             dn_number=4, seed=seed, samples_per_epoch=2 * steps,
                             log_every_steps=10, checkpoint_every_steps=10 * steps)
        report = LearningReport(before=before, after=before, image_size_hw=size_hw)
        last = [time.perf_counter()]

        def on_step(_progress, values: dict[str, float]) -> None:
            now = time.perf_counter()
            report.losses.append(values["total"])
            report.step_s.append(now - last[0])
            last[0] = now

        train(TrainingJob(network=network, dataset=RenderedSet(training), config=config,
                          run_dir=Path(run_dir or Path(scratch) / "run"),
                          device=torch.device("cpu")), on_step=on_step)
        report.after = score_held_out(network, held_out, held_out_set)
    return report
