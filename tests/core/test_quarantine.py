"""Invariant 9, the store's side: an item the database refuses is set aside, the cursor moves on, staff
are told once, and the items after it are carded; through a pull source and through the webhook.

The mentions here are built directly, not parsed: the parsers clean such values first, and this is
the last line of defence behind them.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.app import PatronDesk
from bot.core import intake as intake_module
from bot.core import quarantine
from bot.core.retention import purge
from bot.models import Mention, MentionChange
from bot.platforms.webhook import source as webhook
from bot.routing.router import route
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from tests.fakes.recording import FakeSource, RecordingDesk
from tests.waiting import until

from .helpers import NOW, make_service, mention
from .test_app import settings

MARK = "POISON-MARK"  # in every bad item's text: must never reach a log or the staff channel


@pytest.fixture(autouse=True)
def boundary_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest cleans every item (domain/sanitize) before storing it; these tests stand for a value the
    boundary does not know about yet, so they turn that last line of defence off."""
    monkeypatch.setattr(intake_module, "safe_mention", lambda item, *, now: item)
    monkeypatch.setattr(intake_module, "safe_change", lambda change: change)


@dataclass
class StaffRoom(RecordingDesk):
    """A recording desk that also keeps what was announced in its staff channel."""

    said: list[str] = field(default_factory=list)

    async def announce(self, text: str) -> None:
        self.said.append(text)


def bad_items(db: Database, source: str = "fake") -> dict[str, tuple[Mention, str]]:
    """Mentions this database refuses, by external id, with the reason class each must get."""
    base = mention(0, source=source)
    items = {
        "surrogate-text": (replace(base, text=f"{MARK} lone \ud800 half"), "UnicodeEncodeError"),
        "surrogate-name": (replace(base, text=MARK, author_name="\udfff"), "UnicodeEncodeError"),
    }
    if not db.is_sqlite:  # asyncpg refuses to encode a surrogate; PostgreSQL refuses NUL and long names
        items = {key: (m, "DataError") for key, (m, _) in items.items()}
        items["nul"] = (replace(base, text=f"{MARK} a \x00 NUL"), "CharacterNotInRepertoireError")
        long_name = replace(base, text=MARK, author_name="n" * 600)
        items["long-name"] = (long_name, "StringDataRightTruncationError")
    return {key: (replace(m, external_id=key), reason) for key, (m, reason) in items.items()}


@asynccontextmanager
async def running(db: Database, tmp_path: Path, **kwargs: Any) -> AsyncIterator[PatronDesk]:
    """The whole app on the test's database (SQLite file or a fresh PostgreSQL schema)."""
    app = PatronDesk(settings(tmp_path).replace(**kwargs.pop("update", {})), **kwargs)
    await app.db.aclose()
    app.db = db
    async with app:
        yield app


async def healthz(app: PatronDesk) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{app.http_port}/healthz")
    return answer.status_code, answer.json()


