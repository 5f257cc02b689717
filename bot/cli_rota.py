"""`patron-desk rota`: show, edit, import, check and export the rota."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli_app import Commands, Exit, _fail, _settings, command, echo, group
from bot.errors import ConfigError


def add_rota(commands: Commands[argparse.ArgumentParser]) -> None:
    """``rota show|now|edit|import|gaps|export``."""
    rota = group(commands, "rota", "Show, import and export the rota.")
    command(rota, "show", rota_show).add_argument("args", nargs="*", help="[role] [this|next|DATE]")
    command(rota, "now", rota_now)
    command(rota, "edit", rota_edit).add_argument(
        "args", nargs="+", help="a rota command, e.g. add @alice reference mon-fri 09:00-17:00"
    )
    importing = command(rota, "import", rota_import)
    importing.add_argument("file", type=Path)
    importing.add_argument(
        "--replace", action="store_true", help="Make the weekly rota exactly the file (shows the change)."
    )
    importing.add_argument("--dry-run", action="store_true", help="Only show what would change.")
    command(rota, "gaps", rota_gaps)
    command(rota, "export", rota_export)


def _rota(text: str) -> None:
    from bot.runner import rota_command

    settings = _settings()
    try:
        ok, message = asyncio.run(rota_command(settings, text))
    except ConfigError as exc:
        raise _fail(exc) from None
    echo(message)
    raise Exit(0 if ok else 1)


def rota_show(args: argparse.Namespace) -> None:
    """The week's rota, each entry with its id."""
    _rota(" ".join(["show", *args.args]))


def rota_now(args: argparse.Namespace) -> None:
    """Who is on duty right now, per role."""
    _rota("now")


def rota_edit(args: argparse.Namespace) -> None:
    """Run any rota command (add, remove, cover, off, close, ...) as an administrator."""
    _rota(" ".join(args.args))


def rota_import(args: argparse.Namespace) -> None:
    """Add the weekly shifts of a CSV (person,role,days,start,end); rows already stored are skipped."""
    from bot.runner import import_rota_file

    file: Path = args.file
    settings = _settings()
    same = settings.ROTA_FILE is not None and settings.ROTA_FILE.resolve() == file.resolve()
    try:
        diff, text = asyncio.run(
            import_rota_file(settings, file, replace=args.replace, dry_run=args.dry_run, remember=same)
        )
    except ConfigError as exc:
        echo("Nothing was imported:", err=True)
        for line in str(exc).splitlines():
            echo(f"  - {line}", err=True)
        raise Exit(2) from None
    echo(text)
    if args.dry_run:
        echo("Dry run: nothing was changed.")
    elif diff.empty:
        echo(f"The rota already matches {file}.")
    else:
        echo(f"Applied {file}: {len(diff.add)} added, {len(diff.remove)} removed.")


def rota_gaps(args: argparse.Namespace) -> None:
    """Opening hours in the next two weeks when a role has nobody (nor a backup) on duty."""
    _rota("gaps")


def rota_export(args: argparse.Namespace) -> None:
    """Print the weekly shifts as CSV."""
    from bot.runner import export_rota

    echo(asyncio.run(export_rota(_settings())), nl=False)
