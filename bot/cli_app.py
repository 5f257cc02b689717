"""The `patron-desk` Typer app, its --env-file option, and how a command reads settings or fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.config import Settings, load_settings
from bot.errors import ConfigError

cli = typer.Typer(help="Patron Desk: patrons' mentions of the library, routed to whoever is on duty.")
ENV_FILE: list[Path] = []  # the --env-file given before the command, if any


@cli.callback()
def _options(
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            help="Read settings from this file instead of ./.env (the environment still wins).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Patron Desk: patrons' mentions of the library, routed to whoever is on duty."""
    ENV_FILE[:] = [env_file] if env_file else []


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(ENV_FILE[0] if ENV_FILE else None, **overrides)
    except ConfigError as exc:
        typer.echo("Patron Desk cannot start; fix these settings:", err=True)
        for line in str(exc).splitlines():
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(2) from None


def _fail(exc: ConfigError) -> typer.Exit:
    typer.echo("Patron Desk cannot start:", err=True)
    for line in str(exc).splitlines():
        typer.echo(f"  - {line}", err=True)
    return typer.Exit(2)
