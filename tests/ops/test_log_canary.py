"""Invariant 8 over hostile runs: a canary in patron and reply text never reaches the log, at DEBUG,
in text and JSON, with every library logger opened up to DEBUG.

Driven here: INSERTs that fail (NUL on PostgreSQL, a lone surrogate on SQLite) through the service,
a source and the webhook; a refused reply whose error quotes the reply; a Matrix desk handler that
raises; an aiohttp handler that raises; a task whose exception is never retrieved; a thread that
dies. (Slack's "Failed to run listener function" is in tests/slack/test_slack_canary.py; 429s, 5xx
and malformed platform bodies in tests/social/test_canary.py, which runs under this guard too.)
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from sqlalchemy import Connection, insert
from sqlalchemy.exc import StatementError

from bot import http
from bot.app import PatronDesk
from bot.core import intake as intake_module
from bot.core import quarantine
from bot.models import Mention, Reply, StaffAction
from bot.platforms.matrix.desk import MatrixDesk
from bot.platforms.matrix.wire import RoomEvent
from bot.platforms.webhook.source import WebhookSource, signed_headers
from bot.routing.router import route
from bot.store import mentions
from bot.store.bookkeeping_tables import MetaRow
from bot.store.db import Database
from bot.views import ActionResult
from tests.core.helpers import make_service, staff
from tests.core.test_app import settings
from tests.fakes.recording import FakeSource, RecordingDesk, Refused
from tests.waiting import until

from .log_capture import bot_log

CANARY = "CANARY-0d5b7e"  # patron text
REPLY = "REPLYCANARY-91c2"  # staff's reply text
FORMATS = ["text", "json"]
log = logging.getLogger("bot.tests.canary")


def hostile(n: int, *, text: str = "") -> Mention:
    """A patron's post that neither database can store: NUL for PostgreSQL, a lone surrogate for SQLite."""
    return Mention(
        source="fake",
        external_id=f"{CANARY}-{n}",
        text=text or f"{CANARY} \x00 \ud800 my card number is 1234",
        created_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
        url=f"https://social.example/{CANARY}",
        author_handle=f"@{CANARY}@social.example",
        author_name=f"{CANARY} Person",
        reply_ref=CANARY,
    )


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_failed_insert_logs_no_values(database: Database, fmt: str) -> None:
    service = await make_service(database)  # ingest cleans and quarantines: go under it, to the INSERT
    item = hostile(1)
    decision = route(item, service.rules, service.rota, item.created_at)
    with bot_log(fmt) as logged:
        try:
            await database.write(lambda conn: mentions.insert(conn, item, decision, now=item.created_at))
        except Exception as exc:  # whatever the driver raises
            log.exception("ingest failed")  # what a caller's log.exception writes
            log.error("ingest failed: %s", exc)  # or a careless one
        else:
            pytest.fail("the database stored text it cannot hold")
    assert "ingest failed" in logged.text()
    assert logged.leaks(CANARY) == []


async def test_engine_errors_do_not_quote_values(database: Database) -> None:
    """``hide_parameters`` on every engine: a failed statement's message holds no bound value.

    (A driver's own message may still quote one, as asyncpg's does for a value it cannot encode:
    only the log guard keeps that out of the log, as the test above shows.)
    """

    def twice(conn: Connection) -> None:
        for _ in range(2):
            conn.execute(insert(MetaRow).values(key=CANARY[:20], value=f"{CANARY} value"))

    with pytest.raises(StatementError) as failed:
        await database.write(twice)
    assert CANARY not in str(failed.value)
    assert "hide_parameters=True" in str(failed.value)


@dataclass
class FakeLink:
    """Just enough of MatrixLink for the desk's event loop: staff-room events, member names."""

    events: list[RoomEvent]
    desk_attached: bool = False

    def member_name(self, room_id: str, user_id: str) -> str:
        return f"{CANARY} staff name"

    async def desk_events(self) -> AsyncIterator[RoomEvent]:
        for event in self.events:
            yield event


