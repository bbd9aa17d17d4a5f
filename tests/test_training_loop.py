"""The training loop on the tiny network: it learns, logs, checkpoints, and resumes exactly.

Each behaviour is checked twice: a quick run of a few single-image steps in the default suite,
and the original longer run marked slow.
"""

from __future__ import annotations

import csv
import os
import signal
import time
from dataclasses import replace

import pytest
import torch
from synthetic_training_data import RandomImageSet
from tiny_network import SHORT_STAGES, build_tiny_network

from aios_core.model.config import AiOSConfig
from aios_core.model.network import AiOS
from aios_core.training import checkpointing
from aios_core.training.checkpointing import ResumeError, load_for_resume
from aios_core.training.loop import TrainingJob, train
from aios_core.training.run_config import TrainConfig

BASE = TrainConfig(stage="finetune", epochs=2, lr=1e-4, lr_backbone=1e-5, batch_size=2,
                   num_workers=0, use_ema=True, log_every_steps=1, checkpoint_every_steps=1000,
                   dn_number=4, seed=3, samples_per_epoch=6, lr_drop_epochs=(1,))
# Two single-image steps per epoch.
QUICK = replace(BASE, batch_size=1, samples_per_epoch=2, dn_number=2)


def job(tmp_path, dataset, config: TrainConfig = BASE, name: str = "run",
        model: AiOSConfig | None = None) -> TrainingJob:
    network = build_tiny_network(0) if model is None else build_tiny_network(0, model)
    return TrainingJob(network=network, dataset=dataset, config=config,
                       run_dir=tmp_path / name, device=torch.device("cpu"))


def log_rows(run_dir) -> list[dict]:
    with (run_dir / "log.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def check_overfitting(tmp_path, config: TrainConfig, images: int, steps: int,
                      factor: float) -> None:
    losses: list[float] = []
    train(job(tmp_path, RandomImageSet(images, persons=1), config),
          on_step=lambda progress, values: losses.append(values["total"]))
    assert len(losses) == steps
    window = max(steps // 8, 1)
    first, last = sum(losses[:window]) / window, sum(losses[-window:]) / window
    assert last <= factor * first, f"loss {first:.3f} -> {last:.3f}"


def test_overfitting_one_image_lowers_the_loss(tmp_path) -> None:
    config = replace(QUICK, epochs=1, lr=1e-3, lr_backbone=1e-4, samples_per_epoch=6,
                     dn_number=0, use_ema=False)
    check_overfitting(tmp_path, config, images=1, steps=6, factor=0.8)


@pytest.mark.slow
def test_overfitting_four_images_halves_the_loss(tmp_path) -> None:
    config = replace(BASE, epochs=1, lr=1e-3, lr_backbone=1e-4, samples_per_epoch=2 * 30,
                     dn_number=0, use_ema=False)
    check_overfitting(tmp_path, config, images=4, steps=30, factor=0.5)


def check_log_checkpoints_and_schedule(tmp_path, config: TrainConfig, images: int) -> None:
    progress = train(job(tmp_path, RandomImageSet(images), config))
    run_dir = tmp_path / "run"
    steps = 2 * config.samples_per_epoch // config.batch_size
    assert progress.global_step == steps and progress.epoch == 2
    rows = log_rows(run_dir)
    assert [int(r["step"]) for r in rows] == list(range(1, steps + 1))
    assert {"total", "loss_ce", "loss_smpl_pose_root", "dn_loss_bbox"} <= set(rows[0])
    # lr x0.1 after epoch 1 (the log shows the lr of the step's group 'other')
    assert float(rows[0]["lr"]) == pytest.approx(1e-4)
    assert float(rows[-1]["lr"]) == pytest.approx(1e-5)
    folder = run_dir / "checkpoints"
    for name in ("last.pth", "epoch_001.pth", "epoch_002.pth"):
        assert (folder / name).is_file()
    state = load_for_resume(run_dir)
    AiOS(build_tiny_network(0).config).load_state_dict(state["model"], strict=True)
    assert state["progress"] == {"epoch": 2, "step_in_epoch": 0, "global_step": steps}
    # An epoch snapshot holds the weights, the architecture and the progress only.
    snapshot = torch.load(folder / "epoch_002.pth", weights_only=True)
    assert set(snapshot) == {"model", "model_config", "weights", "progress", "config"}
    for name, value in state["model"].items():
        assert torch.equal(snapshot["model"][name], value), name
    assert (folder / "epoch_002.pth").stat().st_size < 0.5 * (folder / "last.pth").stat().st_size
    loaded = AiOS.from_checkpoint(folder / "epoch_001.pth")  # the recorded tiny architecture
    assert loaded.config == build_tiny_network(0).config


def test_log_checkpoints_and_schedule_quick(tmp_path) -> None:
    check_log_checkpoints_and_schedule(tmp_path, QUICK, images=2)


@pytest.mark.slow
def test_log_checkpoints_and_schedule(tmp_path) -> None:
    check_log_checkpoints_and_schedule(tmp_path, BASE, images=5)


def test_keep_snapshots_keeps_the_newest_ema_snapshots(tmp_path) -> None:
    config = replace(QUICK, epochs=3, samples_per_epoch=1, keep_snapshots=1,
                     snapshot_weights="ema")
    trained = job(tmp_path, RandomImageSet(1), config)
    train(trained)
    folder = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in folder.glob("*.pth")) == ["epoch_003.pth", "last.pth"]
    snapshot = torch.load(folder / "epoch_003.pth", weights_only=True)
    assert snapshot["weights"] == "ema"
    ema = load_for_resume(tmp_path / "run")["ema"]["state"]
    name = "label_enc.weight"
    assert torch.equal(snapshot["model"][name], ema[name])
    assert not torch.equal(snapshot["model"][name], trained.network.state_dict()[name])
    # A head shared with the decoder is averaged once, under both of its names.
    shared = "transformer.decoder.class_embed.0.weight"
    assert torch.equal(snapshot["model"]["class_embed.0.weight"], ema[shared])
    assert torch.equal(snapshot["model"][shared], ema[shared])


