"""The one base class of user-facing errors, and termination signals seen as interrupts.

An ``AiosError`` is a problem the user can fix (a bad path, a wrong file, an option out of
range): its message is one plain line that names the thing, and the CLI exits 2 with it.
Anything else that escapes a command is a bug and is reported as unexpected (exit 1).

SIGTERM (docker stop, Slurm pre-emption, ``timeout``) and SIGHUP (a closed terminal) are
turned into ``TerminationRequested``, a ``KeyboardInterrupt``, so every ``except
KeyboardInterrupt`` / ``finally`` that saves work on Ctrl-C saves it on those signals too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AiosError(Exception):
    """A user-facing error: a one-line message; the CLI exits 2 with it."""


class TerminationRequested(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; handled like Ctrl-C, exit status 128 + the signal number."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number


def interrupt_exit_code(interrupt: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    if isinstance(interrupt, TerminationRequested):
        return interrupt.exit_code
    return 128 + signal.SIGINT


TERMINATION_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def termination_signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise TerminationRequested in the main thread.

    Outside the main thread (signal handlers can only be set there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signal_number: int, _frame: object) -> None:
        raise TerminationRequested(signal_number)

    previous = {number: signal.signal(number, _raise) for number in TERMINATION_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP wait; the first one is delivered at its end.

    For work that must finish once started (a checkpoint being written: ``torch.save`` turns an
    interrupt inside it into an unrelated RuntimeError). Outside the main thread this does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def _hold(signal_number: int, _frame: object) -> None:
        received.append(signal_number)

    numbers = (signal.SIGINT, *TERMINATION_SIGNALS)
    previous = {number: signal.signal(number, _hold) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        if received:  # to the handler that was in place: KeyboardInterrupt, or as it was set
            signal.raise_signal(received[0])
