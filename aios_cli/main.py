"""`aios` entry point: parses arguments and hands over to aios_core; no logic lives here."""

from __future__ import annotations

import sys

import click

from aios_cli.doctor import doctor
from aios_cli.eval import eval_command
from aios_cli.export import export
from aios_cli.run import run

EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aios")
def cli() -> None:
    """AiOS: whole-body (SMPL-X) human mesh recovery for every person in images and video."""


def _not_implemented(name: str, summary: str) -> click.Command:
    @click.command(
        name=name,
        help=f"{summary} (not implemented yet)",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def command() -> None:
        click.echo(f"aios {name}: not implemented yet in this version.", err=True)
        sys.exit(EXIT_USAGE)

    return command


cli.add_command(doctor)
cli.add_command(run)
cli.add_command(export)
cli.add_command(_not_implemented("train", "Pre-train or fine-tune AiOS."))
cli.add_command(eval_command)
