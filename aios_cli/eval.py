"""`aios eval`: score AiOS on a benchmark (or write a leaderboard submission)."""

from __future__ import annotations

from pathlib import Path

import click

from aios_cli.errors import reported_errors

# The keys of aios_core.evaluation.benchmarks.BENCHMARKS (a test keeps them equal), spelled out
# so that `aios --help` need not import the evaluation package (scipy).
BENCHMARK_NAMES = ("agora", "agora-test", "bedlam", "ehf", "ubody", "arctic", "egobody")


@click.command(name="eval")
@click.argument("benchmark", type=click.Choice(BENCHMARK_NAMES))
@click.option("--data-root", required=True, type=click.Path(path_type=Path),
              help="Folder laid out like the official data/ folder (see the README).")
@click.option("--annotations", type=click.Path(path_type=Path),
              help="HumanData .npz to use instead of the official file name.")
@click.option("--checkpoint", type=click.Path(path_type=Path), help="AiOS checkpoint file.")
@click.option("--smplx-dir", type=click.Path(path_type=Path),
              help="SMPL-X folder: neutral/male/female models, MANO/FLAME vertex ids "
                   "(default: $AIOS_HOME/body_models/smplx).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0),
              help="Detection score threshold (default per benchmark, as the official scripts).")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]),
              show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="Results JSON (default: aios_eval_<benchmark>.json).")
@click.option("--official-quirks", is_flag=True,
              help="Reproduce the official arithmetic (batch-pooled means, toolkit quirks).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run (same settings).")
@click.option("--per-image-errors", type=click.Path(path_type=Path),
              help="Also write every image's / person's errors to this JSON file.")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
def eval_command(benchmark, data_root, annotations, checkpoint, smplx_dir, threshold, batch_size,
                 device, out_path, official_quirks, resume, per_image_errors, quiet) -> None:
    """Evaluate on BENCHMARK: agora (validation), ehf, ubody, arctic, egobody; agora-test and
    bedlam write the leaderboard zip."""
    from rich.console import Console

    from aios_cli.progress import progress_bar
    from aios_core.assets import AssetNotFoundError
    from aios_core.device import choose_device
    from aios_core.evaluation.benchmarks import BenchmarkDataError
    from aios_core.evaluation.prediction_cache import PredictionCacheError
    from aios_core.evaluation.report import results_table
    from aios_core.evaluation.runner import EvalOptions, prepare_evaluation, run_evaluation
    from aios_core.inference.predictor import NetworkPredictor, load_network
    from aios_core.model.checkpoint import CheckpointFormatError, CheckpointMismatchError

    console = Console(stderr=True, quiet=quiet)
    out_path = out_path or Path(f"aios_eval_{benchmark}.json")
    options = EvalOptions(
        benchmark=benchmark, data_root=data_root, out_path=out_path, smplx_dir=smplx_dir,
        annotations=annotations, threshold=threshold, batch_size=batch_size,
        official_quirks=official_quirks, resume=resume, per_image_errors=per_image_errors,
        checkpoint=checkpoint, device=device,
    )
    usage_errors = (AssetNotFoundError, BenchmarkDataError, PredictionCacheError,
                    CheckpointFormatError, CheckpointMismatchError)
    with reported_errors("eval", usage_errors, lambda: _interrupt_advice(options)):
        torch_device = choose_device(device)
        # Data and SMPL-X files are checked first: a typo fails at once, not after loading.
        prepared = prepare_evaluation(options)
        options.predictor_identity = _checkpoint_identity(checkpoint)
        model, _ = load_network(checkpoint, torch_device, None)
        predictor = NetworkPredictor(model, prepared.threshold)
        with progress_bar(console, "images") as progress:
            task = progress.add_task(f"{benchmark} inference", total=None)
            report = run_evaluation(
                options, predictor, prepared,
                on_start=lambda total: _start(progress, task, total),
                on_images=lambda n: progress.advance(task, n),
            )
    console.print(results_table(report))
    console.print(f"results: {out_path}")


def _checkpoint_identity(checkpoint: Path | None) -> dict:
    """What distinguishes one checkpoint's predictions from another's, for --resume."""
    from aios_core.assets import resolve_checkpoint

    path = resolve_checkpoint(checkpoint)
    stat = path.stat()
    return {"checkpoint": str(path.resolve()), "size": stat.st_size, "mtime": int(stat.st_mtime)}


def _interrupt_advice(options) -> str:
    from aios_core.evaluation.prediction_cache import cached_image_count

    images = cached_image_count(options.work_folder)
    if images == 0:
        return "no image was finished yet, so nothing was saved"
    return (f"the predictions of {images} image{'s' if images != 1 else ''} are saved in "
            f"{options.work_folder}; rerun the same command with --resume to continue")


def _start(progress, task, total: int) -> None:
    progress.update(task, total=total)
    progress.advance(task, 0)  # the first sample: the rate counts from here