async def test_pull_source_sets_bad_items_aside_and_cards_the_rest(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    bad = bad_items(database)
    good = mention(9, "Is the library open on Sunday?")
    source = FakeSource(items=[(m, None) for m, _ in bad.values()] + [(good, None)])
    desk = StaffRoom()
    async with running(database, tmp_path, sources=[source], desks=[desk]) as app:
        await until(lambda: len(desk.posts) == 1 and desk.said)
        await app.wait_idle()
        held = await quarantine.listing(app.service.context)
        assert {h.external_id: h.reason for h in held} == {key: reason for key, (_, reason) in bad.items()}
        assert await app.service.cursor("fake") == str(len(bad) + 1)  # moved past every bad item
        assert [view.text for _, view in desk.posts] == [good.text]
        status, body = await healthz(app)
        assert not app.main_task.done()
    assert len(desk.said) == 1  # several bad items in one burst: staff told once
    assert "quarantine list" in desk.said[0] and MARK not in desk.said[0]
    assert (status, body["parts"]["source:fake"], body["restarts"]) == (200, "ok", {})
    assert MARK not in caplog.text


def raw_parse(payload: Any, *, now: datetime, can_mail: bool = False) -> Mention:
    """A parser that lets every value through, standing in for one that missed something."""
    author = payload.get("author") or {}
    name = author.get("name", "")
    return Mention("webhook", str(payload["id"]), payload["text"], now, author_name=name, can_reply=False)


async def test_webhook_sets_bad_items_aside_and_cards_the_rest(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "parse_webhook", raw_parse)
    bad = bad_items(database, source="webhook")
    bodies = [
        {"id": m.external_id, "text": m.text, "author": {"name": m.author_name}} for m, _ in bad.values()
    ]
    bodies.append({"id": "good", "text": "Do you have study rooms?", "author": {"name": "A Reader"}})
    desk = StaffRoom()
    async with running(database, tmp_path, desks=[desk], update={"WEBHOOK_SECRET": "s3cret"}) as app:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.http_port}") as client:
            statuses = []
            for body in bodies:
                raw = json.dumps(body).encode()  # ASCII: the surrogates travel as \\u escapes
                headers = webhook.signed_headers("s3cret", raw, timestamp=int(time.time()))
                statuses.append((await client.post("/webhook", content=raw, headers=headers)).status_code)
        await until(lambda: len(desk.posts) == 1 and desk.said)
        await app.wait_idle()
        held = await quarantine.listing(app.service.context)
        status, health = await healthz(app)
    assert statuses == [202] * len(bodies)  # set aside is taken care of: the sender must not resend
    assert {h.external_id: h.reason for h in held} == {key: reason for key, (_, reason) in bad.items()}
    assert [view.text for _, view in desk.posts] == ["Do you have study rooms?"]
    assert len(desk.said) == 1
    assert status == 200 and health["status"] == "ok"


async def announcements(db: Database) -> int:
    async with db.transaction() as session:
        rows = (await session.execute(OutboxRow.__table__.select().where(OutboxRow.kind == "announce"))).all()
    return len(rows)


async def test_staff_are_told_once_per_quiet_period_and_repeats_count_attempts(database: Database) -> None:
    now = [NOW]
    service = await make_service(database)
    service.clock = lambda: now[0]
    first, second = list(bad_items(database).values())[:2]
    assert await service.ingest("fake", first[0], "1") is True
    assert await service.ingest("fake", mention(5), "2") is True  # the next item is stored
    now[0] += timedelta(minutes=30)
    await service.ingest("fake", second[0], "3")
    await service.ingest("fake", first[0], "4")  # delivered again: one row, two attempts
    assert await announcements(database) == 1
    now[0] += quarantine.QUIET
    await service.ingest("fake", replace(second[0], external_id="later"), "5")
    assert await announcements(database) == 2  # a new burst, an hour later: told again
    held = {h.external_id: h.attempts for h in await quarantine.listing(service.context)}
    assert held == {first[0].external_id: 2, second[0].external_id: 1, "later": 1}
    assert await service.cursor("fake") == "5"


async def test_retry_stores_an_item_that_now_fits_and_keeps_one_that_does_not(database: Database) -> None:
    service = await make_service(database)
    refused, _ = next(iter(bad_items(database).values()))
    fixed = mention(7)
    await quarantine.set_aside(service.context, "fake", fixed, None, stream="default", reason="DataError")
    await service.ingest("fake", refused, None)
    [was_fixed, still_bad] = await quarantine.listing(service.context)
    assert await quarantine.retry(service.context, was_fixed.id, store_again=service.store) == "stored"
    assert await quarantine.retry(service.context, still_bad.id, store_again=service.store) == "held"
    assert await quarantine.retry(service.context, 999, store_again=service.store) == "missing"
    view = await service.view(1)
    assert (view.text, view.author_name) == (fixed.text, fixed.author_name)
    assert [h.id for h in await quarantine.listing(service.context)] == [still_bad.id]
    assert await quarantine.drop(service.context, [still_bad.id]) == 1


