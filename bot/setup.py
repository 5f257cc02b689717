"""Start-up steps shared by `run`, `check` and the rota CLI: read the rules file, seed the database."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.errors import ConfigError
from bot.platforms import source_platforms
from bot.rota.conflicts import csv_clashes, did_you_mean, weekly_clash
from bot.rota.diff import RotaDiff, diff_weekly, file_hash, format_diff
from bot.rota.rota import Rota, Shift, parse_rota_csv
from bot.routing.rules import RuleSet, default_rules, load_rules
from bot.store.db import Database
from bot.store.rota_repo import (
    ROTA_FILE_HASH,
    add_weekly,
    all_staff,
    edit_lock,
    get_meta,
    load_rota,
    replace_weekly,
    rota_is_empty,
    save,
    set_meta,
    setup_lock,
    stamp_rota,
    sync_roles,
    sync_staff,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
_WALL = ZoneInfo("UTC")  # weekly shifts are compared as wall-clock values: the zone does not matter


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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def read_rota_file(path: Path, rules: RuleSet) -> list[Shift]:
    """Rows of a rota CSV, checked against the roles the rules file knows and against each other."""
    specs = parse_rota_csv(_read_text(path))
    unknown = sorted({spec.role for spec in specs} - set(rules.roles))
    if unknown:
        known = ", ".join(sorted(rules.roles))
        raise ConfigError(f"{path}: unknown role(s) {', '.join(unknown)}; the rules file has: {known}")
    clashes = csv_clashes(specs)
    if clashes:
        raise ConfigError("\n".join(f"{path}: {line}" for line in clashes))
    return list(specs)


def check_people(path: Path, specs: list[Shift], people: dict[str, str]) -> None:
    """ConfigError naming every person in the file who is not staff, with the closest staff key."""
    ghosts = sorted({spec.person for spec in specs} - set(people))
    if ghosts:
        lines = [f"{path}: {who} is not on the staff list.{did_you_mean(who, people)}" for who in ghosts]
        lines.append(
            f"{path}: add them to [[staff]] in the rules file, or fix the name; nothing was imported"
        )
        raise ConfigError("\n".join(lines))


async def _people(session: AsyncSession) -> dict[str, str]:
    return {row.key: row.display_name or row.key for row in await all_staff(session)}


async def import_rota(
    db: Database,
    path: Path,
    rules: RuleSet,
    *,
    replace: bool = False,
    dry_run: bool = False,
    remember: bool = False,
) -> tuple[RotaDiff, str]:
    """Import a rota CSV in one transaction; the change and its description.

    Without ``replace`` the file's shifts are added: a row already stored is left alone, a row that
    overlaps a stored shift of the same person and role is refused. With ``replace`` the stored
    weekly shifts become exactly the file's. ``dry_run`` only describes; ``remember`` stores the
    file's hash (it is ROTA_FILE, so a later edit is noticed at start).
    """
    text = _read_text(path)
    specs = read_rota_file(path, rules)
    async with db.transaction() as session:
        await edit_lock(session)
        people = await _people(session)
        check_people(path, specs, people)
        rota = await load_rota(session, _WALL)
        diff = diff_weekly(rota.shifts, specs)
        if not replace:
            _refuse_overlaps(path, rota.shifts, diff.add)
            diff = RotaDiff((), diff.add, diff.same)
        if not dry_run:
            await replace_weekly(session, remove=[s.id for s in diff.remove], add=diff.add)
            if remember:
                await set_meta(session, ROTA_FILE_HASH, file_hash(text))
            await stamp_rota(session)  # running workers re-read the rota
    return diff, format_diff(diff, people)


def _refuse_overlaps(path: Path, stored: Sequence[Shift], adding: tuple[Shift, ...]) -> None:
    lines = []
    for new in adding:
        clash = weekly_clash(new, stored)
        if clash is not None:
            lines.append(
                f"{path}: {new.person}, {new.role}, {new.label()} overlaps stored shift #{clash.entry.id}"
            )
    if lines:
        lines.append(
            f"{path}: use `rota import --replace` to make the rota exactly the file; nothing was imported"
        )
        raise ConfigError("\n".join(lines))


def _add_shifts(session: AsyncSession, specs: list[Shift]) -> None:
    for spec in specs:
        add_weekly(
            session, role=spec.role, person=spec.person, days=spec.days, start=spec.start, end=spec.end
        )


async def rota_file_state(session: AsyncSession, path: Path, rules: RuleSet) -> tuple[str, RotaDiff]:
    """``("same"|"changed"|"unknown", diff)``: whether ROTA_FILE changed since it was imported, and
    how the stored weekly shifts differ from it."""
    text = _read_text(path)
    stored = await get_meta(session, ROTA_FILE_HASH)
    state = "unknown" if stored is None else ("same" if stored == file_hash(text) else "changed")
    rota = await load_rota(session, _WALL)
    return state, diff_weekly(rota.shifts, read_rota_file(path, rules))


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
            await save(session)
            check_people(settings.ROTA_FILE, specs, await _people(session))
            _add_shifts(session, specs)
            await set_meta(session, ROTA_FILE_HASH, file_hash(_read_text(settings.ROTA_FILE)))
            await stamp_rota(session)
            log.info("imported %d shifts from the rota file", len(specs))
        elif settings.ROTA_FILE is not None:
            state, diff = await rota_file_state(session, settings.ROTA_FILE, rules)
            if state == "changed" and not diff.empty:
                log.warning(
                    "ROTA_FILE changed since it was imported (%d shifts to add, %d to remove); the rota in "
                    "the database is used. Apply the file with `patron-desk rota import --replace FILE`.",
                    len(diff.add),
                    len(diff.remove),
                )
        await save(session)
        return await load_rota(session, settings.zone, rules.places())
