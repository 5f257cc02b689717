"""Poison test for the Slack source on SQLite and PostgreSQL: hostile community messages (a ``ts`` out
of range, NUL, lone surrogates, over-long names, malformed nested fields), then a normal one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import database_params
from tests.core.poison import (
    FAKE_LINES,
    LONG,
    NORMAL_TEXT,
    Console,
    check_survived,
    marked,
    nested,
    running_app,
    wait_for_rows,
)
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackEmulator
from tests.fakes.slack_payloads import message_event
from tests.slack.slack_helpers import COMMUNITY, STAFF, make_client


def hostile_events(emu: SlackEmulator) -> list[dict[str, Any]]:
    emu.add_user("U0LONG0001", LONG, LONG)
    emu.add_user("U0EVE00001", "Eve\u202e\n── #99 · Slack · Director", "Eve\x00\ud800")
    far = message_event(COMMUNITY, "U0LONG0001", "far", ts="99999999999999999999.000001")
    dirty = message_event(COMMUNITY, "U0EVE00001", "nul \x00 and \ud800", ts="1700000001.000100")
    old = message_event(COMMUNITY, "U0LONG0001", f"old {FAKE_LINES}", ts="0000000001.000100")
    huge = message_event(COMMUNITY, "U0EVE00001", "x" * 50_000, ts="1700000002.000100")
    messy = message_event(COMMUNITY, "U0EVE00001", "messy", ts="1700000003.000100")
    messy |= {"blocks": nested(40), "thread_ts": {"a": nested(5)}, "channel_type": ["im"]}
    return [far, dirty, old, huge, messy]


@pytest.mark.parametrize("kind", database_params())
async def test_slack_source_poison(kind: str, tmp_path: Path, emu: SlackEmulator) -> None:
    console = Console()
    slack = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": emu.api_url,
        "SLACK_STAFF_CHANNEL": STAFF,
        "SLACK_SOURCE_CHANNELS": COMMUNITY,
    }
    clients = {"slack": make_client(emu, pace=0.02)}
    async with running_app(kind, tmp_path, console, clients=clients, **slack) as app:
        await emu.connected()
        acks = [await emu.post_event(event) for event in hostile_events(emu)]
        normal = message_event(COMMUNITY, "U0LONG0001", NORMAL_TEXT, ts="1700000009.000100")
        acks.append(await emu.post_event(normal))
        rows = await wait_for_rows(app, "slack", 6)
        await check_survived(app, console, rows)
    assert all(ack.keys() == {"envelope_id"} for ack in acks)  # every event acked: none left to redeliver
    assert marked(rows) == 2
    assert max(len(row.author_name) for row in rows) == 512
