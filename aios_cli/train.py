"""`aios train`: pre-train or fine-tune AiOS (one process, or many under torchrun)."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors
from aios_core.precision import PRECISIONS


@click.command(name="train")
@click.option("--stage", required=True, type=click.Choice(["pretrain", "finetune"]),
              help="Paper schedule: pretrain (60 epochs, lr 1e-4) or finetune (50, 1e-5).")
@click.option("--data-root", required=True, type=click.Path(path_type=Path),
              help="Folder with preprocessed_npz/ and datasets/ (official data layout).")
@click.option("--out", "run_dir", required=True, type=click.Path(path_type=Path),
              help="Run directory: checkpoints/, log.csv.")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--init", "init_path", type=click.Path(path_type=Path),
              help="Start from these weights (released AiOS or ED-Pose COCO; matching parts).")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="SMPL-X model folder (default: $AIOS_HOME/body_models/smplx).")
@click.option("--datasets", help="Comma-separated subset of the stage's data sets.")
@click.option("--extra-data", nargs=3, multiple=True,
              type=(click.Path(path_type=Path), click.Path(path_type=Path), float),
              metavar="NPZ IMAGES P", help="Your own HumanData file, its image folder and its "
              "sampling probability (repeatable).")
@click.option("--epochs", type=click.IntRange(min=1), help="Override the stage's epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Images per process (default 2).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True),
              help="Override the base learning rate (the backbone keeps its 1:10 ratio).")
@click.option("--num-workers", type=click.IntRange(min=0), help="Data loader workers (2).")
@click.option("--precision", type=click.Choice(PRECISIONS),
              help="Forward precision: bf16 on GPUs that have it, fp16 (loss-scaled) on older.")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]),
              show_default=True)
@click.option("--seed", type=int, help="Seed of sampling, augmentation and denoising (42).")
@click.option("--model-config", "model_config", type=click.Path(path_type=Path),
              help="TOML or JSON file of AiOSConfig fields (hidden_dim, dec_layers, ...) to "
              "train another architecture; unset fields keep the released values.")
@click.option("--short-side", "short_sides", callback=lambda _c, _p, v: _sides(v),
              metavar="PX[,PX...]", help="Training short side(s) in pixels, one drawn per "
              "image (default 480,512,...,800).")
@click.option("--max-long-side", type=click.IntRange(min=32), metavar="PX",
              help="Cap of the training long side in pixels (default 1333).")
@click.option("--keep-snapshots", type=click.IntRange(min=0), metavar="N",
              help="Keep the newest N epoch snapshots (weights only; default all, 0 none).")
@click.option("--snapshot-weights", type=click.Choice(["live", "ema"]),
              help="Weights the epoch snapshots hold (default live).")
def train(stage, data_root, run_dir, resume, init_path, smplx_dir, datasets, extra_data, epochs,
          batch_size, lr, num_workers, precision, device, seed, model_config, short_sides,
          max_long_side, keep_snapshots, snapshot_weights) -> None:
    """Pre-train or fine-tune AiOS on HumanData files; Ctrl-C saves, --resume continues.

    RUN_DIR/checkpoints/last.pth holds the full training state and the model config;
    epoch_XXX.pth snapshots hold weights only. Both load with aios run --checkpoint.
    """
    from aios_core.assets import AssetNotFoundError
    from aios_core.data.errors import HumanDataError
    from aios_core.io.output_paths import check_writable_folder
    from aios_core.model.checkpoint import CheckpointFormatError
    from aios_core.training.checkpointing import ResumeError

    usage_errors = (AssetNotFoundError, HumanDataError, CheckpointFormatError, ResumeError)
    with reported_errors("train", usage_errors,
                         on_interrupt=f"saved; continue with: aios train ... --out {run_dir} "
                         "--resume"):
        from aios_core.training.setup import TrainOverrides

        overrides = TrainOverrides(
            epochs=epochs, batch_size=batch_size, lr=lr, num_workers=num_workers,
            precision=precision, seed=seed, short_sides=short_sides, max_long_side=max_long_side,
            keep_snapshots=keep_snapshots, snapshot_weights=snapshot_weights)
        check_writable_folder(run_dir, "--out")  # before the data sets and weights load
        _train(stage, data_root, run_dir, resume, init_path, smplx_dir, datasets, extra_data,
               overrides, device, model_config)


def _sides(value: str | None) -> tuple[int, ...] | None:
    """"480,512" -> (480, 512); a bad list is a usage error naming the option."""
    if value is None:
        return None
    try:
        sides = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        sides = ()
    if not sides or min(sides) < 32:
        raise click.BadParameter(f"{value!r}: expected pixel sizes >= 32, e.g. 256 or 224,256",
                                 param_hint="--short-side")
    return sides


def _train(stage, data_root, run_dir, resume, init_path, smplx_dir, datasets, extra_data,
           overrides, device, model_config) -> None:
    from aios_core.training.loop import train as run_training
    from aios_core.training.setup import prepare_training

    names = [n.strip() for n in datasets.split(",") if n.strip()] if datasets else None
    prepared = prepare_training(stage, data_root, run_dir, resume=resume, init_path=init_path,
                                smplx_dir=smplx_dir, datasets=names, extra=list(extra_data),
                                overrides=overrides, device_name=device,
                                model_config_path=model_config)
    if prepared.is_main:
        for line in prepared.messages:
            click.echo(line, err=True)
    progress = run_training(prepared.job, resume=resume)
    if prepared.is_main:
        click.echo(f"aios train: finished epoch {progress.epoch} (step {progress.global_step}); "
                   f"weights in {run_dir / 'checkpoints' / 'last.pth'}", err=True)
