"""Test-side Matrix: the test world (rooms, users, bot settings), httpx users, polling helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from bot.config import Settings
from tests.fakes.synapse import RegisteredUser

T = TypeVar("T")

RULES = """
default_role = "social-media"

[roles.social-media]
sla_minutes = 30
[roles.circulation]
sla_minutes = 20

[[rules]]
name = "renewals"
role = "circulation"
keywords = ["renew", "overdue"]

[[staff]]
key = "sam"
name = "Sam Staff"
matrix_user_id = "@staff1:localhost"

[[staff]]
key = "kim"
name = "Kim Keeper"
matrix_user_id = "@staff2:localhost"
"""
ROTA = (
    "person,role,days,start,end\nsam,social-media,mon-sun,00:00,24:00\nsam,circulation,mon-sun,00:00,24:00\n"
)


@dataclass(slots=True)
class Users:
    """The session's accounts: the bot, a patron, a manager and an ordinary staff member."""

    bot: RegisteredUser
    patron: RegisteredUser
    staff1: RegisteredUser
    staff2: RegisteredUser


@dataclass(slots=True)
class World:
    """Fresh rooms for one test and the humans in them."""

    url: str
    users: Users
    patron: Account
    staff1: Account
    staff2: Account
    source_room: str
    staff_room: str

    def settings(self, tmp_path: Path, **overrides: object) -> Settings:
        """Settings for a bot in these rooms, with a rules file and a rota (Sam on duty)."""
        rules, rota = tmp_path / "rules.toml", tmp_path / "rota.csv"
        rules.write_text(RULES)
        rota.write_text(ROTA)
        values: dict[str, object] = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            "RULES_FILE": rules,
            "ROTA_FILE": rota,
            "CONSOLE_DESK": "off",
            "HTTP_PORT": 0,
            "MATRIX_HOMESERVER": self.url,
            "MATRIX_USER_ID": self.users.bot.user_id,
            "MATRIX_ACCESS_TOKEN": self.users.bot.access_token,
            "MATRIX_STAFF_ROOM": self.staff_room,
            "MATRIX_SOURCE_ROOMS": self.source_room,
        }
        values.update(overrides)
        return Settings(**values)


async def wait_for(probe: Callable[[], Awaitable[T]], *, within: float = 30.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail after a generous timeout."""
    try:
        async with asyncio.timeout(within):
            while True:
                value = await probe()
                if value:
                    return value
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {within}s waiting for {what}") from None


class Account:
    """One human test user (patron or staff) on the test homeserver."""

    def __init__(self, base_url: str, user: RegisteredUser) -> None:
        self.user_id = user.user_id
        self.http = httpx.AsyncClient(
            base_url=f"{base_url}/_matrix/client/v3",
            headers={"Authorization": f"Bearer {user.access_token}"},
            timeout=30,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request; raise on an error status."""
        answer = await self.http.request(method, path, json=body)
        answer.raise_for_status()
        return dict(answer.json())

    async def create_room(self, *, public: bool, invite: tuple[str, ...] = ()) -> str:
        """A new room (public rooms are joinable without an invite)."""
        body = {"preset": "public_chat" if public else "private_chat", "invite": list(invite)}
        return str((await self.call("POST", "/createRoom", body))["room_id"])

    async def join(self, room_id: str) -> None:
        """Join a room."""
        await self.call("POST", f"/join/{quote(room_id)}", {})

    async def send(self, room_id: str, content: dict[str, Any], *, kind: str = "m.room.message") -> str:
        """Send an event; return its id."""
        path = f"/rooms/{quote(room_id)}/send/{kind}/{uuid.uuid4().hex}"
        return str((await self.call("PUT", path, content))["event_id"])

    async def say(self, room_id: str, body: str, **extra: Any) -> str:
        """A plain text message."""
        return await self.send(room_id, {"msgtype": "m.text", "body": body, **extra})

    async def mention(self, room_id: str, bot: str, text: str) -> str:
        """A message that mentions ``bot`` the way Element does (pill and intentional mention)."""
        link = f'<a href="https://matrix.to/#/{bot}">Library</a>'
        return await self.say(
            room_id,
            f"Library: {text}",
            format="org.matrix.custom.html",
            formatted_body=f"{link}: {text}",
            **{"m.mentions": {"user_ids": [bot]}},
        )

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """A reaction (annotation) to an event."""
        rel = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send(room_id, {"m.relates_to": rel}, kind="m.reaction")

    async def in_thread(self, room_id: str, root: str, body: str) -> str:
        """A message in the thread of ``root``."""
        rel = {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        }
        return await self.say(room_id, body, **{"m.relates_to": rel})

    async def messages(self, room_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """The newest events of a room, oldest first."""
        answer = await self.call("GET", f"/rooms/{quote(room_id)}/messages?dir=b&limit={limit}")
        return list(reversed(answer["chunk"]))

    async def set_power(self, room_id: str, user_id: str, level: int) -> None:
        """Give ``user_id`` a power level in the room (caller must be allowed)."""
        path = f"/rooms/{quote(room_id)}/state/m.room.power_levels/"
        levels = await self.call("GET", path)
        levels.setdefault("users", {})[user_id] = level
        await self.call("PUT", path, levels)


def by_sender(
    events: list[dict[str, Any]], sender: str, *, kind: str = "m.room.message"
) -> list[dict[str, Any]]:
    """Events of one type from one sender."""
    return [e for e in events if e.get("sender") == sender and e.get("type") == kind]


def cards(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    """The bot's card events (not edits, not notices)."""
    found = []
    for event in by_sender(events, bot):
        content = event.get("content") or {}
        rel = content.get("m.relates_to") or {}
        if content.get("msgtype") == "m.text" and rel.get("rel_type") != "m.replace" and "body" in content:
            found.append(event)
    return found


def latest_body(events: list[dict[str, Any]], card_id: str, bot: str) -> str:
    """A card's current HTML: the newest edit's new content, or the original."""
    body = ""
    for event in by_sender(events, bot):
        content = event.get("content") or {}
        rel = content.get("m.relates_to") or {}
        if event.get("event_id") == card_id:
            body = body or str(content.get("formatted_body", ""))
        if rel.get("rel_type") == "m.replace" and rel.get("event_id") == card_id:
            body = str(content["m.new_content"].get("formatted_body", ""))
    return body
