from aios_cli.main import cli

cli()
