"""Settings of a training run; ``TrainConfig.for_stage`` gives the paper's schedules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from aios_core.data.augment import TRAIN_MAX_LONG_SIDE, TRAIN_SHORT_SIDES
from aios_core.model.config_record import differences

STAGES = ("pretrain", "finetune")
SNAPSHOT_WEIGHTS = ("live", "ema")
# Settings a resumed run may change: they do not alter which steps it takes or their numbers.
RESUMABLE_CHANGES = frozenset({"epochs", "num_workers", "log_every_steps",
                               "checkpoint_every_steps", "keep_snapshots", "snapshot_weights",
                               "find_unused_parameters", "extra"})


@dataclass(frozen=True)
class TrainConfig:
    """Defaults: the official optimiser settings; epochs / lr / drops from ``for_stage``."""

    stage: str = "pretrain"
    epochs: int = 60
    lr: float = 1e-4
    lr_backbone: float = 1e-5  # parameters under ``backbone.0`` (the ResNet)
    lr_linear_proj_mult: float = 0.1  # sampling offsets / reference points
    lr_drop_epochs: tuple[int, ...] = (50,)
    lr_drop_factor: float = 0.1
    weight_decay: float = 1e-4
    clip_max_norm: float = 0.1
    batch_size: int = 2  # per process, as the official
    num_workers: int = 2
    precision: str = "fp32"  # or "bf16" / "fp16" (autocast of the forward; fp16 scales the loss)
    seed: int = 42
    use_ema: bool = True
    ema_decay: float = 0.9997
    samples_per_epoch: int | None = None  # None: the data set's image count
    log_every_steps: int = 10
    checkpoint_every_steps: int = 500  # and at every epoch end
    find_unused_parameters: bool = False  # True for configs that leave heads unused
    dn_number: int = 100  # denoising queries (official)
    # Training resolution: each image's short side is drawn from short_sides, the long side
    # capped at max_long_side (official DETR sizes; smaller ones make CPU / small-GPU runs work).
    short_sides: tuple[int, ...] = TRAIN_SHORT_SIDES
    max_long_side: int = TRAIN_MAX_LONG_SIDE
    keep_snapshots: int | None = None  # newest epoch snapshots kept (None: all, 0: none)
    snapshot_weights: str = "live"  # epoch snapshots hold "live" or "ema" weights
    extra: dict = field(default_factory=dict)  # free-form notes saved with the run

    @classmethod
    def for_stage(cls, stage: str, **overrides: object) -> TrainConfig:
        """Paper schedules: pre-train 60 epochs at 1e-4, x0.1 at 50; fine-tune 50 at 1e-5, 25."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        if stage == "pretrain":
            base = cls(stage=stage, epochs=60, lr=1e-4, lr_backbone=1e-5, lr_drop_epochs=(50,))
        else:
            base = cls(stage=stage, epochs=50, lr=1e-5, lr_backbone=1e-6, lr_drop_epochs=(25,))
        config = replace(base, **overrides)
        config.validate()
        return config

    def validate(self) -> None:
        checks = (
            (self.stage in STAGES, f"stage must be one of {STAGES}, got {self.stage!r}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.lr > 0 and self.lr_backbone >= 0, "learning rates must be positive"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (self.precision in ("fp32", "bf16", "fp16"),
             f"precision must be fp32, bf16 or fp16, got {self.precision!r}"),
            (0 <= self.ema_decay < 1, f"ema_decay must be in [0, 1), got {self.ema_decay}"),
            (self.clip_max_norm >= 0, "clip_max_norm must be >= 0 (0 disables clipping)"),
            (self.checkpoint_every_steps >= 1 and self.log_every_steps >= 1,
             "checkpoint / log intervals must be >= 1 step"),
            (len(self.short_sides) > 0 and all(side >= 32 for side in self.short_sides),
             f"short sides must be >= 32 pixels, got {list(self.short_sides)}"),
            (self.max_long_side >= max(self.short_sides, default=0),
             f"max long side {self.max_long_side} is below the largest short side"),
            (self.keep_snapshots is None or self.keep_snapshots >= 0,
             f"keep_snapshots must be >= 0, got {self.keep_snapshots}"),
            (self.snapshot_weights in SNAPSHOT_WEIGHTS,
             f"snapshot weights must be live or ema, got {self.snapshot_weights!r}"),
            (self.snapshot_weights == "live" or self.use_ema,
             "snapshot weights 'ema' need use_ema"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        values = dict(values)
        values["lr_drop_epochs"] = tuple(values.get("lr_drop_epochs", ()))
        if "short_sides" in values:
            values["short_sides"] = tuple(values["short_sides"])
        return cls(**values)

    def resume_conflicts(self, stored: dict) -> list[str]:
        """Settings that differ from a checkpoint's (``stored`` = its ``as_dict``) and may not
        change on resume, as "name: old in the checkpoint, new now" lines."""
        old = TrainConfig.from_dict(stored).as_dict()
        return [line for line in differences(old, self.as_dict(), "in the checkpoint", "now")
                if line.split(":", 1)[0] not in RESUMABLE_CHANGES]
