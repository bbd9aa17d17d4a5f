"""`aios doctor`: a table of what `aios run` needs; exit code 1 if something required is missing."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option("--checkpoint", type=click.Path(), help="AiOS checkpoint file to check.")
@click.option("--smplx-dir", type=click.Path(),
              help="Folder holding SMPLX_NEUTRAL.npz (default: $AIOS_HOME/body_models/smplx).")
def doctor(checkpoint: str | None, smplx_dir: str | None) -> None:
    """Check the installation: torch, device, checkpoint, SMPL-X, renderer, video."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from aios_core.doctor import run_all

    checks = run_all(checkpoint, smplx_dir)
    table = Table(title="aios doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in checks:
        if check.ok:
            status = "[green]ok[/green]"
        else:
            status = "[red]missing[/red]" if check.required else "[yellow]warning[/yellow]"
        table.add_row(check.name, status, Text(check.detail))  # paths may hold [brackets]
    Console().print(table)
    if any(not check.ok and check.required for check in checks):
        sys.exit(1)
