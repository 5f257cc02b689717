"""Times staff type about a role at a branch are read in the branch's zone, not LIBRARY_TIMEZONE: a
snooze's `tomorrow 09:00` (and the card and its history line say it in that zone), and the date words
of a rota command (`cover @alice nyc tomorrow ...` typed on a New York evening that is already the next
day in the library's zone); and `close DATE at BRANCH` closes only that branch's roles."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import partial

from bot.backoff import Backoff
from bot.core.cards import console_card
from bot.core.relay import Relay
from bot.models import Claim, RotaCommand, Snooze, Status
from bot.store.db import Database
from tests.core.test_branches_timers import ALICE, BOB, build, mention, utc
from tests.core.test_notes_tags import ThreadDesk


async def test_a_snooze_time_is_read_and_shown_in_the_branch_zone(database: Database) -> None:
    service, *_ = await build(database, utc(2026, 11, 2, 15))  # Mon 10:00 in New York (EST)
    desk = ThreadDesk(desk="slack")
    relay = Relay(service, desks={"slack": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
    await service.ingest("fake", mention(1, utc(2026, 11, 2, 15), "harbor parking?"), None)
    assert (await service.handle(Claim(1, BOB))).ok
    result = await service.handle(Snooze(1, BOB, "tomorrow 09:00"))
    assert result.ok and result.view is not None and result.view.status is Status.SNOOZED
    assert result.view.snoozed_until == datetime(2026, 11, 3, 14, 0, tzinfo=UTC)  # 09:00 EST, not UTC
    assert result.message == "#1: Snoozed until Tue 3 Nov 09:00 EST."
    assert "Snoozed until Tue 3 Nov 09:00 EST" in console_card(result.view)
    while await relay.drain("slack"):
        pass
    assert "💤 Snoozed by Bob until Tue 3 Nov 09:00 EST." in [line for _, line, _ in desk.lines]


async def test_rota_date_words_for_a_branch_role_are_the_branch_days(database: Database) -> None:
    # Tue 3 Nov 02:00 in the library's zone (UTC) is still Monday 21:00 in New York
    service, *_ = await build(database, utc(2026, 11, 3, 2))
    manager = RotaCommand(ALICE, "cover @alice nyc tomorrow 09:00-13:00", is_manager=True)
    result = await service.handle(manager)
    assert result.ok, result.message
    assert "Alice covers nyc Tue 03 Nov 09:00–13:00" in result.message  # New York's tomorrow
    central = await service.handle(RotaCommand(ALICE, "cover @bob ldn tomorrow 09:00-13:00", is_manager=True))
    assert central.ok and "Bob covers ldn Wed 04 Nov 09:00–13:00" in central.message  # London's (UTC-like)


async def test_close_can_name_a_branch_and_closes_only_its_roles(database: Database) -> None:
    service, *_ = await build(database, utc(2026, 11, 3, 2))  # Mon 21:00 in New York
    as_manager = partial(RotaCommand, ALICE, is_manager=True)
    for shift in ("add @alice ldn mon-fri 09:00-17:00", "add @bob nyc mon-fri 09:00-17:00"):
        assert (await service.handle(as_manager(shift))).ok  # stored: a rota edit reloads the stored rota
    typo = await service.handle(as_manager("close tomorrow at harbour"))
    assert not typo.ok and 'unknown branch "harbour" (did you mean "harbor"?); branches: central, harbor' in (
        typo.message
    )
    closed = await service.handle(as_manager("close tomorrow at harbor staff training"))
    assert closed.ok, closed.message
    assert "Harbor closed on Tue 03 Nov 2026" in closed.message and "(nyc)" in closed.message  # NY's tomorrow
    tuesday = utc(2026, 11, 3, 15)  # 10:00 in New York, 15:00 in London
    assert service.rota.on_duty("nyc", tuesday) == () and service.rota.on_duty("ldn", tuesday) == ("alice",)
    again = await service.handle(as_manager("close 2026-11-03 harbor"))  # the bare key names it too
    assert not again.ok and "already closed at Harbor" in again.message
    week = await service.handle(as_manager("show 2026-11-02"))
    assert "Tue 3 Nov  CLOSED at Harbor: staff training" in week.message
    assert "ldn: Alice" in week.message.split("Tue 3 Nov")[1].split("Wed")[0]  # Central works as usual
    shown = await service.handle(as_manager("show nyc 2026-11-02"))
    assert "Tue 3 Nov  CLOSED at Harbor" in shown.message and "(its shifts do not apply)" in shown.message
    ldn = await service.handle(as_manager("show ldn 2026-11-02"))
    assert "CLOSED" not in ldn.message
    everything = await service.handle(as_manager("close 2026-11-03 Storm"))  # no branch: every branch
    assert everything.ok and service.rota.on_duty("ldn", tuesday) == ()
    removed = await service.handle(as_manager("remove 3"))
    assert removed.ok and "closed at harbor on Tue 3 Nov 2026 (staff training)" in removed.message
