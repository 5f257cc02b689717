"""Migration revisions: the newest one in bot/migrations, whether a database is at it, the upgrade."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|None)\s*$', re.M)


def heads() -> set[str] | None:
    """The newest revision(s) of bot/migrations, read from the files (None when one is not plain)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    return revisions - parents or None


def _at_head(connection: Connection) -> bool:
    """The database is already at the newest revision: nothing to migrate."""
    newest = heads()
    if newest is None or not inspect(connection).has_table("alembic_version"):
        return False
    current = {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}
    return current == newest


def _upgrade(connection: Connection) -> None:
    # Alembic and Mako stay in memory once imported (about 11 MiB of the idle process): a start
    # on a database already at the newest revision does not import them.
    if _at_head(connection):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")
