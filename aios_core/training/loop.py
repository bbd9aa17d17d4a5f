"""The training loop of ``aios train``: one process or one of many under ``torchrun``.

Exact resume: the sampler's draw depends only on (seed, epoch), every step reseeds torch's RNG
from (seed, rank, global step) before the forward (the denoising noise), and the checkpoint
holds the model, optimiser, schedule, EMA and progress; so an interrupted run continued with
``resume=True`` takes the same steps, bit for bit on CPU, as one that was never interrupted.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from aios_core.data.image_targets import collate, targets_to
from aios_core.errors import interrupts_held
from aios_core.model.config_record import (
    MODEL_CONFIG_KEY,
    config_from_record,
    config_record,
    config_values,
    differences,
)
from aios_core.model.network import AiOS
from aios_core.precision import autocast_dtype
from aios_core.training.checkpointing import (
    LAST,
    Progress,
    ResumeError,
    checkpoint_dir,
    load_for_resume,
    prune_snapshots,
    restore_rng_state,
    rng_state,
    save_atomically,
    snapshot_name,
)
from aios_core.training.criterion import AiOSCriterion
from aios_core.training.denoising import DenoisingConfig
from aios_core.training.distributed import (
    ProcessGroupInfo,
    barrier,
    init_distributed,
    mean_over_ranks,
    shutdown,
)
from aios_core.training.forward import TrainingForward
from aios_core.training.optim import (
    ExponentialMovingAverage,
    build_optimizer,
    build_scheduler,
)
from aios_core.training.run_config import TrainConfig
from aios_core.training.sampling import EpochSampler

LOG_FILE = "log.csv"


@dataclass
class TrainingJob:
    """What to train, on what, where to."""

    network: AiOS
    dataset: Dataset  # keys (index, seed) -> (image (3, H, W), ImageTargets)
    config: TrainConfig
    run_dir: Path
    device: torch.device
    sample_weights: Tensor | None = None  # (len(dataset),) mixing weights, None = uniform


class Trainer:
    """Owns the wrapped network, optimiser, schedule, EMA, sampler and log of one process."""

    def __init__(self, job: TrainingJob, info: ProcessGroupInfo):
        self.job, self.info, c = job, info, job.config
        self.run_dir = Path(job.run_dir)
        if info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.network = job.network.to(job.device)
        forward = TrainingForward(self.network, DenoisingConfig(dn_number=c.dn_number)).train()
        self.model: nn.Module = forward
        if info.distributed:
            device_ids = [job.device.index] if job.device.type == "cuda" else None
            self.model = DistributedDataParallel(
                forward, device_ids=device_ids,
                find_unused_parameters=c.find_unused_parameters)
        self.criterion = AiOSCriterion(self.network.config)  # its stages, not defaults
        self.optimizer = build_optimizer(self.network, c)
        self.scheduler = build_scheduler(self.optimizer, c)
        self.ema = ExponentialMovingAverage(self.network, c.ema_decay) if c.use_ema else None
        # fp16 needs loss scaling against gradient underflow; bf16 and fp32 do not
        self.scaler = torch.amp.GradScaler(job.device.type, enabled=c.precision == "fp16")
        self.progress = Progress()
        self.sampler = EpochSampler(len(job.dataset), samples_per_epoch=c.samples_per_epoch,
                                    weights=job.sample_weights, batch_size=c.batch_size,
                                    rank=info.rank, world_size=info.world_size, seed=c.seed)
        self.skipped_steps = 0
        self._log_columns: list[str] | None = None
        # The open log window: sums of the steps since the last log row, and their count
        # (saved with the checkpoint, so a resumed run logs the same row as an unbroken one).
        self._window: dict[str, float] = {}
        self._window_steps = 0

    # ---------------------------------------------------------------- checkpoints
    def state(self) -> dict:
        return {
            "model": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "scaler": self.scaler.state_dict(),
            "progress": asdict(self.progress), "rng": rng_state(),
            "config": self.job.config.as_dict(), "skipped_steps": self.skipped_steps,
            "log_window": {"sums": dict(self._window), "steps": self._window_steps},
            MODEL_CONFIG_KEY: config_record(self.network.config),
        }

    def save(self, name: str = LAST) -> None:
        if self.info.is_main:
            save_atomically(self.state(), checkpoint_dir(self.run_dir) / name)

    def save_snapshot(self) -> None:
        """``epoch_XXX.pth`` of the epoch just finished: weights only, the newest N kept."""
        if not self.info.is_main:
            return
        c = self.job.config
        use_ema = c.snapshot_weights == "ema" and self.ema is not None
        weights = self.ema.averaged_state(self.network) if use_ema else self.network.state_dict()
        folder = checkpoint_dir(self.run_dir)
        if c.keep_snapshots != 0:
            save_atomically({"model": weights, "weights": "ema" if use_ema else "live",
                             "progress": asdict(self.progress), "config": c.as_dict(),
                             MODEL_CONFIG_KEY: config_record(self.network.config)},
                            folder / snapshot_name(self.progress.epoch))
        prune_snapshots(folder, c.keep_snapshots)

    def resume(self) -> None:
        content = load_for_resume(self.run_dir)
        self._check_resumable(content)
        self.network.load_state_dict(content["model"])
        self.optimizer.load_state_dict(content["optimizer"])
        self.scheduler.load_state_dict(content["scheduler"])
        if self.ema and content["ema"]:
            self.ema.load_state_dict(content["ema"])
        if content.get("scaler"):
            self.scaler.load_state_dict(content["scaler"])
        self.progress = Progress(**content["progress"])
        self.skipped_steps = content.get("skipped_steps", 0)
        window = content.get("log_window") or {"sums": {}, "steps": 0}
        self._window, self._window_steps = dict(window["sums"]), int(window["steps"])
        restore_rng_state(content["rng"])
        self._truncate_log(self.progress.global_step)

    def _check_resumable(self, content: dict) -> None:
        """Refuse to continue a run with another architecture or other training settings."""
        where = checkpoint_dir(self.run_dir) / LAST
        record = content.get(MODEL_CONFIG_KEY)
        if record is not None:
            stored = config_values(config_from_record(record, f"checkpoint {where}"))
            changed = differences(stored, config_values(self.network.config),
                                  "in the checkpoint", "now")
            if changed:
                raise ResumeError(f"--resume: {where} was trained with another model config: "
                                  f"{'; '.join(changed)}")
        changed = self.job.config.resume_conflicts(content["config"])
        if changed:
            raise ResumeError(f"--resume: {where} was trained with other settings: "
                              f"{'; '.join(changed)} (start a new run to change them)")

    # ---------------------------------------------------------------- logging
    def _truncate_log(self, global_step: int) -> None:
        """Drop log rows after the resumed step (they were logged, then lost with the run)."""
        path = self.run_dir / LOG_FILE
        if not self.info.is_main or not path.is_file():
            return
        with path.open(newline="") as stream:
            rows = list(csv.reader(stream))
        kept = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= global_step]
        with path.open("w", newline="") as stream:
            csv.writer(stream).writerows(kept)

    def _log(self, losses: dict[str, float]) -> None:
        if not self.info.is_main:
            return
        path = self.run_dir / LOG_FILE
        if self._log_columns is None:
            self._log_columns = ["step", "epoch", "lr", *sorted(losses)]
            if not path.is_file():
                with path.open("w", newline="") as stream:
                    csv.writer(stream).writerow(self._log_columns)
        row = {"step": self.progress.global_step, "epoch": self.progress.epoch,
               "lr": self.optimizer.param_groups[-1]["lr"], **losses}
        with path.open("a", newline="") as stream:
            csv.writer(stream).writerow([row.get(k, "") for k in self._log_columns])

    def _log_window_if_due(self) -> None:
        """Write the window's mean as a row every log_every_steps steps and at epoch ends."""
        epoch_end = self.progress.step_in_epoch == self.sampler.steps_per_epoch
        due = self.progress.global_step % self.job.config.log_every_steps == 0 or epoch_end
        if self._window_steps and due:
            self._log({name: total / self._window_steps for name, total in self._window.items()})
            self._window, self._window_steps = {}, 0

    # ---------------------------------------------------------------- steps
    def _step(self, images: Tensor, mask: Tensor, targets: list) -> dict[str, float] | None:
        c, device = self.job.config, self.job.device
        step_seed = (c.seed * 1_000_003 + self.info.rank) * 1_000_003 + self.progress.global_step
        torch.manual_seed(step_seed % (2**63))
        images, mask = images.to(device), mask.to(device)
        targets = targets_to(targets, device)
        dtype = autocast_dtype(c.precision)  # None for fp32: no autocast
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            outputs = self.model(images, mask, targets)
        losses = self.criterion(_to_float32(outputs), targets)
        total = losses["total"]
        finite = mean_over_ranks(torch.isfinite(total).float().reshape(1), self.info)
        self.optimizer.zero_grad(set_to_none=True)
        if finite.item() < 1.0:  # every rank skips together, or DDP would hang
            self.skipped_steps += 1
            warnings.warn(f"non-finite loss at step {self.progress.global_step}; step skipped "
                          f"({self.skipped_steps} so far)", stacklevel=2)
            return None
        self.scaler.scale(total).backward()
        if c.clip_max_norm > 0:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not scaled ones
            nn.utils.clip_grad_norm_(self.network.parameters(), c.clip_max_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema:
            self.ema.update(self.network)
        names = sorted(losses)
        values = torch.stack([losses[n].detach().float() * self.criterion.weight(n)
                              if n != "total" else losses[n].detach().float() for n in names])
        values = mean_over_ranks(values, self.info)
        return dict(zip(names, values.tolist(), strict=True))

    def run(self, max_steps: int | None = None,
            on_step: Callable[[Progress, dict[str, float]], None] | None = None) -> Progress:
        c = self.job.config
        running: dict[str, float] = {}  # exponential averages for the progress bar
        bar = tqdm(total=self.sampler.steps_per_epoch * c.epochs,
                   initial=self.progress.global_step, disable=not self.info.is_main,
                   desc=f"{c.stage}", unit="step", dynamic_ncols=True)
        try:
            while self.progress.epoch < c.epochs:
                self._log_window_if_due()  # a window a resume left open at its boundary
                self.sampler.set_epoch(self.progress.epoch, self.progress.step_in_epoch)
                loader = DataLoader(self.job.dataset, batch_size=c.batch_size,
                                    sampler=self.sampler, collate_fn=collate,
                                    num_workers=c.num_workers, drop_last=True)
                for images, mask, targets in loader:
                    losses = self._step(images, mask, targets)
                    self.progress.step_in_epoch += 1
                    self.progress.global_step += 1
                    if losses is not None:
                        for name, value in losses.items():
                            running[name] = 0.9 * running.get(name, value) + 0.1 * value
                            self._window[name] = self._window.get(name, 0.0) + value
                        self._window_steps += 1
                        if on_step:
                            on_step(self.progress, losses)
                    self._log_window_if_due()
                    bar.update(1)
                    bar.set_postfix(loss=f"{running.get('total', math.nan):.3f}",
                                    epoch=self.progress.epoch)
                    if self.progress.global_step % c.checkpoint_every_steps == 0:
                        self.save()
                    if max_steps is not None and self.progress.global_step >= max_steps:
                        self.save()
                        return self.progress
                with interrupts_held():  # schedule, progress and last.pth change together
                    self.scheduler.step()
                    self.progress.epoch += 1
                    self.progress.step_in_epoch = 0
                    self.save()
                self.save_snapshot()
        except KeyboardInterrupt:
            self.save()  # progress counts only finished steps: resume redoes nothing twice
            raise
        finally:
            bar.close()
            barrier(self.info)
        return self.progress


def _to_float32(outputs: object) -> object:
    """Predictions back to float32 after a bf16 forward, so the losses are computed in fp32."""
    if isinstance(outputs, Tensor):
        return outputs.float() if outputs.is_floating_point() else outputs
    if isinstance(outputs, dict):
        return {k: _to_float32(v) for k, v in outputs.items()}
    if isinstance(outputs, list):
        return [_to_float32(v) for v in outputs]
    return outputs


def train(job: TrainingJob, resume: bool = False, max_steps: int | None = None,
          on_step: Callable[[Progress, dict[str, float]], None] | None = None) -> Progress:
    """Train ``job`` (joining torchrun's process group if there is one); -> final progress."""
    job.config.validate()
    info = init_distributed(job.device)
    try:
        trainer = Trainer(job, info)
        if resume:
            trainer.resume()
        return trainer.run(max_steps=max_steps, on_step=on_step)
    finally:
        shutdown(info)
