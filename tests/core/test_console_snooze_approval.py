"""The console desk end to end: `snooze`, `wake`, `approve` and `reject` typed at the terminal, with
`iam NAME` acting with that person's rights (only the approver or a manager approves)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.service import DeskService
from bot.models import Approve, Reject, Snooze, Wake
from bot.platforms import source_platforms
from bot.platforms.console.desk import parse_line
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from bot.store.rota_repo import sync_roles, sync_staff
from tests.core import helpers
from tests.core.helpers import NOW, mention
from tests.core.test_console_desk import Typist

RULES = helpers.RULES.replace(
    "[roles.circulation]\nsla_minutes = 20\n", '[roles.circulation]\nsla_minutes = 20\napproval = "alice"\n'
)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[DeskService]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/console.db")
    await db.migrate()
    rules = load_rules(RULES, platforms=source_platforms())
    assert rules.roles["circulation"].approval == "alice"
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    svc = DeskService(db, rules=rules, rota=helpers.rota(), desks=("console",), clock=lambda: NOW)
    await svc.start()
    yield svc
    await db.aclose()


def test_the_grammar() -> None:
    snooze = parse_line("snooze 3 tomorrow 09:00")
    assert isinstance(snooze, Snooze) and snooze.mention_id == 3 and snooze.until == "tomorrow 09:00"
    assert isinstance(parse_line("snooze #3"), Snooze) and parse_line("snooze 3").until == "patron"  # type: ignore[union-attr]
    assert isinstance(parse_line("wake 3"), Wake)
    approve = parse_line("approve 3 Yes, renew online.")
    assert isinstance(approve, Approve) and approve.text == "Yes, renew online."
    reject = parse_line("reject 3 too curt")
    assert isinstance(reject, Reject) and reject.reason == "too curt"
    assert "needs the card number" in str(parse_line("approve"))
    assert "snooze N" in str(parse_line("help")) and "approve N" in str(parse_line("help"))


async def sends(db: Database) -> int:
    async with db.transaction() as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == "send_reply")
        return len(list((await session.execute(stmt)).scalars()))


async def test_approve_and_reject_at_the_console(service: DeskService) -> None:
    await service.ingest("fake", mention(1), None)  # renewals: circulation, approved by alice
    await service.ingest("fake", mention(2), None)
    typist = Typist(service.handle, act_as="bob")
    try:
        held = await typist.type("reply 1 Yes, online.", expect="#1")
        assert "held for approval by alice" in held
        assert "Only alice or a manager" in await typist.type("approve 1", expect="Only")
        assert await sends(service.db) == 0
        await typist.type("reply 2 No.", expect="held for approval")
        await typist.type("iam alice", expect="You act as")
        card = await typist.type("show 1", expect="held reply by")
        assert "Awaiting approval" in card and "approve 1 [edited text]" in card
        edited = "approve 1 Yes: sign in and choose Renew."
        assert "Approved #1" in await typist.type(edited, expect="Approved")
        assert await sends(service.db) == 1
        assert "Rejected #2" in await typist.type("reject 2 Please explain why.", expect="Rejected")
        assert "Cannot approve #2" in await typist.type("approve 2", expect="Cannot")
        assert await sends(service.db) == 1  # the rejected one never goes out
    finally:
        typist.stop()
    view = await service.view(1)
    assert view.reply_text == "Yes: sign in and choose Renew."  # the approver's edit is what goes out


async def test_snooze_and_wake_at_the_console(service: DeskService) -> None:
    await service.ingest("fake", mention(1, "Where is the local history room?"), None)
    typist = Typist(service.handle, act_as="bob")
    try:
        assert "Claim it first" in await typist.type("snooze 1 2h", expect="Cannot")
        await typist.type("claim 1", expect="Claimed #1")
        snoozed = await typist.type("snooze 1 2h", expect="Snoozed")
        assert "Snoozed until Mon 23 Nov 16:00 UTC" in snoozed
        assert "wake 1" in await typist.type("show 1", expect="Snoozed until")
        assert "Say until when" in await typist.type("snooze 1 whenever", expect="Say until when")
        assert "awake" in await typist.type("wake 1", expect="awake")
    finally:
        typist.stop()
