"""The `patron-desk` command: run, route, rota, check, quarantine."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.logs import configure
from bot.platforms import ROUTE_EXAMPLE, source_platforms

cli = typer.Typer(help="Patron Desk: patrons' mentions of the library, routed to whoever is on duty.")
rota_cli = typer.Typer(help="Show, import and export the rota.")
cli.add_typer(rota_cli, name="rota")
quarantine_cli = typer.Typer(help="Items a source delivered that could not be stored.")
cli.add_typer(quarantine_cli, name="quarantine")
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
    from bot.store.db import sqlite_file

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


@quarantine_cli.command("list")
def quarantine_list() -> None:
    """Each set-aside item: id, source, external id, reason, attempts, when it arrived."""
    from bot.rota.timespec import staff_time
    from bot.runner import quarantine_list as listing

    settings = _settings()
    held = asyncio.run(listing(settings))
    if not held:
        typer.echo("Nothing is in quarantine.")
    for item in held:
        when = staff_time(item.received_at.astimezone(settings.zone))
        typer.echo(
            f"#{item.id}  {item.source}  {item.external_id}  {item.reason}  "
            f"attempts {item.attempts}  received {when}"
        )


def _chosen(ids: list[int] | None, every: bool) -> list[int] | None:
    if every == bool(ids):
        typer.echo("Give item ids (see `patron-desk quarantine list`) or --all.", err=True)
        raise typer.Exit(2)
    return None if every else list(ids or [])


QuarantineIds = Annotated[list[int] | None, typer.Argument(help="item ids from `quarantine list`")]
EveryItem = Annotated[bool, typer.Option("--all", help="every item in quarantine")]


@quarantine_cli.command("retry")
def quarantine_retry(ids: QuarantineIds = None, every: EveryItem = False) -> None:
    """Store items again; one that now stores becomes a mention (carded by the running bot)."""
    from bot.runner import quarantine_retry as retry

    results = asyncio.run(retry(_settings(), _chosen(ids, every)))
    words = {"stored": "stored as a mention", "held": "still cannot be stored", "missing": "no such item"}
    for row_id, outcome in results:
        typer.echo(f"#{row_id}: {words[outcome]}")
    raise typer.Exit(0 if all(outcome == "stored" for _, outcome in results) else 1)


@quarantine_cli.command("drop")
def quarantine_drop(ids: QuarantineIds = None, every: EveryItem = False) -> None:
    """Delete items for good."""
    from bot.runner import quarantine_drop as drop

    count = asyncio.run(drop(_settings(), _chosen(ids, every)))
    typer.echo(f"Dropped {count} item(s) from quarantine.")


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
