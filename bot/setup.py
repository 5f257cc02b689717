"""Start-up steps shared by `run`, `check` and the rota CLI: read the rules file, seed the database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.errors import ConfigError
from bot.platforms import source_platforms
from bot.rota.rota import Rota, parse_rota_csv
from bot.routing.rules import RuleSet, default_rules, load_rules
from bot.store.db import Database
from bot.store.rota_repo import (
    add_weekly,
    load_rota,
    rota_is_empty,
    save,
    setup_lock,
    stamp_rota,
    sync_roles,
    sync_staff,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


def load_rules_file(path: Path | None) -> RuleSet:
    """The rules file validated, or the built-in default when no file is set."""
    if path is None:
        return default_rules()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"RULES_FILE: cannot read {path}: {exc}") from None
    try:
        return load_rules(text, platforms=source_platforms())
    except ConfigError as exc:
        lines = "\n".join(f"{path}: {line}" for line in str(exc).splitlines())
        raise ConfigError(lines) from None


def read_rota_file(path: Path, rules: RuleSet) -> list[object]:
    """Rows of a rota CSV, checked against the roles the rules file knows."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    specs = parse_rota_csv(text)
    unknown = sorted({spec.role for spec in specs} - set(rules.roles))
    if unknown:
        known = ", ".join(sorted(rules.roles))
        raise ConfigError(f"{path}: unknown role(s) {', '.join(unknown)}; the rules file has: {known}")
    return list(specs)


async def import_rota(db: Database, path: Path, rules: RuleSet) -> int:
    """Add every shift of a rota CSV; return how many."""
    specs = read_rota_file(path, rules)
    async with db.transaction() as session:
        _add_shifts(session, specs)
        await stamp_rota(session)  # running workers re-read the rota
    return len(specs)


def _add_shifts(session: AsyncSession, specs: list[object]) -> None:
    for spec in specs:
        add_weekly(
            session,
            role=spec.role,  # type: ignore[attr-defined]
            person=spec.person,  # type: ignore[attr-defined]
            days=spec.days,  # type: ignore[attr-defined]
            start=spec.start,  # type: ignore[attr-defined]
            end=spec.end,  # type: ignore[attr-defined]
        )


async def prepare_database(db: Database, rules: RuleSet, settings: Settings) -> Rota:
    """Roles and staff from the rules file; the rota CSV when the rota is empty; the rota as loaded.

    One transaction under the start-up lock, so workers starting together seed once: the second
    finds the roles, staff and imported rota of the first (never a second copy of the CSV).
    """
    async with db.transaction() as session:
        await setup_lock(session)
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
        if settings.ROTA_FILE is not None and await rota_is_empty(session):
            specs = read_rota_file(settings.ROTA_FILE, rules)
            _add_shifts(session, specs)
            await stamp_rota(session)
            log.info("imported %d shifts from the rota file", len(specs))
        await save(session)
        return await load_rota(session, settings.zone)
