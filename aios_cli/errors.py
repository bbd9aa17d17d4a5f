"""How every `aios` subcommand reports failure: one line on stderr and a documented exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from aios_core.errors import AiosError, interrupt_exit_code, termination_signals_as_interrupts

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@contextmanager
def reported_errors(
    command: str, usage_errors: tuple[type[Exception], ...], on_interrupt: str | Callable[[], str]
) -> Iterator[None]:
    """AiosError (and `usage_errors`) exit 2; Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129, each
    with `on_interrupt` as advice (a callable is asked after the interruption, so the advice
    can say what was really saved); anything else is a bug: exit 1 with one line
    (AIOS_DEBUG=1 re-raises to show the traceback)."""
    try:
        with termination_signals_as_interrupts():
            yield
    except (AiosError, *usage_errors) as error:
        click.echo(f"aios {command}: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt as interrupt:
        advice = on_interrupt() if callable(on_interrupt) else on_interrupt
        click.echo(f"aios {command}: interrupted; {advice}", err=True)
        sys.exit(interrupt_exit_code(interrupt))
    except Exception as error:
        if os.environ.get("AIOS_DEBUG"):
            raise
        click.echo(f"aios {command}: unexpected error ({type(error).__name__}: {error}); "
                   "rerun with AIOS_DEBUG=1 for details", err=True)
        sys.exit(EXIT_UNEXPECTED)
