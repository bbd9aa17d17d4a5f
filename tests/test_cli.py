import subprocess
import sys

from click.testing import CliRunner

from aios_cli.main import cli

SUBCOMMANDS = ["run", "export", "train", "eval", "doctor"]


def test_help_lists_every_subcommand():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line}
    assert set(SUBCOMMANDS) <= listed


def test_console_entry_runs_as_module():
    proc = subprocess.run(
        [sys.executable, "-m", "aios_cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert "doctor" in proc.stdout
