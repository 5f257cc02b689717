"""The `patron-desk` command: run, route, report, purge, check, rota, quarantine."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot.cli_app import Commands, Exit, _fail, _settings, command, dispatch, echo, parser
from bot.cli_quarantine import add_quarantine
from bot.cli_rota import add_rota
from bot.config import Settings
from bot.errors import ConfigError
from bot.logs import configure
from bot.platforms import ROUTE_EXAMPLE, source_platforms


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """``run``, ``route``, ``check``, ``report`` and ``purge``."""
    running = command(commands, "run", run)
    running.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="The offline demo: a feed and social stand-ins with the example rules and rota.",
    )
    running.add_argument(
        "--as",
        dest="act_as",
        default="",
        help="Act on the console desk as this staff member (CONSOLE_STAFF).",
    )
    routing = command(commands, "route", route)
    routing.add_argument("text")
    routing.add_argument("--platform", default=ROUTE_EXAMPLE, help=", ".join(sorted(source_platforms())))
    routing.add_argument("--at", help="ISO time, e.g. 2026-12-24T10:00 (library zone)")
    routing.add_argument("--author", default="", help="Author handle")
    routing.add_argument("--lang", help="Language code")
    command(commands, "check", check).add_argument(
        "--connect",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Also log in to each configured source and say as whom.",
    )
    reporting = command(commands, "report", report)
    reporting.add_argument("--since", required=True, help="First day, YYYY-MM-DD")
    reporting.add_argument("--until", help="Last day, YYYY-MM-DD (default: today)")
    reporting.add_argument(
        "--csv",
        type=Path,
        help="Also write the figures to this CSV file, and the per-day/week table beside it",
    )
    reporting.add_argument(
        "--chart", type=Path, help="Also draw daily or weekly volume and response times to this PNG"
    )
    reporting.add_argument(
        "--branch", help="Only this branch ([branches.NAME]): its roles, days and opening hours"
    )
    command(commands, "purge", purge).add_argument(
        "--dry-run", action="store_true", help="Only say what would be purged"
    )


def run(args: argparse.Namespace) -> None:
    """Run Patron Desk until Ctrl-C."""
    from bot.runner import run_forever

    demo: bool = args.demo
    settings = _settings(**({"CONSOLE_STAFF": args.act_as} if args.act_as else {}))
    _log_away_from_cards(settings, demo=demo)
    if not demo:
        _say_new_database(settings)
    try:
        asyncio.run(run_forever(settings, demo=demo))
    except ConfigError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        echo("\nStopped.", err=True)


def _log_away_from_cards(settings: Settings, *, demo: bool) -> None:
    """Logs to stderr, except when the console desk prints cards on the same terminal: then to a file.

    The demo always logs to its file (``demo/patron-desk-demo.log``).
    """
    from bot.logs import log_file_for, open_log_file, shares_terminal

    path: Path | None = None
    if demo:
        from bot.demo.paths import demo_paths

        path = demo_paths().log
    elif settings.console_on and shares_terminal(sys.stdout, sys.stderr):
        path = log_file_for(settings.DATABASE_URL)
        echo(f"Logs go to {path} while the console desk uses this terminal.", err=True)
    configure(settings.LOG_LEVEL, settings.LOG_FORMAT, stream=open_log_file(path) if path else None)


def _say_new_database(settings: Settings) -> None:
    """Say where a new SQLite file is made: started from another folder, it would be a silent empty one."""
    from bot.store.engine import sqlite_file

    file = sqlite_file(settings.DATABASE_URL)
    if file is not None and not file.exists():
        echo(f"No database at {file} yet: creating a new, empty one (DATABASE_URL).", err=True)


def route(args: argparse.Namespace) -> None:
    """Explain which rule, role and person a mention would get."""
    from bot.runner import explain_route

    platform: str = args.platform
    at: str | None = args.at

    known = sorted(source_platforms())
    if platform not in known:
        echo(
            f"--platform {platform!r} is not a platform Patron Desk reads. Known: {', '.join(known)}.",
            err=True,
        )
        raise Exit(2)
    settings = _settings()
    try:
        when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        echo(f"--at {at!r} is not a time; example: --at 2026-12-24T10:00", err=True)
        raise Exit(2) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=settings.zone)
    try:
        echo(
            asyncio.run(
                explain_route(
                    settings, args.text, platform=platform, at=when, author=args.author, lang=args.lang
                )
            )
        )
    except ConfigError as exc:
        raise _fail(exc) from None


def check(args: argparse.Namespace) -> None:
    """Validate settings, rules and rota, and say what each configured part would connect to."""
    from bot.setup_check import check_setup

    settings = _settings()
    try:
        lines, ok = asyncio.run(check_setup(settings, connect=args.connect))
    except ConfigError as exc:
        raise _fail(exc) from None
    for line in lines:
        echo(line)
    raise Exit(0 if ok else 1)


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)  # a report's dates, with room for zones


def report(args: argparse.Namespace) -> None:
    """Volumes per platform, role and rule; time to first claim and reply; unanswered."""
    from bot.runner import make_report

    since: str = args.since
    until: str | None = args.until

    settings = _settings()
    try:
        first = date.fromisoformat(since)
        last = date.fromisoformat(until) if until else datetime.now(settings.zone).date()
    except ValueError:
        echo("Dates are YYYY-MM-DD, e.g. --since 2026-09-01", err=True)
        raise Exit(2) from None
    if last < first:
        echo("--until is before --since", err=True)
        raise Exit(2)
    if not (first >= FIRST_DAY and last <= LAST_DAY):
        echo(f"Report dates are from {FIRST_DAY} to {LAST_DAY}", err=True)
        raise Exit(2)
    outputs = [path for path in (args.csv, args.chart) if path is not None]
    for path in outputs:
        if not path.parent.is_dir() or path.is_dir():
            echo(f"Cannot write {path}: {'it is a folder' if path.is_dir() else 'no such folder'}", err=True)
            raise Exit(2)
    try:
        text = asyncio.run(
            make_report(
                settings,
                since=first,
                until=last,
                csv_path=args.csv,
                chart_path=args.chart,
                branch=args.branch,
            )
        )
    except ConfigError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) not in outputs:
            raise  # not one of the files asked for (the database, say): reported as any other failure
        echo(f"Cannot write {exc.filename}: {exc.strerror}", err=True)
        raise Exit(2) from None
    echo(text)


def purge(args: argparse.Namespace) -> None:
    """Remove patron text, handles, links and ids of mentions past RETENTION_DAYS (see README, Privacy)."""
    from bot.runner import run_purge

    settings = _settings()
    result = asyncio.run(run_purge(settings, dry_run=args.dry_run))
    verb = "Would purge" if args.dry_run else "Purged"
    echo(
        f"{verb} {result.mentions} mention(s) finished or untouched for more than {settings.RETENTION_DAYS} "
        f"days ({result.expired} of them still open, closed first), redact {result.cards} chat card(s) "
        f"and delete {result.quarantined} quarantined item(s)."
    )


def cli(argv: list[str] | None = None) -> int:
    """Run one command line (``sys.argv`` without the program name by default); the exit status."""
    top = parser()
    commands = top.add_subparsers(title="commands", metavar="COMMAND")
    add_commands(commands)
    add_rota(commands)
    add_quarantine(commands)
    return dispatch(top, sys.argv[1:] if argv is None else argv)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli())


if __name__ == "__main__":
    main()
