"""`patron-desk check`: settings, rules, rota and database checked, and (with --connect) every part asked
where it is logged in (kept out of `__main__` so tests can call it)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from bot.config import Settings
from bot.models import Mention
from bot.routing.rules import RuleSet
from bot.setup import load_rules_file, read_rota_file, rota_file_state
from bot.store.db import Database
from bot.store.engine import sqlite_file
from bot.store.rota_repo import rota_is_empty


def branches_line(rules: RuleSet) -> str:
    """`branches: main (Europe/London: reference, social), ...; no branch: tech` for `check`."""
    parts = []
    for key, branch in sorted(rules.branches.items()):
        roles = ", ".join(sorted(r for r, spec in rules.roles.items() if spec.branch == key)) or "no roles"
        parts.append(f"{branch.label} [{key}] ({branch.zone}: {roles})")
    line = "branches: " + "; ".join(parts)
    others = sorted(r for r, spec in rules.roles.items() if not spec.branch)
    return line + (f"; no branch (LIBRARY_TIMEZONE, OPENING_HOURS): {', '.join(others)}" if others else "")


async def check_setup(settings: Settings, *, connect: bool = False) -> tuple[list[str], bool]:
    """Settings, rules, rota and database checked; each configured part says where it would connect.

    With ``connect``, each configured source is opened and asked who it is logged in as, and each
    chat desk whether it can post in its staff channel or room (nothing is posted).
    """
    lines = [f"settings: ok (time zone {settings.LIBRARY_TIMEZONE})"]
    rules = load_rules_file(settings.RULES_FILE)
    lines.append(f"rules: {len(rules.rules)} rules, roles {', '.join(sorted(rules.roles))}")
    if rules.branches:
        lines.append(branches_line(rules))
    if settings.ANSWERS_FILE:  # read and checked with the settings: an unknown variable stops before here
        names = settings.answers.names
        lines.append(f"saved answers: {len(names)} ({', '.join('/' + n for n in names[:12])})")
    if settings.ROTA_FILE:
        lines.append(
            f"rota file: {len(read_rota_file(settings.ROTA_FILE, rules))} shifts in {settings.ROTA_FILE}"
        )
    line, ok = await _check_database(settings.DATABASE_URL)
    lines.append(line)
    if settings.ROTA_FILE and line.startswith("database: warning"):
        lines.append("rota file vs database: the database has no rota yet; the file is imported at start")
    elif ok and settings.ROTA_FILE:
        db = Database(settings.DATABASE_URL)
        try:
            lines.append(await _rota_file_line(db, settings.ROTA_FILE, rules))
        finally:
            await db.aclose()
    lines += _parts(settings)
    lines += _idle_duty_groups(settings, rules)
    if connect:
        online, reachable = await _connect(settings)
        lines += online
        ok = ok and reachable
    return lines, ok


async def _check_database(url: str) -> tuple[str, bool]:
    """One line on the database; a missing SQLite file is reported (with its absolute path), not made."""
    file = sqlite_file(url)
    if file is not None and not file.exists():
        where = "its folder exists" if file.parent.is_dir() else "its folder does not exist either"
        return (
            f"database: warning: {file} does not exist yet; `run` would create it ({where}). "
            "If that is not where your data is, set DATABASE_URL to the right file.",
            file.parent.is_dir(),
        )
    db = Database(url)
    try:
        await db.migrate()
        where = f", {file}" if file else ""
        return f"database: ok ({db.engine.dialect.name}{where})", True
    except Exception as exc:
        return f"database: cannot open {db.engine.url.render_as_string(hide_password=True)}: {exc}", False
    finally:
        await db.aclose()


async def _rota_file_line(db: Database, path: Path, rules: RuleSet) -> str:
    """Whether the database's weekly rota matches ROTA_FILE."""
    async with db.transaction() as session:
        if await rota_is_empty(session):
            return "rota file vs database: the database has no rota yet; the file is imported at start"
        state, diff = await rota_file_state(session, path, rules)
    if diff.empty:
        return "rota file vs database: the same"
    edited = " (the file changed since it was imported)" if state == "changed" else ""
    return (
        f"rota file vs database: they differ{edited}: {len(diff.add)} shift(s) only in the file, "
        f"{len(diff.remove)} only in the database; `patron-desk rota import --replace {path}` applies it"
    )


async def _refuse(mention: Mention | None, cursor: str | None) -> bool:
    """`check --connect` stores nothing: a push source built for the check gets this ingest."""
    return False


async def _connect(settings: Settings) -> tuple[list[str], bool]:
    """Sign each configured source in and ask each desk whether it can post; nothing is posted."""
    from bot.errors import PatronDeskError
    from bot.platforms import REGISTRY
    from bot.platforms.base import AdapterDeps
    from bot.platforms.capabilities import Checks

    clients: dict[str, Any] = {}
    lines, ok = [], True
    try:
        for name, spec in REGISTRY.items():
            if spec.make_client is not None and spec.client_on(settings):
                made = spec.make_client(settings)
                client = await made if asyncio.iscoroutine(made) else made
                if client is not None:
                    clients[name] = client
        deps = AdapterDeps(ingest=_refuse, clients=clients)
        for name, spec in REGISTRY.items():
            parts = (
                ("", spec.source_enabled(settings), spec.build_source),
                (" desk", spec.desk_enabled(settings), spec.build_desk),
            )
            for part, enabled, build in parts:
                if enabled and build is not None and not spec.local:
                    line, fine = await _check_part(f"{name}{part}", build, settings, deps)
                    lines += [line] if line else []
                    ok = ok and fine
            client = clients.get(name)
            if not any(enabled for _, enabled, _ in parts) and isinstance(client, Checks):
                try:  # a client on its own (answering by mail without a mailbox to read)
                    lines.append(f"{name}: connected: {await client.check()}")
                except PatronDeskError as exc:
                    lines.append(f"{name}: cannot connect: {exc}")
                    ok = False
    finally:
        for client in clients.values():
            await client.aclose()
    return lines, ok


async def _check_part(label: str, build: Any, settings: Settings, deps: Any) -> tuple[str | None, bool]:
    """Build one part and run its ``check()`` (which signs in itself); None when it has no check."""
    from bot.errors import PatronDeskError
    from bot.platforms.capabilities import Checks

    try:
        part: Any = build(settings, deps)
    except PatronDeskError as exc:
        return f"{label}: cannot start: {exc}", False
    if not isinstance(part, Checks):
        return None, True
    part = cast(Any, part)
    try:
        return f"{label}: connected: {await part.check()}", True
    except PatronDeskError as exc:
        return f"{label}: cannot connect: {exc}", False
    finally:
        await part.aclose()


def _idle_duty_groups(settings: Settings, rules: RuleSet) -> list[str]:
    """A warning per chat whose user groups the rules file names while its desk is off (they would
    silently never follow the rota)."""
    from bot.platforms import REGISTRY

    lines = []
    for spec in REGISTRY.values():
        field = spec.duty_group_field
        if field is None or spec.desk_on(settings):
            continue
        roles = sorted(r for r, role in rules.roles.items() if getattr(role, field, ""))
        if roles:
            lines.append(
                f"rules: warning: {'role' if len(roles) == 1 else 'roles'} {', '.join(roles)} "
                f"set{'s' if len(roles) == 1 else ''} {field} but no "
                f"{spec.display} desk is configured, so no group follows the rota; "
                f"set {spec.settings_keys[0]} (and the staff channel) or remove {field}"
            )
    return lines


def _parts(settings: Settings) -> list[str]:
    from bot.platforms import REGISTRY

    return [spec.describe(settings) for spec in REGISTRY.values()]
