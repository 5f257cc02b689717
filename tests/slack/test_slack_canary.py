"""Invariant 8 on Slack: a listener that fails with patron text in its exception (Bolt logs
"Failed to run listener function (error: …)" and the Socket Mode client logs whole envelopes at
DEBUG) leaves no patron text in the log, at DEBUG, in text and JSON. The failed event is not acked,
so Slack sends it again; the redelivery is stored and acked."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.models import Mention
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.source import SlackSource
from tests.fakes.slack import SlackEmulator
from tests.fakes.slack_payloads import event_callback, message_event
from tests.ops.log_capture import bot_log
from tests.slack.slack_helpers import ALICE, COMMUNITY, STAFF, wait_for

CANARY = "CANARY-3c9e51"


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_failing_listener_logs_no_patron_text(
    client: SlackClient, emu: SlackEmulator, fmt: str
) -> None:
    stored: list[Mention] = []
    failures = [1]

    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        assert mention is not None
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError(f"could not store {mention.text!r}")  # holds the patron's words
        stored.append(mention)
        return True

    source = SlackSource(client, ingest=ingest, channels=(COMMUNITY,), staff=(STAFF,))
    with bot_log(fmt) as logged:
        await source.open()
        await emu.connected()
        event = message_event(COMMUNITY, ALICE, f"{CANARY} where is my book?", ts="1700000000.000500")
        first = await emu.deliver("events_api", _envelope(event))
        await wait_for(lambda: "Failed to run listener function" in logged.text())
        second = await emu.deliver("events_api", _envelope(event), retry_attempt=1)  # Slack resends
        async with asyncio.timeout(10):
            await second
        await source.aclose()
    assert not first.done(), "a failed listener must leave the event un-acked for Slack to resend"
    assert [m.text for m in stored] == [f"{CANARY} where is my book?"]
    assert logged.leaks(CANARY) == []
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first


def _envelope(event: dict[str, object]) -> dict[str, object]:
    return event_callback(event, event_id="Ev0CANARY")
