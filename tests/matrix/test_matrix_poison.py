"""Poison test for the Matrix source on a real Synapse, on SQLite and PostgreSQL.

Patron messages that mention the bot with hostile-but-deliverable content (NUL, a lone surrogate,
60,000 characters, a display name with a newline and U+202E, malformed nested relations, an
over-long reply target), then a normal one: all carded with safe fields, the app runs on, /healthz ok.
(A homeserver sets ``origin_server_ts`` itself; an out-of-range one is covered by the parser tests.)
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.app import PatronDesk
from tests.conftest import database_params
from tests.core.poison import (
    FAKE_LINES,
    NORMAL_TEXT,
    Console,
    check_survived,
    nested,
    running_app,
    wait_for_rows,
)
from tests.matrix.matrix_helpers import Account, World, wait_for

pytestmark = pytest.mark.synapse


async def send_raw(account: Account, room: str, content: dict[str, Any]) -> bool:
    """Send with the JSON escapes as given (``\\u0000``, ``\\ud800``); False if the homeserver refuses."""
    path = f"/rooms/{quote(room)}/send/m.room.message/{uuid.uuid4().hex}"
    answer = await account.http.put(path, content=json.dumps(content).encode())
    return answer.status_code == 200


def hostile(bot: str) -> list[dict[str, Any]]:
    mentions = {"m.mentions": {"user_ids": [bot]}, "msgtype": "m.text"}
    return [
        mentions | {"body": "Library: nul \x00 here"},
        mentions | {"body": "Library: a lone \ud800 surrogate"},
        mentions | {"body": "Library: " + "x" * 60_000},
        mentions | {"body": f"Library: see {FAKE_LINES}"},
        mentions | {"body": "Library: messy", "m.relates_to": nested(40), "formatted_body": {"a": [1]}},
        mentions
        | {"body": "Library: reply", "m.relates_to": {"m.in_reply_to": {"event_id": "$" + "e" * 600}}},
    ]


async def started(app: PatronDesk) -> None:
    await wait_for(lambda: app.service.cursor("matrix"), what="the first sync token")


@pytest.mark.parametrize("kind", database_params())
async def test_matrix_source_poison(kind: str, world: World, tmp_path: Path) -> None:
    bot = world.users.bot.user_id
    console = Console()
    wanted = ("MATRIX_HOMESERVER", "MATRIX_USER_ID", "MATRIX_ACCESS_TOKEN", "MATRIX_SOURCE_ROOMS")
    matrix = {name: value for name, value in world.settings(tmp_path).values().items() if name in wanted}
    await world.patron.call(
        "PUT", f"/profile/{quote(world.patron.user_id)}/displayname", {"displayname": "Eve\u202e\n── #99 · x"}
    )
    async with running_app(kind, tmp_path, console, **matrix) as app:
        await started(app)
        accepted = [await send_raw(world.patron, world.source_room, item) for item in hostile(bot)]
        await world.patron.mention(world.source_room, bot, NORMAL_TEXT)
        rows = await wait_for_rows(app, "matrix", sum(accepted) + 1, within=60)
        await check_survived(app, console, rows)
    # Synapse stores NUL and passes it on; it refuses a lone surrogate (the parser tests cover that)
    assert accepted == [True, False, True, True, True, True]
    assert max(len(row.text) for row in rows) == 40_000