def check_resume_equals_uninterrupted(tmp_path, config: TrainConfig, images: int,
                                      interrupt_at: int, saved_step: int) -> None:
    straight = job(tmp_path, RandomImageSet(images), config, name="straight")
    train(straight)

    interrupted_set = RandomImageSet(images)
    interrupted_set.interrupt_at = interrupt_at  # the sample fetch that is interrupted
    interrupted = job(tmp_path, interrupted_set, config, name="interrupted")
    with pytest.raises(KeyboardInterrupt):
        train(interrupted)
    saved = load_for_resume(tmp_path / "interrupted")
    assert saved["progress"]["global_step"] == saved_step

    resumed = job(tmp_path, RandomImageSet(images), config, name="interrupted")
    train(resumed, resume=True)
    for (name, a), b in zip(straight.network.state_dict().items(),
                            resumed.network.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)
    straight_rows = log_rows(tmp_path / "straight")
    resumed_rows = log_rows(tmp_path / "interrupted")
    assert [r["step"] for r in straight_rows] == [r["step"] for r in resumed_rows]
    for a, b in zip(straight_rows, resumed_rows, strict=True):
        assert float(a["total"]) == pytest.approx(float(b["total"]), rel=1e-6)


def test_resumed_run_logs_the_interrupted_window_like_an_unbroken_one(tmp_path) -> None:
    # Rows every 3 steps and at epoch ends: steps 2, 3 and 4. The interrupt comes while step
    # 2's image is fetched, so row 2's window (steps 1 and 2) is cut after step 1.
    config = replace(QUICK, log_every_steps=3)
    check_resume_equals_uninterrupted(tmp_path, config, images=2, interrupt_at=2,
                                      saved_step=1)


@pytest.mark.slow
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path) -> None:
    check_resume_equals_uninterrupted(tmp_path, BASE, images=5, interrupt_at=2 * 4 + 1,
                                      saved_step=4)


def test_resume_without_a_checkpoint_says_where_it_looked(tmp_path) -> None:
    with pytest.raises(ResumeError, match="no checkpoint at"):
        train(job(tmp_path, RandomImageSet(2)), resume=True)


def test_resume_refuses_another_architecture_or_other_settings(tmp_path) -> None:
    config = replace(QUICK, epochs=1, samples_per_epoch=1, use_ema=False)
    train(job(tmp_path, RandomImageSet(1), config))
    with pytest.raises(ResumeError) as info:
        train(job(tmp_path, RandomImageSet(1), config, model=SHORT_STAGES), resume=True)
    message = str(info.value)
    assert "was trained with another model config: " in message
    assert "dec_layers: 5 in the checkpoint, 4 now" in message
    assert "num_box_decoder_layers: 2 in the checkpoint, 1 now" in message
    with pytest.raises(ResumeError, match=r"other settings: lr: 0\.0001 in the checkpoint, "
                                          r"0\.001 now \(start a new run"):
        train(job(tmp_path, RandomImageSet(1), replace(config, lr=1e-3)), resume=True)
    # More epochs is a change a resumed run may make.
    assert train(job(tmp_path, RandomImageSet(1), replace(config, epochs=2)),
                 resume=True).global_step == 2


def test_interrupt_inside_the_checkpoint_save_finishes_it_then_stops(tmp_path,
                                                                     monkeypatch) -> None:
    """Ctrl-C while torch.save writes: torch would turn it into 'RuntimeError: unexpected
    pos'; the save completes first, then the KeyboardInterrupt arrives."""
    real_save = torch.save
    interrupted: list[int] = []

    class InterruptingStream:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            interrupted.append(len(data))
            if len(interrupted) == 3:  # a real SIGINT, as from a terminal, mid-file
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the signal's Python handler runs here, inside torch.save
            return self.stream.write(data)

        def __getattr__(self, name):
            return getattr(self.stream, name)

    monkeypatch.setattr(checkpointing.torch, "save",
                        lambda content, stream: real_save(content, InterruptingStream(stream)))
    config = replace(QUICK, epochs=1, samples_per_epoch=1, use_ema=False)
    with pytest.raises(KeyboardInterrupt):
        train(job(tmp_path, RandomImageSet(1), config))
    assert len(interrupted) > 3
    monkeypatch.setattr(checkpointing.torch, "save", real_save)
    saved = load_for_resume(tmp_path / "run")  # complete and readable
    assert saved["progress"] == {"epoch": 1, "step_in_epoch": 0, "global_step": 1}
    assert not list((tmp_path / "run" / "checkpoints").glob(".*"))  # no temporary left


# Two steps are too few for the scaler to leave its overflowing start scale, so the epoch
# ends with no optimiser step and torch warns about the schedule order; expected here.
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_fp16_scales_the_loss_and_checkpoints_the_scaler(tmp_path) -> None:
    config = replace(QUICK, epochs=1, samples_per_epoch=1, precision="fp16", use_ema=False)
    losses: list[float] = []
    train(job(tmp_path, RandomImageSet(1), config),
          on_step=lambda progress, values: losses.append(values["total"]))
    assert len(losses) == 1 and all(torch.isfinite(torch.tensor(losses)))
    scaler = load_for_resume(tmp_path / "run")["scaler"]
    assert scaler["scale"] > 0  # a live GradScaler's state, not the disabled scaler's {}
    resumed = job(tmp_path, RandomImageSet(1), replace(config, epochs=2))
    assert train(resumed, resume=True).global_step == 2
