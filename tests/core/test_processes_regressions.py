"""Issue 10, finding 5 and the command refusals of finding 9, one test each, on real databases.

Two services on one database stand for two processes (each has its own staff cache, as a worker
or the CLI does); the multi-process run itself is in test_many_processes.py.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.core.base import ACTION_FAILED
from bot.errors import PermanentError
from bot.models import Claim, Mention, Reassign, Reply, RotaCommand, StaffRef, Status
from bot.routing.rules import StaffSpec
from bot.runner import rota_command
from bot.setup import prepare_database
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow
from bot.store.rota_repo import sync_staff
from bot.store.rota_tables import RoleRow, ShiftRow, StaffRow

from .helpers import RULES, make_service, mention, rules

ALICE = StaffRef("slack", "UALICE1", "alice")  # a manager in the rules file
NEW = StaffRef("slack", "UNEW0001", "Nora New")


def rota(text: str) -> RotaCommand:
    """A rota command from Alice, a manager."""
    return RotaCommand(ALICE, text, is_manager=True)


async def hire(db: Database, key: str) -> None:
    """Another process adds a person to the staff table (rota commands make nobody up: issue 17)."""
    async with db.transaction() as session:
        await sync_staff(session, [StaffSpec(key=key)])


async def staff_rows(db: Database) -> list[StaffRow]:
    async with db.transaction() as session:
        return list((await session.execute(select(StaffRow).order_by(StaffRow.key))).scalars())


async def test_cli_rota_edit_works_every_time(tmp_path: Path) -> None:
    """Finding 5c: from its third use `rota edit` failed for good (a new administrator row each time)."""
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES)
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        RULES_FILE=rules_file,
    )
    for n in range(5):
        ok, message = await rota_command(settings, f"add @bob social-media sat 1{n}:00-1{n}:30")
        assert ok, message
    db = Database(settings.DATABASE_URL)
    keys = [row.key for row in await staff_rows(db)]
    async with db.transaction() as session:
        actors = set((await session.execute(select(AuditRow.actor))).scalars())
        admin = (await session.execute(select(StaffRow).where(StaffRow.key == "administrator"))).scalar_one()
    await db.aclose()
    assert keys.count("administrator") == 1 and not [k for k in keys if k.startswith("administrator-")]
    assert actors == {"administrator"} and admin.is_manager


async def test_rows_made_by_another_process_are_found(database: Database) -> None:
    """Finding 5a: after the CLI made a person, the bot's next action on them ended the bot."""
    bot = await make_service(database)
    cli = await make_service(database)  # another process: its own cache
    await hire(database, "carol")  # after both caches were loaded
    assert (await cli.handle(rota("add @carol social-media sat 10:00-12:00"))).ok
    assert (await cli.handle(Claim(1, NEW))).message  # Nora's first contact happens in the other process
    await bot.ingest("fake", mention(1), None)
    cover = await bot.handle(rota("cover @carol circulation tomorrow 09:00-10:00"))
    claim = await bot.handle(Claim(1, NEW))
    assert cover.ok, cover.message
    assert claim.ok, claim.message
    keys = [row.key for row in await staff_rows(database)]
    assert keys.count("carol") == 1 and keys.count("nora-new") == 1 and len(keys) == len(set(keys))


async def test_first_action_on_one_worker_then_the_other(database: Database) -> None:
    """Finding 5b: a person's first action on worker B, then one on worker A, killed A."""
    a = await make_service(database)
    b = await make_service(database)
    await a.ingest("fake", mention(1), None)
    await a.ingest("fake", mention(2), None)
    assert (await b.handle(Claim(1, NEW))).ok
    second = await a.handle(Claim(2, NEW))
    assert second.ok, second.message
    assert second.view is not None and second.view.assignee == "Nora New"
    assert [row.slack_user_id for row in await staff_rows(database)].count("UNEW0001") == 1


