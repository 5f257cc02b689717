"""`!claim N` with a number no card can have is refused in words (issue 10, finding 9).

The Matrix desk's own parsing with the real service on a real database; the link is a stand-in
that records what the desk sends (the Synapse tests cover the wire).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.platforms.matrix.desk import MatrixDesk
from bot.platforms.matrix.wire import RoomEvent
from bot.store.db import Database

from .helpers import make_service, mention

ROOM = "!staff:example.org"


@dataclass
class RecordingLink:
    """The parts of MatrixLink the desk's command path uses."""

    staff_room: str = ROOM
    sent: list[dict[str, Any]] = field(default_factory=list)
    desk_attached: bool = False

    def member_name(self, room_id: str, user_id: str) -> str:
        return "Nora"

    async def send(self, room_id: str, content: dict[str, Any], *, txn: str) -> str:
        self.sent.append(content)
        return f"$answer{len(self.sent)}"


def command(body: str) -> RoomEvent:
    content = {"msgtype": "m.text", "body": body}
    event = {"type": "m.room.message", "sender": "@nora:example.org", "event_id": "$e1", "content": content}
    return RoomEvent(ROOM, event)


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ("!claim 99999999999999999999999", "Use !claim in a card's thread"),
        ("!claim #" + "9" * 5000, "Use !claim in a card's thread"),
        ("!claim 9999999999", "no mention #9999999999"),
        ("!claim 2147483648", "no mention #2147483648"),
        ("!resolve #0", "no mention #0"),
        ("!claim 1", "Claimed #1."),
    ],
)
async def test_card_numbers_beyond_any_card(database: Database, body: str, answer: str) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    link = RecordingLink()
    await MatrixDesk(link, pre_react=False).handle(command(body), service.handle)  # type: ignore[arg-type]
    assert len(link.sent) == 1 and answer in link.sent[0]["body"]
