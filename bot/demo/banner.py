"""What the demo says when it starts and stops: what runs where, and how to try `report` afterwards."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import date
from pathlib import Path

from bot.demo.paths import DemoPaths


def command_path() -> str:
    """How to call `patron-desk` from here (``.venv/bin/patron-desk`` in a checkout)."""
    found = Path(sys.executable).parent / "patron-desk"
    try:
        return str(found.relative_to(Path.cwd())) if found.is_relative_to(Path.cwd()) else str(found)
    except ValueError:  # pragma: no cover - a different drive
        return str(found)


def report_hint(paths: DemoPaths, since: date) -> str:
    """The command that runs `report` on the demo's database."""
    url = shlex.quote(f"DATABASE_URL={paths.database_url}")
    return f"{url} {command_path()} report --since {since.isoformat()}"


def banner(served: list[str], paths: DemoPaths, *, since: date) -> str:
    """The lines printed before the first card."""
    here = os.path.relpath(paths.folder) if paths.folder.is_relative_to(Path.cwd()) else str(paths.folder)
    return "\n".join(
        [
            "Patron Desk demo: patrons' mentions from a feed and two social platforms, all on this machine.",
            "Served on loopback (the real adapters talk to these):",
            *served,
            "Patrons start asking within seconds. Cards appear below; type `help` for the commands.",
            f"Database: {here}/{paths.database.name} (kept when you stop; the next demo starts it afresh)",
            f"Logs: {here}/{paths.log.name}",
            f"Afterwards, the report on it: {report_hint(paths, since)}",
            "",
        ]
    )


def farewell(paths: DemoPaths, *, since: date) -> str:
    """The lines printed after Ctrl-C."""
    return "\n".join(
        [
            f"The demo's database is kept in {paths.database}.",
            "See what happened with:",
            f"  {report_hint(paths, since)}",
        ]
    )