async def test_same_newcomers_on_two_workers_at_once(database: Database) -> None:
    """Many first contacts of the same people at the same moment on two services: one row each."""
    a = await make_service(database)
    b = await make_service(database)
    for n in range(10):
        await a.ingest("fake", mention(n), None)
    people = [StaffRef("slack", f"UNEW{n:04d}", f"New {n}") for n in range(10)]
    people += [StaffRef("matrix", f"@m{n}:example.org", f"New {n}") for n in range(5)]  # same names
    calls = [svc.handle(Claim(1 + n % 10, who)) for n, who in enumerate(people) for svc in (a, b)]
    calls += [
        svc.handle(rota(f"cover @newname{n} circulation tomorrow 09:00-10:00"))
        for n in range(5)
        for svc in (a, b)
    ]
    results = await asyncio.gather(*calls)
    assert all(r.message != ACTION_FAILED for r in results), [r.message for r in results]
    rows = await staff_rows(database)
    # alice, bob, each newcomer once; a rota name nobody has is refused, never made (issue 17)
    assert len(rows) == 2 + len(people)
    assert sum("not on the staff list" in r.message for r in results) == 10
    assert len({(r.slack_user_id, r.matrix_user_id) for r in rows if r.key.startswith("new-")}) == 15


async def test_workers_starting_together_seed_once(database: Database, tmp_path: Path) -> None:
    """Start-up seeding (roles, staff, the rota file) from two workers at once: once, no error."""
    rota_file = tmp_path / "rota.csv"
    rota_file.write_text("person,role,days,start,end\nalice,social-media,mon-fri,09:00,17:00\n")
    settings = Settings(ROTA_FILE=rota_file)
    for _ in range(5):  # each worker's transaction runs on its own connection of the pool
        async with database.transaction() as session:
            await session.execute(ShiftRow.__table__.delete())
        await asyncio.gather(*(prepare_database(database, rules(), settings) for _ in range(2)))
        async with database.transaction() as session:
            shifts = (await session.execute(select(func.count()).select_from(ShiftRow))).scalar_one()
            roles = (await session.execute(select(func.count()).select_from(RoleRow))).scalar_one()
        assert (shifts, roles) == (1, 2)


