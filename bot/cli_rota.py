"""`patron-desk rota`: show, edit, import, check and export the rota."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from bot.cli_app import _fail, _settings
from bot.errors import ConfigError

rota_cli = typer.Typer(help="Show, import and export the rota.")


def _rota(text: str) -> None:
    from bot.runner import rota_command

    settings = _settings()
    try:
        ok, message = asyncio.run(rota_command(settings, text))
    except ConfigError as exc:
        raise _fail(exc) from None
    typer.echo(message)
    raise typer.Exit(0 if ok else 1)


@rota_cli.command("show")
def rota_show(
    args: Annotated[list[str] | None, typer.Argument(help="[role] [this|next|DATE]")] = None,
) -> None:
    """The week's rota, each entry with its id."""
    _rota(" ".join(["show", *(args or [])]))


@rota_cli.command("now")
def rota_now() -> None:
    """Who is on duty right now, per role."""
    _rota("now")


@rota_cli.command("edit")
def rota_edit(
    args: Annotated[
        list[str], typer.Argument(help="a rota command, e.g. add @alice reference mon-fri 09:00-17:00")
    ],
) -> None:
    """Run any rota command (add, remove, cover, off, close, ...) as an administrator."""
    _rota(" ".join(args))


@rota_cli.command("import")
def rota_import(
    file: Path,
    replace: Annotated[
        bool, typer.Option("--replace", help="Make the weekly rota exactly the file (shows the change).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would change.")] = False,
) -> None:
    """Add the weekly shifts of a CSV (person,role,days,start,end); rows already stored are skipped."""
    from bot.runner import import_rota_file

    settings = _settings()
    same = settings.ROTA_FILE is not None and settings.ROTA_FILE.resolve() == file.resolve()
    try:
        diff, text = asyncio.run(
            import_rota_file(settings, file, replace=replace, dry_run=dry_run, remember=same)
        )
    except ConfigError as exc:
        typer.echo("Nothing was imported:", err=True)
        for line in str(exc).splitlines():
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(2) from None
    typer.echo(text)
    if dry_run:
        typer.echo("Dry run: nothing was changed.")
    elif diff.empty:
        typer.echo(f"The rota already matches {file}.")
    else:
        typer.echo(f"Applied {file}: {len(diff.add)} added, {len(diff.remove)} removed.")


@rota_cli.command("gaps")
def rota_gaps() -> None:
    """Opening hours in the next two weeks when a role has nobody (nor a backup) on duty."""
    _rota("gaps")


@rota_cli.command("export")
def rota_export() -> None:
    """Print the weekly shifts as CSV."""
    from bot.runner import export_rota

    typer.echo(asyncio.run(export_rota(_settings())), nl=False)