async def test_retention_deletes_old_quarantined_items(database: Database) -> None:
    now = [NOW]
    service = await make_service(database)
    service.clock = lambda: now[0]
    refused, _ = next(iter(bad_items(database).values()))
    await service.ingest("fake", refused, None)
    now[0] += timedelta(days=29)
    await purge(service, days=30)
    assert len(await quarantine.listing(service.context)) == 1
    now[0] += timedelta(days=2)
    await purge(service, days=30)
    assert await quarantine.listing(service.context) == []


async def test_an_item_routing_cannot_handle_is_set_aside(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def route_or_fail(item: Mention, *args: Any) -> Any:  # a routing bug that one text triggers
        if item.text == "trips the bug":
            raise RuntimeError(MARK)
        return route(item, *args)

    monkeypatch.setattr(intake_module, "route", route_or_fail)
    service = await make_service(database)
    assert await service.ingest("fake", mention(1, "trips the bug"), "1") is True
    assert await service.ingest("fake", mention(2), "2") is True
    held = [(h.external_id, h.reason) for h in await quarantine.listing(service.context)]
    assert held == [("ext-1", "RuntimeError")]
    assert await service.cursor("fake") == "2"
    assert (await service.view(1)).url == mention(2).url  # the next item became mention #1


async def test_an_edit_the_database_refuses_is_skipped_not_a_stall(database: Database) -> None:
    """A Matrix or Mastodon edit runs inside the source's batch: refusing it must not stop the batch
    (for Matrix the staff room's events wait for that batch)."""
    service = await make_service(database)
    await service.ingest("fake", mention(1, "original words"), None)
    bad = "edited \ud800" if database.is_sqlite else "edited \x00"
    await service.take_change(MentionChange("fake", "ext-1", "edit", "author", bad, author_only=True))
    assert (await service.view(1)).text == "original words"
    await service.take_change(
        MentionChange("fake", "ext-1", "edit", "author", "edited words", author_only=True)
    )
    assert (await service.view(1)).text == "edited words"


@pytest.mark.parametrize(
    "lost",
    [
        OperationalError("INSERT", {}, Exception("server closed the connection")),
        InterfaceError("INSERT", {}, Exception("connection is closed")),
        DBAPIError("INSERT", {}, Exception("terminated"), connection_invalidated=True),
        ConnectionResetError(),
    ],
    ids=["operational", "interface", "invalidated", "reset"],
)
async def test_a_lost_connection_is_raised_for_a_retry_never_set_aside(
    database: Database, lost: Exception
) -> None:
    service = await make_service(database)
    write = database.write
    failures = [lost]

    async def write_or_lose(work: Any) -> Any:  # the connection drops once, as in a database restart
        if failures:
            raise failures.pop()
        return await write(work)

    database.write = write_or_lose  # type: ignore[method-assign]
    with pytest.raises(type(lost)):
        await service.ingest("fake", mention(1), "1")
    assert await quarantine.listing(service.context) == [] and await service.cursor("fake") is None
    assert await service.ingest("fake", mention(1), "1") is True  # the retry stores it


async def test_a_position_the_database_refuses_is_not_saved_and_stops_nothing(database: Database) -> None:
    """A platform's paging token is stored as the cursor: one with a surrogate or a NUL must not make
    every following item fail (the item is stored; the previous cursor stays, so at worst items are
    read again after a restart, and repeats are recognised by their external id)."""
    service = await make_service(database)
    assert await service.ingest("fake", mention(1), "1") is True
    await service.ingest("fake", None, "2\ud800")  # a position alone: raised before
    assert await service.ingest("fake", mention(2), "3\x00") is True  # a mention with a bad position
    assert await service.cursor("fake") == "1"
    assert await service.ingest("fake", mention(3), "4") is True
    assert await service.cursor("fake") == "4"
    assert await quarantine.listing(service.context) == []
