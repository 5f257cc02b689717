"""No ghosts, no duplicates (issue 17): every case a new user hit is refused or warned, clearly."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.core.service import DeskService
from bot.errors import ConfigError
from bot.models import RotaCommand, StaffRef
from bot.platforms import source_platforms
from bot.routing.rules import RuleSet, load_rules
from bot.setup import import_rota, prepare_database
from bot.setup_check import _rota_file_line
from bot.store.db import Database
from bot.store.report_tables import AuditRow
from bot.store.rota_calendar import sync_calendar
from bot.store.rota_repo import load_rota, sync_roles, sync_staff
from bot.store.rota_tables import ShiftRow, StaffRow

RULES = """
default_role = "reference"

[roles.reference]
[roles.tech]
[roles.circulation]

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "UALICE1"

[[staff]]
key = "bob"
name = "Bob Baker"

[[staff]]
key = "chidi"
name = "Chidi Okafor"
"""
MANAGER = StaffRef("slack", "UALICE1", "Alice")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 08:00 UTC
ROTA_CSV = "person,role,days,start,end\nalice,reference,mon-fri,09:00,17:00\nchidi,tech,mon-fri,10:00,16:00\n"


async def count(db: Database, table: type, *where: object) -> int:
    async with db.transaction() as session:
        return int(
            (await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
        )


async def service_for(db: Database, csv_text: str | None, tmp_path: Path) -> DeskService:
    rules = load_rules(RULES, platforms=source_platforms())
    settings = load_settings(ROTA_FILE=write(tmp_path, csv_text) if csv_text else None)
    rota = await prepare_database(db, rules, settings)
    service = DeskService(db, rules=rules, rota=rota, desks=(), clock=lambda: NOW)
    await service.start()
    return service


def write(tmp_path: Path, text: str, name: str = "rota.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def say(service: DeskService, text: str) -> tuple[bool, str]:
    result = await service.handle(RotaCommand(MANAGER, text))
    return result.ok, result.message


async def test_a_typo_in_a_person_is_refused_with_did_you_mean(database: Database, tmp_path: Path) -> None:
    service = await service_for(database, None, tmp_path)
    before = await count(database, StaffRow)
    ok, message = await say(service, "add @alcie reference mon-fri 09:00-17:00")
    assert not ok and "@alcie is not on the staff list" in message and "Did you mean @alice?" in message
    ok, message = await say(service, "cover @nobody reference tomorrow 09:00-12:00")
    assert not ok and "@nobody is not on the staff list" in message
    ok, message = await say(service, "off @bbo reference tomorrow 09:00-12:00")
    assert not ok and "Did you mean @bob?" in message
    assert await count(database, StaffRow) == before  # no ghost was made
    assert await count(database, ShiftRow) == 0
    assert await count(database, AuditRow) == 0


async def test_a_duplicate_or_overlapping_weekly_shift_is_refused(database: Database, tmp_path: Path) -> None:
    service = await service_for(database, ROTA_CSV, tmp_path)
    ok, message = await say(service, "add @alice reference mon-fri 09:00-17:00")
    assert not ok and "repeats #1" in message and "Alice Archer, reference, Mon-Fri 09:00-17:00" in message
    ok, message = await say(service, "add @alice reference fri-sat 16:00-18:00")
    assert not ok and "overlaps #1" in message
    ok, message = await say(service, "add @bob reference mon-fri 09:00-17:00")  # another person: fine
    assert ok, message
    ok, message = await say(service, "add @alice reference sat 09:00-17:00")  # another day: fine
    assert ok, message
    assert await count(database, ShiftRow) == 4


async def test_cover_for_someone_checks_they_hold_that_role_then(database: Database, tmp_path: Path) -> None:
    service = await service_for(database, ROTA_CSV, tmp_path)
    ok, message = await say(service, "cover @chidi tech 2026-11-24 10:00-12:00 for @alice")
    assert not ok and "Alice Archer does not hold tech then (they hold reference then)" in message
    ok, message = await say(service, "cover @bob tech 2026-11-24 07:00-08:00 for @chidi")
    assert not ok and "does not hold tech then" in message  # chidi starts at 10:00
    ok, message = await say(service, "cover @bob reference 2026-11-24 10:00-12:00 for @alice")
    assert ok, message
    ok, message = await say(service, "cover @bob reference 2026-11-24 10:00-12:00 for @alice")
    assert not ok and "repeats #3" in message
    assert await count(database, ShiftRow, ShiftRow.kind == "override") == 1


async def test_repeated_cover_off_and_closure_are_refused(database: Database, tmp_path: Path) -> None:
    service = await service_for(database, ROTA_CSV, tmp_path)
    ok, message = await say(service, "cover @alice reference 2026-11-24 10:00-12:00")
    assert not ok and "already holds reference for all of that time" in message
    ok, message = await say(service, "cover @alice reference 2026-11-24 16:00-18:00")
    assert ok and "already holds reference for part of that time" in message  # a warning, not a refusal
    ok, message = await say(service, "off @bob reference 2026-11-24 10:00-12:00")
    assert not ok and "nothing to take off" in message
    ok, message = await say(service, "off @alice reference 2026-11-24 10:00-12:00")
    assert ok, message
    ok, message = await say(service, "off @alice reference 2026-11-24 10:00-12:00")
    assert not ok and "repeats #4" in message
    assert (await say(service, "close 2026-12-25 Christmas"))[0]
    ok, message = await say(service, "close 2026-12-25 again")
    assert not ok and "already closed" in message
    assert await count(database, ShiftRow, ShiftRow.kind != "weekly") == 3


async def test_a_calendar_shift_cannot_be_removed_from_chat(database: Database, tmp_path: Path) -> None:
    service = await service_for(database, None, tmp_path)
    async with database.transaction() as session:
        await sync_calendar(
            session,
            role="reference",
            shifts=[("bob", datetime(2026, 11, 24, 9), datetime(2026, 11, 24, 13))],
        )
    entry = (await load_rota_of(database)).overrides[0]
    ok, message = await say(service, f"remove {entry.id}")
    assert not ok and "comes from the role's calendar" in message
    assert await count(database, ShiftRow) == 1
    ok, message = await say(service, "off @bob reference 2026-11-24 09:00-11:00")  # still allowed
    assert ok, message
    ok, message = await say(service, "cover @chidi reference 2026-11-24 11:00-13:00 for @bob")
    assert ok, message


async def load_rota_of(db: Database):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    async with db.transaction() as session:
        return await load_rota(session, ZoneInfo("UTC"))


def rules() -> RuleSet:
    return load_rules(RULES, platforms=source_platforms())


async def seeded(db: Database) -> None:
    async with db.transaction() as session:
        await sync_roles(session, rules())
        await sync_staff(session, rules().staff)


async def test_import_refuses_people_not_on_the_staff_list(database: Database, tmp_path: Path) -> None:
    await seeded(database)
    path = write(tmp_path, ROTA_CSV + "alcie,tech,sat,10:00-12:00\n".replace("-", ","))
    with pytest.raises(ConfigError) as caught:
        await import_rota(database, path, rules())
    assert "alcie is not on the staff list. Did you mean @alice?" in str(caught.value)
    assert await count(database, ShiftRow) == 0 and await count(database, StaffRow) == 3


async def test_import_refuses_rows_that_repeat_each_other(database: Database, tmp_path: Path) -> None:
    await seeded(database)
    path = write(tmp_path, ROTA_CSV + "alice,reference,mon,12:00,13:00\n")
    with pytest.raises(ConfigError, match=r"shift 3 .* overlaps shift 1"):
        await import_rota(database, path, rules())
    assert await count(database, ShiftRow) == 0


async def test_reimporting_does_not_double_and_replace_applies_a_diff(
    database: Database, tmp_path: Path
) -> None:
    await seeded(database)
    path = write(tmp_path, ROTA_CSV)
    await import_rota(database, path, rules())
    diff, _ = await import_rota(database, path, rules())  # the same file again: nothing to add
    assert diff.empty and await count(database, ShiftRow) == 2
    edited = write(
        tmp_path, ROTA_CSV.replace("chidi,tech,mon-fri,10:00,16:00", "chidi,tech,mon-fri,11:00,16:00")
    )
    with pytest.raises(ConfigError, match="overlaps stored shift #2"):
        await import_rota(database, edited, rules())  # adding would double chidi's hours
    diff, text = await import_rota(database, edited, rules(), replace=True, dry_run=True)
    assert (
        "- #2 Chidi Okafor, tech, Mon-Fri 10:00-16:00" in text
        and "+ Chidi Okafor, tech, Mon-Fri 11:00-16:00" in text
    )
    assert "1 to add, 1 to remove, 1 unchanged." in text
    assert (await load_rota_of(database)).shifts[1].start.hour == 10  # dry run: nothing changed
    diff, _ = await import_rota(database, edited, rules(), replace=True)
    shifts = (await load_rota_of(database)).shifts
    assert [(s.person, s.start.hour) for s in shifts] == [("alice", 9), ("chidi", 11)]
    assert shifts[0].id == 1  # unchanged rows keep their ids


async def test_replace_is_one_transaction(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeded(database)
    await import_rota(database, write(tmp_path, ROTA_CSV), rules())
    import bot.store.rota_repo as repo

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(repo, "add_weekly", broken)
    edited = write(tmp_path, "person,role,days,start,end\nbob,circulation,daily,09:00,17:00\n", "b.csv")
    with pytest.raises(RuntimeError):
        await import_rota(database, edited, rules(), replace=True)
    assert [s.person for s in (await load_rota_of(database)).shifts] == ["alice", "chidi"]  # rolled back


async def test_a_changed_rota_file_is_noticed_at_start_and_by_check(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, ROTA_CSV)
    settings = load_settings(ROTA_FILE=path)
    await prepare_database(database, rules(), settings)
    assert await _rota_file_line(database, path, rules()) == "rota file vs database: the same"
    path.write_text(ROTA_CSV + "bob,circulation,sat,10:00,16:00\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="bot.setup"):
        await prepare_database(database, rules(), settings)
    assert "ROTA_FILE changed since it was imported (1 shifts to add, 0 to remove)" in caplog.text
    assert await count(database, ShiftRow) == 2  # not applied behind anyone's back
    line = await _rota_file_line(database, path, rules())
    assert "they differ (the file changed since it was imported): 1 shift(s) only in the file" in line
    await import_rota(database, path, rules(), replace=True, remember=True)
    assert await _rota_file_line(database, path, rules()) == "rota file vs database: the same"