async def _matrix_desk_fails() -> None:
    command = {
        "type": "m.room.message",
        "event_id": "$e1",
        "sender": "@ann:example.org",
        "content": {"msgtype": "m.text", "body": f"!reply 1 {REPLY}"},
    }
    link = FakeLink([RoomEvent("!staff:example.org", command)])

    async def on_action(action: StaffAction) -> ActionResult:
        raise RuntimeError(f"cannot handle {action!r} {CANARY} {REPLY}")

    desk = MatrixDesk(link, pre_react=False)  # type: ignore[arg-type]
    await desk._drain(on_action)


async def _webhook_cannot_store(app: PatronDesk) -> None:
    """The webhook, on the real server, given a body whose text the database refuses."""
    hook = WebhookSource("hook-secret", ingest=app.service.ingest_for("webhook"), clock=app.clock)
    started = await http.start("127.0.0.1", 0, hook.http_routes(), health=_ok, metrics=_no_metrics)
    assert started is not None
    runner, port = started
    body = json.dumps({"id": CANARY, "text": f"{CANARY} \ud800 \x00", "author": {"id": CANARY}}).encode()
    stamp = int(app.clock().timestamp())
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"http://127.0.0.1:{port}/webhook",
            content=body,
            headers=signed_headers("hook-secret", body, timestamp=stamp),
        )
    assert answer.status_code == 202  # the text is made safe at the boundary, then stored
    await runner.cleanup()


async def _ok() -> tuple[int, dict[str, object]]:
    return 200, {}


async def _no_metrics() -> bytes:
    return b""


async def _aiohttp_handler_fails() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise ValueError(f"{CANARY} {await request.text()}")

    started = await http.start("127.0.0.1", 0, [("POST", "/broken", broken)], health=_ok, metrics=_no_metrics)
    assert started is not None
    runner, port = started
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"http://127.0.0.1:{port}/broken", content=f"{REPLY} body")
    assert answer.status_code == 500
    await runner.cleanup()


def _unretrieved_task_and_dead_thread() -> None:
    async def boom() -> None:
        raise KeyError(f"{CANARY} lost")

    loop = asyncio.get_running_loop()
    task = loop.create_task(boom())
    task.add_done_callback(lambda _: None)
    thread = threading.Thread(target=lambda: (_ for _ in ()).throw(ValueError(REPLY)))
    thread.start()
    thread.join()
    del task


@pytest.mark.parametrize("fmt", FORMATS)
async def test_hostile_run_logs_no_patron_or_reply_text(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = RecordingDesk()
    fine = hostile(2, text=f"{CANARY} can I renew?")
    source = FakeSource(
        items=[(fine, None)],
        fail_reply=Refused(f"platform said no to: {REPLY}"),
    )
    with bot_log(fmt) as logged:
        async with PatronDesk(settings(tmp_path), sources=[source], desks=[desk]) as app:
            app.relay.policy.cap = 0.01
            await until(lambda: len(desk.posts) == 1, within=30)
            await _webhook_cannot_store(app)
            # the service, directly: cleaned at the boundary and stored; then, with the boundary off,
            # the database refuses it and it is set aside (quarantine logs its class, nothing else)
            assert await app.service.ingest("fake", hostile(3), "cursor-3")
            monkeypatch.setattr(intake_module, "safe_mention", lambda item, *, now: item)
            assert await app.service.ingest("fake", hostile(4), "cursor-4")
            assert await quarantine.listing(app.service.context)
            monkeypatch.undo()
            # a reply the platform refuses, quoting it
            await app.service.handle(Reply(1, staff(1), f"Hello, {REPLY}"))
            await until(lambda: any("was not published" in t for _, t in desk.told), within=30)
            await _matrix_desk_fails()
            await _aiohttp_handler_fails()
            _unretrieved_task_and_dead_thread()
            await asyncio.sleep(0)
            gc.collect()
            await app.wait_idle(within=20)
    text = logged.text()
    assert "Task exception was never retrieved" in text
    assert "matrix desk could not handle event" in text
    assert "Error handling request" in text
    assert "item set aside as quarantine" in text  # the refused INSERT was logged, by class only
    assert "reply for mention 1 refused" in text
    assert logged.leaks(CANARY, REPLY) == []
