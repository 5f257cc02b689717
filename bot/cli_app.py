"""The `patron-desk` command line (argparse), its --env-file option, and how a command reads settings or
fails.

argparse, not Typer: Typer 0.29 imports pydantic, click and rich, and `run` kept all three resident
for the life of the bot (about 10 MiB of its idle memory, issue 13). Each command module adds its
parsers with ``add_*`` and a handler taking the parsed arguments; a handler ends by returning, or by
raising ``Exit`` with the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings, load_settings
from bot.errors import ConfigError

ABOUT = "Patron Desk: patrons' mentions of the library, routed to whoever is on duty."
ENV_FILE: list[Path] = []  # the --env-file given before the command, if any
Handler = Callable[[argparse.Namespace], None]
Commands = argparse._SubParsersAction  # what add_subparsers returns


class Exit(Exception):
    """Leave the command with ``code`` (0 is success)."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.code = code


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print to standard output (or error), looked up at each call so tests can capture it."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))
    stream.flush()


def command(
    commands: Commands[argparse.ArgumentParser], name: str, handler: Handler
) -> argparse.ArgumentParser:
    """A sub-command whose help is the first line of ``handler``'s docstring."""
    doc = (handler.__doc__ or "").strip()
    parser = commands.add_parser(name, help=doc.splitlines()[0] if doc else None, description=doc or None)
    parser.set_defaults(handler=handler)
    return parser


def group(
    commands: Commands[argparse.ArgumentParser], name: str, about: str
) -> Commands[argparse.ArgumentParser]:
    """A group of sub-commands (``rota``, ``quarantine``); without one, the group's help is shown."""
    parser = commands.add_parser(name, help=about, description=about)
    parser.set_defaults(handler=lambda _: _usage(parser))
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def _usage(parser: argparse.ArgumentParser) -> None:
    parser.print_help(sys.stderr)
    raise Exit(2)


def parser() -> argparse.ArgumentParser:
    """The top-level parser: --env-file, then a command."""
    top = argparse.ArgumentParser(prog="patron-desk", description=ABOUT)
    top.add_argument(
        "--env-file",
        type=Path,
        help="Read settings from this file instead of ./.env (the environment still wins).",
    )
    top.set_defaults(handler=lambda _: _usage(top))
    return top


def dispatch(top: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse ``argv`` and run its command; the exit status (argparse's own errors are 2)."""
    try:
        args = top.parse_args(argv)
        ENV_FILE[:] = [args.env_file] if args.env_file else []
        args.handler(args)
    except Exit as done:
        return done.code
    except SystemExit as done:  # argparse: --help is 0, a usage error 2
        return done.code if isinstance(done.code, int) else 2
    return 0


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(ENV_FILE[0] if ENV_FILE else None, **overrides)
    except ConfigError as exc:
        echo("Patron Desk cannot start; fix these settings:", err=True)
        for line in str(exc).splitlines():
            echo(f"  - {line}", err=True)
        raise Exit(2) from None


def _fail(exc: ConfigError) -> Exit:
    echo("Patron Desk cannot start:", err=True)
    for line in str(exc).splitlines():
        echo(f"  - {line}", err=True)
    return Exit(2)
