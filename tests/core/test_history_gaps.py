"""Card history for what the first history lines left out: snooze and wake, approve and reject, and a
mention resolved automatically (no staff action): one short line each, nobody pinged, no patron text."""

from __future__ import annotations

from datetime import timedelta

from bot.core.retention import auto_resolve
from bot.models import Approve, Claim, Reject, Reply, Snooze, Wake
from bot.platforms import source_platforms
from bot.routing.rules import load_rules
from bot.store.db import Database
from tests.core.helpers import RULES, make_service, mention
from tests.core.test_notes_tags import ALICE, BOB, World

APPROVED = RULES.replace(
    "[roles.social-media]\nsla_minutes = 30\n", '[roles.social-media]\nsla_minutes = 30\napproval = "alice"\n'
)


async def world_with(database: Database, rules: str = RULES) -> World:
    service = await make_service(database, desks=("slack",))
    service.rules = load_rules(rules, platforms=source_platforms())
    return World(service)


def lines(world: World, mention_id: int) -> list[tuple[str, str]]:
    """The history lines in the thread of ``mention_id``'s card (its ref is its index in the posts)."""
    card = next(str(i) for i, (_, view) in enumerate(world.desk.posts) if view.mention_id == mention_id)
    return [(line, ping) for ref, line, ping in world.desk.lines if ref.message_id == card]


async def test_snooze_wake_approve_and_reject_each_add_a_line(database: Database) -> None:
    world = await world_with(database, APPROVED)
    for n in (1, 2):
        await world.service.ingest("fake", mention(n, f"Question {n} about the library"), None)
        await world.drain()
        assert (await world.act(Claim(n, BOB))).startswith("✓")
    await world.act(Snooze(1, BOB, "patron"))
    await world.act(Wake(1, BOB))
    assert (await world.act(Reply(1, BOB, "Held for Alice"))).startswith("✓")
    assert (await world.act(Approve(1, ALICE))).startswith("✓")
    await world.act(Reply(2, BOB, "Also held"))
    assert (await world.act(Reject(2, ALICE, "too curt, call them"))).startswith("✓")
    first = [line for line, _ in lines(world, 1)]
    assert first[:3] == [
        "✋ Claimed by Bob Baker.",
        "💤 Snoozed by Bob Baker until the patron answers.",
        "⏰ Awake again.",
    ]
    assert "👍 Reply approved by Alice Archer." in first and first[-1] == "📤 Reply published."
    second = [line for line, _ in lines(world, 2)]
    assert second[-1] == "👎 Reply not approved by Alice Archer; not published."
    assert not any("too curt" in line or "Held for" in line for line in first + second)
    assert all(ping == "" for _, ping in lines(world, 1) + lines(world, 2))


async def test_a_reply_resolved_automatically_says_so_in_the_cards_thread(database: Database) -> None:
    world = await world_with(database)
    await world.service.ingest("fake", mention(1), None)
    await world.drain()
    await world.act(Reply(1, ALICE, "Yes, online."))
    clock_now = world.service.clock()
    world.service.clock = lambda: clock_now + timedelta(days=15)
    assert await auto_resolve(world.service, days=14) == 1
    await world.drain()
    assert lines(world, 1)[-1] == ("✅ Resolved automatically: no activity after the reply.", "")
    assert (await world.service.view(1)).status.value == "resolved"

    world.service.card_history = False  # CARD_HISTORY off: the card is updated, no line
    await world.service.ingest("fake", mention(2), None)
    await world.drain()
    await world.act(Reply(2, ALICE, "Yes."))
    world.service.clock = lambda: clock_now + timedelta(days=30)
    before = len(world.desk.lines)
    assert await auto_resolve(world.service, days=14) == 1
    await world.drain()
    assert len(world.desk.lines) == before
