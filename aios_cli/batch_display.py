"""The live display and the final table of `aios batch`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from aios_core.batch.progress import BatchProgress


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def status(progress: BatchProgress) -> RenderableType:
    """Clips done/failed/total, fps over all workers, ETA, and each worker's current clips."""
    finished = progress.skipped + progress.done + progress.failed
    line = Text.assemble(
        ("clips ", "bold"), f"{finished}/{progress.total}",
        f"  done {progress.done}", ("  failed ", ""), (str(progress.failed),
                                                       "red" if progress.failed else ""),
        f"  skipped {progress.skipped}",
        f"  {progress.frames_per_second:.1f} fps",
        f"  elapsed {_duration(progress.elapsed_s)}  ETA {_duration(progress.eta_s)}",
    )
    workers = Table(show_header=False, box=None, padding=(0, 1))
    for worker, clips in sorted(progress.current.items()):
        workers.add_row(worker, ", ".join(Path(clip).name for clip in clips) or "idle")
    return Group(ProgressBar(total=max(progress.total, 1), completed=finished), line, workers)


@contextmanager
def live_display(console: Console, progress: BatchProgress) -> Iterator[None]:
    with Live(get_renderable=lambda: status(progress), console=console,
              refresh_per_second=4, transient=True):
        yield


def print_summary(console: Console, progress: BatchProgress, out_dir: Path) -> None:
    table = Table(title="aios batch")
    table.add_column("item")
    table.add_column("value")
    table.add_row("clips", str(progress.total))
    table.add_row("done in this run", str(progress.done))
    table.add_row("already done (skipped)", str(progress.skipped))
    table.add_row("failed", str(progress.failed))
    table.add_row("frames inferred", str(progress.frames))
    table.add_row("time", f"{_duration(progress.elapsed_s)} ({progress.frames_per_second:.2f} fps)")
    table.add_row("manifest", str(Path(out_dir) / "batch_manifest.jsonl"))
    console.print(table)
    if progress.failures:
        failed = Table(title="failed clips")
        failed.add_column("input")
        failed.add_column("reason")
        for record in progress.failures:
            # Text, not markup: "pip install 'aios[fbx]'" keeps its brackets.
            failed.add_row(Text(record.input), Text(record.error or ""))
        console.print(failed)
