"""The progress bar of long commands: done/total, rate and time left.

Imported inside the command functions (rich is not needed for `aios --help`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

# The rate is the mean since the task's first report: a batch on CPU can take longer than
# rich's default 30 s window, which left the rate (and so the ETA) blank for a whole run.
_RATE_WINDOW_S = 7 * 24 * 3600.0


class CountColumn(ProgressColumn):
    """``120/300 frames``, or ``120 frames`` while the total is unknown."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        if task.total is None:
            return Text(f"{done} {self.unit}")
        return Text(f"{done}/{int(task.total)} {self.unit}")


class RateColumn(ProgressColumn):
    """``12.5 frames/s`` (or ``0.21 frames/s``); ``-- frames/s`` before the rate is known."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.speed
        if not speed:
            return Text(f"-- {self.unit}/s")
        return Text(f"{speed:.3g} {self.unit}/s" if speed < 100 else f"{speed:.0f} {self.unit}/s")


class EtaColumn(ProgressColumn):
    """``eta 0:04:10`` from the rate and the total; ``eta --`` while either is unknown."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text(f"took {timedelta(seconds=round(task.finished_time or 0))}")
        remaining = task.time_remaining
        if remaining is None:
            return Text("eta --")
        return Text(f"eta {timedelta(seconds=round(remaining))}")


def progress_bar(console: Console, unit: str,
                 clock: Callable[[], float] | None = None) -> Progress:
    """``description [bar] done/total unit  rate  eta``; the first ``advance`` of a task marks
    where its rate starts (report work already done, or 0, right away). ``clock``: seconds,
    default rich's monotonic clock."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), CountColumn(unit), RateColumn(unit),
        EtaColumn(), console=console, speed_estimate_period=_RATE_WINDOW_S, get_time=clock,
    )