async def test_a_failing_action_is_answered_and_changes_nothing(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Any unexpected error: the actor gets a short answer, the transaction is rolled back, the log
    names the error class only (its message could hold patron or reply text)."""
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)

    def broken(_: Mention, text: str) -> None:
        raise RuntimeError(f"secret reply words: {text}")

    service.validators["fake"] = broken
    with caplog.at_level(logging.DEBUG):
        result = await service.handle(Reply(1, NEW, "Our private answer"))
    assert (result.ok, result.message) == (False, ACTION_FAILED)
    assert "RuntimeError" in caplog.text and "private answer" not in caplog.text
    assert "UNEW0001" not in [row.slack_user_id for row in await staff_rows(database)]  # rolled back
    assert service.directory.by_ref(NEW) is None  # and not left in the cache
    async with database.transaction() as session:
        stmt = select(func.count()).where(OutboxRow.kind == "send_reply")
        replies = (await session.execute(stmt)).scalar_one()
    view = await service.view(1)
    assert replies == 0 and view.status is not Status.REPLIED

    service.validators["fake"] = lambda m, t: (_ for _ in ()).throw(PermanentError("too long"))
    assert "too long" in (await service.handle(Reply(1, NEW, "x"))).message  # a refusal still says why


@pytest.mark.parametrize(
    "text",
    [
        "show 9999-12-31",
        "show 9999-W52",
        "show 9999-12-27",
        "cover @x circulation 9999-12-31 22:00-06:00",
        "off @alice social-media 0001-01-01 09:00-10:00",
        "close 9999-12-31",
        "remove 99999999999",
        "remove 2147483648",
        "add @" + "x" * 500 + " social-media mon 09:00-10:00",
    ],
)
async def test_rota_commands_out_of_range_are_refused(database: Database, text: str) -> None:
    """Finding 9: these answered "Something went wrong" (or ended the bot) instead of saying why."""
    service = await make_service(database)
    result = await service.handle(rota(text))
    assert not result.ok
    assert result.message != ACTION_FAILED and "Usage:" in result.message, result.message


@pytest.mark.parametrize("number", [0, -1, 2**31, 10**22, 2**70])
async def test_card_numbers_out_of_range_are_refused(database: Database, number: int) -> None:
    """A button value or `!claim N` beyond the id column: "no such card", never a database error."""
    service = await make_service(database)
    result = await service.handle(Claim(number, NEW))
    assert not result.ok and f"no mention #{number}" in result.message


async def test_remove_answers_in_words(database: Database) -> None:
    """Finding 9: `remove` answered with a Python repr of the shift."""
    service = await make_service(database)
    added = await service.handle(rota("add @bob circulation mon-fri 09:00-17:00"))
    entry = added.message.split(":", 1)[0].lstrip("#")
    result = await service.handle(rota(f"remove {entry}"))
    assert result.ok and result.extra == ()
    assert result.message == f"Removed #{entry}: Bob Baker, circulation, Mon-Fri 09:00-17:00."
    closed = await service.handle(rota("close 2026-12-25 Christmas"))
    entry = closed.message.split(":", 1)[0].lstrip("#")
    gone = await service.handle(rota(f"remove {entry}"))
    assert gone.message == f"Removed #{entry}: closed on Fri 25 Dec 2026 (Christmas)."


async def test_a_rota_edit_elsewhere_reaches_this_process(database: Database) -> None:
    """A CLI or other worker's rota edit is seen here (reads and routing), not lost until restart."""
    bot = await make_service(database)
    cli = await make_service(database)
    await hire(database, "carol")  # after both caches were loaded
    done = await cli.handle(rota("add @carol circulation sat 10:00-12:00"))
    assert done.ok
    shown = await bot.handle(rota("show circulation"))
    assert "carol" in shown.message
    await bot.refresh()
    assert any(s.person == "carol" for s in bot.rota.shifts)


async def test_reassign_to_someone_another_process_added(database: Database) -> None:
    bot = await make_service(database)
    cli = await make_service(database)
    await hire(database, "carol")  # after both caches were loaded
    assert (await cli.handle(rota("add @carol social-media sat 10:00-12:00"))).ok
    await bot.ingest("fake", mention(1), None)
    result = await bot.handle(Reassign(1, ALICE, person="@carol"))
    assert result.ok and result.message == "Reassigned #1 to carol."


async def test_rules_file_takes_a_chat_identity_without_a_clash(database: Database) -> None:
    """Someone met in chat first, then listed in [[staff]] under a key of the file's choosing: start-up
    gives the identity to the listed key instead of failing on the unique Slack id."""
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    zed = StaffRef("slack", "UZED0001", "Zed from chat")
    assert (await service.handle(Claim(1, zed))).ok
    listed = (*rules().staff, StaffSpec("zed", "Zed Zimmer", slack_user_id="UZED0001", manager=True))
    async with database.transaction() as session:
        await sync_staff(session, listed)
    await service.start()
    row = service.directory.by_ref(zed)
    assert row is not None and (row.key, row.is_manager) == ("zed", True)
    assert [r.slack_user_id for r in await staff_rows(database)].count("UZED0001") == 1


async def test_the_cache_stays_readable_after_a_rolled_back_action(database: Database) -> None:
    """The directory is re-read inside actions now; a rollback there must not leave it holding rows
    that raise on every read (the relay draws cards from it outside any action)."""
    service = await make_service(database)

    async def rolled_back() -> None:
        async with database.transaction() as session:
            await service.directory.load(session)
            await service.directory.ensure(session, NEW)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await rolled_back()
    assert service.directory.name("alice") == "Alice Archer"
    assert service.directory.name("bob") == "Bob Baker"
