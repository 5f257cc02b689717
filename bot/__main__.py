"""The `patron-desk` command: run, route, rota, check, quarantine."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli_app import _fail, _settings, cli
from bot.cli_quarantine import quarantine_cli
from bot.cli_rota import rota_cli
from bot.config import Settings
from bot.errors import ConfigError
from bot.logs import configure
from bot.platforms import ROUTE_EXAMPLE, source_platforms

cli.add_typer(rota_cli, name="rota")
cli.add_typer(quarantine_cli, name="quarantine")


@cli.command()
def run(
    demo: Annotated[
        bool,
        typer.Option(help="The offline demo: a feed and social stand-ins with the example rules and rota."),
    ] = False,
    act_as: Annotated[
        str, typer.Option("--as", help="Act on the console desk as this staff member (CONSOLE_STAFF).")
    ] = "",
) -> None:
    """Run Patron Desk until Ctrl-C."""
    from bot.runner import run_forever

    settings = _settings(**({"CONSOLE_STAFF": act_as} if act_as else {}))
    _log_away_from_cards(settings, demo=demo)
    if not demo:
        _say_new_database(settings)
    try:
        asyncio.run(run_forever(settings, demo=demo))
    except ConfigError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        typer.echo("\nStopped.", err=True)


def _log_away_from_cards(settings: Settings, *, demo: bool) -> None:
    """Logs to stderr, except when the console desk prints cards on the same terminal: then to a file.

    The demo always logs to its file (``demo/patron-desk-demo.log``).
    """
    import sys

    from bot.logs import log_file_for, open_log_file, shares_terminal

    path: Path | None = None
    if demo:
        from bot.demo.paths import demo_paths

        path = demo_paths().log
    elif settings.console_on and shares_terminal(sys.stdout, sys.stderr):
        path = log_file_for(settings.DATABASE_URL)
        typer.echo(f"Logs go to {path} while the console desk uses this terminal.", err=True)
    configure(settings.LOG_LEVEL, settings.LOG_FORMAT, stream=open_log_file(path) if path else None)


def _say_new_database(settings: Settings) -> None:
    """Say where a new SQLite file is made: started from another folder, it would be a silent empty one."""
    from bot.store.engine import sqlite_file

    file = sqlite_file(settings.DATABASE_URL)
    if file is not None and not file.exists():
        typer.echo(f"No database at {file} yet: creating a new, empty one (DATABASE_URL).", err=True)


@cli.command()
def route(
    text: str,
    platform: Annotated[str, typer.Option(help=", ".join(sorted(source_platforms())))] = ROUTE_EXAMPLE,
    at: Annotated[str | None, typer.Option(help="ISO time, e.g. 2026-12-24T10:00 (library zone)")] = None,
    author: Annotated[str, typer.Option(help="Author handle")] = "",
    lang: Annotated[str | None, typer.Option(help="Language code")] = None,
) -> None:
    """Explain which rule, role and person a mention would get."""
    from bot.runner import explain_route

    known = sorted(source_platforms())
    if platform not in known:
        typer.echo(
            f"--platform {platform!r} is not a platform Patron Desk reads. Known: {', '.join(known)}.",
            err=True,
        )
        raise typer.Exit(2)
    settings = _settings()
    try:
        when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        typer.echo(f"--at {at!r} is not a time; example: --at 2026-12-24T10:00", err=True)
        raise typer.Exit(2) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=settings.zone)
    try:
        typer.echo(
            asyncio.run(explain_route(settings, text, platform=platform, at=when, author=author, lang=lang))
        )
    except ConfigError as exc:
        raise _fail(exc) from None


@cli.command()
def check(
    connect: Annotated[
        bool, typer.Option(help="Also log in to each configured source and say as whom.")
    ] = False,
) -> None:
    """Validate settings, rules and rota, and say what each configured part would connect to."""
    from bot.setup_check import check_setup

    settings = _settings()
    try:
        lines, ok = asyncio.run(check_setup(settings, connect=connect))
    except ConfigError as exc:
        raise _fail(exc) from None
    for line in lines:
        typer.echo(line)
    raise typer.Exit(0 if ok else 1)


@cli.command()
def report(
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD")],
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today)")] = None,
    csv: Annotated[
        Path | None,
        typer.Option(help="Also write the figures to this CSV file, and the per-day/week table beside it"),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw daily or weekly volume and response times to this PNG")
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option(help="Only this branch ([branches.NAME]): its roles, days and opening hours"),
    ] = None,
) -> None:
    """Volumes per platform, role and rule; time to first claim and reply; unanswered."""
    from bot.runner import make_report

    settings = _settings()
    try:
        first = date.fromisoformat(since)
        last = date.fromisoformat(until) if until else datetime.now(settings.zone).date()
    except ValueError:
        typer.echo("Dates are YYYY-MM-DD, e.g. --since 2026-09-01", err=True)
        raise typer.Exit(2) from None
    if last < first:
        typer.echo("--until is before --since", err=True)
        raise typer.Exit(2)
    try:
        text = asyncio.run(
            make_report(settings, since=first, until=last, csv_path=csv, chart_path=chart, branch=branch)
        )
    except ConfigError as exc:
        raise _fail(exc) from None
    typer.echo(text)


@cli.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be purged")] = False,
) -> None:
    """Remove patron text, handles, links and ids of mentions past RETENTION_DAYS (see README, Privacy)."""
    from bot.runner import run_purge

    settings = _settings()
    result = asyncio.run(run_purge(settings, dry_run=dry_run))
    verb = "Would purge" if dry_run else "Purged"
    typer.echo(
        f"{verb} {result.mentions} mention(s) finished or untouched for more than {settings.RETENTION_DAYS} "
        f"days ({result.expired} of them still open, closed first), redact {result.cards} chat card(s) "
        f"and delete {result.quarantined} quarantined item(s)."
    )


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
