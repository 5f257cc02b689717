"""What staff are told, in plain words: a refused action says what the state means and what to do;
reassigning to a role nobody holds now queues it like routing does."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from bot.core.cards import console_card
from bot.core.service import DeskService
from bot.models import Claim, Ignore, Reassign, Release, Reply, Resolve, Status
from bot.platforms import source_platforms
from bot.rota.rota import Rota, Shift
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.rota_repo import sync_roles, sync_staff

from .helpers import NOW, RULES, mention, staff

TECH = (
    RULES
    + """
[roles.tech]
sla_minutes = 60
"""
)
JARGON = ("posted", "routed", "escalated", " is queued", "it is claimed", "it is replied")


async def service_with_tech(db: Database) -> DeskService:
    """Alice on social media all week; tech (no backup) is held by Bob on Tuesdays 09:00-17:00 Chicago."""
    rules = load_rules(TECH, platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    every = frozenset(range(7))
    rota = Rota(
        zone=ZoneInfo("America/Chicago"),
        shifts=(
            Shift(id=1, role="social-media", person="alice", days=every, start=time(0), end=time(0)),
            Shift(id=2, role="tech", person="bob", days=frozenset({1}), start=time(9), end=time(17)),
        ),
    )
    service = DeskService(db, rules=rules, rota=rota, desks=("test",), clock=lambda: NOW)
    await service.start()
    return service


async def test_reassign_to_a_role_nobody_holds_now_queues_it(database: Database) -> None:
    service = await service_with_tech(database)
    await service.ingest("fake", mention(1, "the wifi is down"), None)
    result = await service.handle(Reassign(1, staff(1), role="tech"))
    assert result.ok and result.view is not None
    assert result.view.status is Status.QUEUED and result.view.on_duty == ()
    # Monday 23 Nov 08:00 in Chicago: Bob opens tech on Tuesday 24 Nov at 09:00 CST
    assert result.message == (
        "Reassigned #1 to tech. Nobody is on duty for tech now, so it waits until Tue 24 Nov 09:00 CST."
    )
    card = console_card(result.view)
    assert "Queued: nobody on duty for tech until Tue 24 Nov 09:00 CST" in card
    assert "on duty: nobody" not in card
    back = await service.handle(Reassign(1, staff(1), role="social-media"))  # someone is on: open again
    assert back.ok and back.view is not None and back.view.status is Status.POSTED
    assert back.view.on_duty == ("Alice Archer",) and back.view.queued_until is None


@pytest.mark.parametrize(
    ("first", "then", "says"),
    [
        (
            None,
            Release,
            "Cannot release #1: nobody has claimed it yet. You can claim, reply, reassign or ignore it.",
        ),
        (Resolve, Claim, "Cannot claim #1: it is already resolved. Nothing more needs doing."),
        (Ignore, Reply, "Cannot reply #1: it was closed as needing no answer. Nothing more needs doing."),
    ],
)
async def test_refusals_say_what_the_state_means_and_what_to_do(
    database: Database, first: type | None, then: type, says: str
) -> None:
    service = await service_with_tech(database)
    await service.ingest("fake", mention(1, "hello"), None)
    if first is not None:
        assert (await service.handle(first(1, staff(1)))).ok
    action = then(1, staff(2), "an answer") if then is Reply else then(1, staff(2))
    result = await service.handle(action)
    assert not result.ok
    assert result.message == says
    assert not any(word in result.message for word in JARGON)


async def test_reassign_of_a_closed_mention_is_refused_in_plain_words(database: Database) -> None:
    service = await service_with_tech(database)
    await service.ingest("fake", mention(1, "hello"), None)
    assert (await service.handle(Resolve(1, staff(1)))).ok
    result = await service.handle(Reassign(1, staff(1), role="tech"))
    assert result.message == "Cannot reassign #1: it is already resolved. Nothing more needs doing."


async def test_cards_name_staff_by_display_name_not_key(database: Database) -> None:
    """The routing reason on a card says "on duty: Bob Baker", not the rota key "bob"."""
    import json

    from bot.platforms.slack.cards import card_blocks

    from .helpers import make_service

    service = await make_service(database)
    await service.ingest("fake", mention(1, "Can I renew my book?"), None)
    view = await service.view(1)
    assert "on duty: Bob Baker (" in view.reason and "bob (" not in view.reason
    slack = json.dumps(card_blocks(view), ensure_ascii=False)
    assert "<@UBOB001>" in slack and "bob (" not in slack and "Bob Baker (" in slack


async def test_a_resolved_card_keeps_the_reply_on_every_renderer(database: Database) -> None:
    import json

    from bot.platforms.matrix.cards import card_text
    from bot.platforms.slack.cards import card_blocks

    service = await service_with_tech(database)
    await service.ingest("fake", mention(1, "hello"), None)
    assert (await service.handle(Reply(1, staff(1), "We open at 9 on Mondays."))).ok
    resolved = await service.handle(Resolve(1, staff(1)))
    assert resolved.ok and resolved.view is not None and resolved.view.status is Status.RESOLVED
    for shown in (
        console_card(resolved.view),
        card_text(resolved.view),
        json.dumps(card_blocks(resolved.view)),
    ):
        assert "We open at 9 on Mondays." in shown
