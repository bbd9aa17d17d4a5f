"""The training loop on the tiny network: it learns, logs, checkpoints, and resumes exactly."""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest
import torch
from synthetic_training_data import RandomImageSet
from tiny_network import build_tiny_network

from aios_core.model.network import AiOS
from aios_core.training.checkpointing import ResumeError, load_for_resume
from aios_core.training.loop import TrainingJob, train
from aios_core.training.run_config import TrainConfig

BASE = TrainConfig(stage="finetune", epochs=2, lr=1e-4, lr_backbone=1e-5, batch_size=2,
                   num_workers=0, use_ema=True, log_every_steps=1, checkpoint_every_steps=1000,
                   dn_number=4, seed=3, samples_per_epoch=6, lr_drop_epochs=(1,))


def job(tmp_path, dataset, config: TrainConfig = BASE, name: str = "run") -> TrainingJob:
    return TrainingJob(network=build_tiny_network(0), dataset=dataset, config=config,
                       run_dir=tmp_path / name, device=torch.device("cpu"))


def log_rows(run_dir) -> list[dict]:
    with (run_dir / "log.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_overfitting_four_images_halves_the_loss(tmp_path) -> None:
    config = replace(BASE, epochs=1, lr=1e-3, lr_backbone=1e-4, samples_per_epoch=2 * 30,
                     dn_number=0, use_ema=False, checkpoint_every_steps=1000)
    losses: list[float] = []
    train(job(tmp_path, RandomImageSet(4, persons=1), config),
          on_step=lambda progress, values: losses.append(values["total"]))
    assert len(losses) == 30
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last <= 0.5 * first, f"loss {first:.3f} -> {last:.3f}"


def test_log_checkpoints_and_schedule(tmp_path) -> None:
    progress = train(job(tmp_path, RandomImageSet(5)))
    run_dir = tmp_path / "run"
    assert progress.global_step == 6 and progress.epoch == 2
    rows = log_rows(run_dir)
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    assert {"total", "loss_ce", "loss_smpl_pose_root", "dn_loss_bbox"} <= set(rows[0])
    # lr x0.1 after epoch 1 (the log shows the lr of the step's group 'other')
    assert float(rows[0]["lr"]) == pytest.approx(1e-4)
    assert float(rows[-1]["lr"]) == pytest.approx(1e-5)
    for name in ("last.pth", "epoch_001.pth", "epoch_002.pth"):
        assert (run_dir / "checkpoints" / name).is_file()
    state = load_for_resume(run_dir)
    AiOS(build_tiny_network(0).config).load_state_dict(state["model"], strict=True)
    assert state["progress"] == {"epoch": 2, "step_in_epoch": 0, "global_step": 6}


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path) -> None:
    straight = job(tmp_path, RandomImageSet(5), name="straight")
    train(straight)

    interrupted_set = RandomImageSet(5)
    interrupted_set.interrupt_at = 2 * 4 + 1  # while fetching step 5 (of 6)
    interrupted = job(tmp_path, interrupted_set, name="interrupted")
    with pytest.raises(KeyboardInterrupt):
        train(interrupted)
    saved = load_for_resume(tmp_path / "interrupted")
    assert saved["progress"]["global_step"] == 4

    resumed = job(tmp_path, RandomImageSet(5), name="interrupted")
    train(resumed, resume=True)
    for (name, a), b in zip(straight.network.state_dict().items(),
                            resumed.network.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)
    straight_rows = log_rows(tmp_path / "straight")
    resumed_rows = log_rows(tmp_path / "interrupted")
    assert len(straight_rows) == len(resumed_rows) == 6
    for a, b in zip(straight_rows, resumed_rows, strict=True):
        assert float(a["total"]) == pytest.approx(float(b["total"]), rel=1e-6)


def test_resume_without_a_checkpoint_says_where_it_looked(tmp_path) -> None:
    with pytest.raises(ResumeError, match="no checkpoint at"):
        train(job(tmp_path, RandomImageSet(2)), resume=True)


# Two steps are too few for the scaler to leave its overflowing start scale, so the epoch
# ends with no optimiser step and torch warns about the schedule order; expected here.
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_fp16_scales_the_loss_and_checkpoints_the_scaler(tmp_path) -> None:
    config = replace(BASE, epochs=1, samples_per_epoch=4, precision="fp16", use_ema=False)
    losses: list[float] = []
    train(job(tmp_path, RandomImageSet(4), config),
          on_step=lambda progress, values: losses.append(values["total"]))
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    scaler = load_for_resume(tmp_path / "run")["scaler"]
    assert scaler["scale"] > 0  # a live GradScaler's state, not the disabled scaler's {}
    resumed = job(tmp_path, RandomImageSet(4), replace(config, epochs=2))
    assert train(resumed, resume=True).global_step == 4
