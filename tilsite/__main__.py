"""``python -m tilsite`` runs the CLI."""

from tilsite.cli import cli

cli()
