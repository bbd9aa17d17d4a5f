"""`aios` entry point: parses arguments and hands over to aios_core; no logic lives here."""

from __future__ import annotations

import click

from aios_cli.doctor import doctor
from aios_cli.eval import eval_command
from aios_cli.export import export
from aios_cli.ground import ground
from aios_cli.run import run
from aios_cli.train import train

EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aios")
def cli() -> None:
    """AiOS: whole-body (SMPL-X) human mesh recovery for every person in images and video."""


cli.add_command(doctor)
cli.add_command(run)
cli.add_command(export)
cli.add_command(ground)
cli.add_command(train)
cli.add_command(eval_command)
