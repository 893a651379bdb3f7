"""The `labguide` command line (click). Thin: parses options, calls the core, prints errors."""

from __future__ import annotations

import sys

import click

from labguide import __version__
from labguide.errors import LabguideError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labguide")
def cli() -> None:
    """Walk through a hands-on infrastructure lab, step by step."""


def _register() -> None:
    # Each front-end keeps its commands beside its code; they register here.
    from labguide.probes.cli import probe, watch
    from labguide.sandbox.cli import lab

    cli.add_command(lab)
    cli.add_command(probe)
    cli.add_command(watch)


def main(argv: list[str] | None = None) -> None:
    try:
        _register()
    except ImportError:  # pragma: no cover - a module under construction
        pass
    try:
        cli.main(args=argv, prog_name="labguide", standalone_mode=False)
    except LabguideError as exc:
        click.echo(f"labguide: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("labguide: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
