import os
import subprocess
import sys
from pathlib import Path

import click
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


HEAVY_MODULES = ("scipy", "torch", "cv2", "av", "pyrender", "ray", "viser")


def test_help_imports_no_heavy_module():
    """`aios --help` (and every subcommand's help) must not pay for torch, scipy, PyAV, ..."""
    script = (
        "import sys\n"
        "from aios_cli.main import cli\n"
        "for args in (['--help'], *[[name, '--help'] for name in cli.commands]):\n"
        "    try:\n"
        "        cli(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_MODULES!r})))\n"
    )
    repo_root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env, cwd=repo_root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_the_lists_spelled_out_for_a_fast_help_match_their_sources():
    from aios_cli.eval import BENCHMARK_NAMES
    from aios_cli.run import RENDER_SUFFIXES
    from aios_core.evaluation.benchmarks import BENCHMARKS
    from aios_core.video.writer import CONTAINER_BY_SUFFIX

    assert BENCHMARK_NAMES == tuple(BENCHMARKS)
    assert set(RENDER_SUFFIXES) == set(CONTAINER_BY_SUFFIX)


def test_the_smplx_folder_is_documented_as_assets_looks_for_it(monkeypatch, tmp_path):
    """One place for SMPL-X: every help text, the README and docs/ name the assets.py folder."""
    import re

    from aios_core.assets import default_smplx_dir

    monkeypatch.setenv("AIOS_HOME", str(tmp_path))
    expected = "$AIOS_HOME/" + default_smplx_dir().relative_to(tmp_path).as_posix()
    root = Path(__file__).resolve().parents[1]
    texts = {path.name: path.read_text() for path in [root / "README.md", *root.glob("docs/*.md")]}
    for name in SUBCOMMANDS:
        texts[f"aios {name} --help"] = CliRunner().invoke(cli, [name, "--help"]).output
    mentions = {(where, m) for where, text in texts.items()
                for m in re.findall(r"\$AIOS_HOME/[\w/]*smplx\w*", " ".join(text.split()))}
    assert mentions, "nothing documents the SMPL-X folder"
    assert {m for _, m in mentions} == {expected}, sorted(mentions)


def test_batch_takes_every_option_run_takes_for_a_clip():
    """`aios batch` runs `aios run` on every clip: each run option is a batch option too, with
    the same meaning, except those that name one run's own files or session."""
    from aios_cli.batch import batch
    from aios_cli.run import run

    def options(command):
        return {name: param for param in command.params if isinstance(param, click.Option)
                for name in param.opts}

    run_options, batch_options = options(run), options(batch)
    own_to_one_run = {"--out", "--resume", "--overwrite", "--view"}
    missing = set(run_options) - set(batch_options) - own_to_one_run
    assert missing == set()
    for name in set(run_options) - own_to_one_run - {"--render", "--batch-size", "--quiet",
                                                     "-h", "--help"}:
        ours, theirs = run_options[name], batch_options[name]
        assert (ours.help, ours.default, type(ours.type)) == (
            theirs.help, theirs.default, type(theirs.type)), name
