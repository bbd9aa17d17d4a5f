"""The progress bar of `aios run` / `aios eval` shows a rate and the time left."""

from __future__ import annotations

import io

from rich.console import Console

from aios_cli.progress import progress_bar


class Clock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def rendered(progress) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(progress.make_tasks_table(progress.tasks))
    return " ".join(console.file.getvalue().split())


def test_rate_and_eta_from_the_mean_since_the_first_report():
    clock = Clock()
    progress = progress_bar(Console(file=io.StringIO()), "frames", clock=clock)
    task = progress.add_task("inference", total=100)
    progress.advance(task, 0)  # the run starts: nothing done yet
    assert "0/100 frames -- frames/s eta --" in rendered(progress)
    for _ in range(5):  # batches of 8 frames, 40 s each (a slow CPU: rich's 30 s window
        clock.now_s += 40.0  # would have held a single sample and shown no rate)
        progress.advance(task, 8)
    # 40 frames in 200 s: 0.2 frames/s; 60 frames left: 300 s.
    assert "40/100 frames 0.2 frames/s eta 0:05:00" in rendered(progress)


def test_unknown_total_shows_the_count_and_rate_without_eta():
    clock = Clock()
    progress = progress_bar(Console(file=io.StringIO()), "images", clock=clock)
    task = progress.add_task("ehf inference", total=None)
    progress.advance(task, 0)
    clock.now_s = 4.0
    progress.advance(task, 10)
    assert "10 images 2.5 images/s eta --" in rendered(progress)
