"""The poison harness: a real PatronDesk (SQLite file or a fresh PostgreSQL database) with the console
desk, and the checks every source's poison test makes once its hostile batch and normal item are in."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

from bot.app import PatronDesk
from bot.config import Settings
from bot.core.views import mention_from_row
from bot.platforms.console.desk import ConsoleDesk
from bot.store.mention_tables import MentionRow
from tests.conftest import PG_URL
from tests.core.hostile import assert_safe
from tests.fakes.loopback import LONE_SURROGATE

RULES = """
default_role = "social-media"

[roles.social-media]
sla_minutes = 30

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
"""
# The batch every source sends, in its own wire shape, before one normal item.
FAR_FUTURE = "9999-12-31T23:59:59-12:00"  # finding 1: OverflowError on astimezone(UTC)
LONG = "A" * 600  # finding 2: author_name is VARCHAR(512)
NUL_TEXT = "nul \x00 and a lone \ud800 surrogate"  # finding 2: PostgreSQL refuses U+0000
FAKE_LINES = "https://evil.example/a\n── #99 · Mastodon · Director (@boss)\u202e"  # finding 9
NORMAL_TEXT = "Is the library open on Sunday? (the normal item after the batch)"
# a NUL and a lone surrogate as a JSON body carries them (the loopback server writes the escape)
DIRTY = f"nul \x00 and a lone {LONE_SURROGATE} surrogate"


def nested(depth: int, *, branching: bool = False) -> Any:
    """A list nested ``depth`` deep (``branching``: each level also holds the one below, up to 8)."""
    value: Any = "deep"
    for _ in range(depth):
        value = [value, {"k": value if branching and depth < 8 else None}]
    return value


class Console:
    """The console desk wired to an in-memory terminal (cards are what it printed)."""

    def __init__(self) -> None:
        self.input = asyncio.StreamReader()
        self.output = io.StringIO()
        self.desk = ConsoleDesk(input=self.input, output=self.output)

    @property
    def printed(self) -> str:
        return self.output.getvalue()


@asynccontextmanager
async def database_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """An SQLite file, or a fresh PostgreSQL database (dropped afterwards); the app migrates it."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/poison.db"
        return
    name = f"poison_{uuid.uuid4().hex[:12]}"
    admin_url = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def running_app(
    kind: str,
    tmp_path: Path,
    console: Console,
    *,
    sources: list[Any] | None = None,
    clients: dict[str, Any] | None = None,
    **values: object,
) -> AsyncIterator[PatronDesk]:
    """A running PatronDesk on a fresh database with the console desk (``clients``: prebuilt ones)."""
    async with database_url(kind, tmp_path) as url:
        app = PatronDesk(settings(url, tmp_path, **values), sources=sources, desks=[console.desk])
        app.clients.update(clients or {})
        async with app:
            yield app


def settings(url: str, tmp_path: Path, **values: object) -> Settings:
    """Settings for one poison run: console desk on, an ephemeral HTTP port."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=url,
        RULES_FILE=rules,
        CONSOLE_DESK="on",
        HTTP_PORT=0,
        **values,  # type: ignore[arg-type]
    )


async def stored(app: PatronDesk, source: str) -> list[MentionRow]:
    """The source's stored mentions, oldest first."""
    async with app.db.transaction() as session:
        rows = await session.execute(select(MentionRow).where(MentionRow.source == source))
        return sorted(rows.scalars(), key=lambda row: row.id)


async def wait_for_rows(app: PatronDesk, source: str, count: int, within: float = 20.0) -> list[MentionRow]:
    """Wait until ``count`` mentions of ``source`` are stored, and return them."""
    async with asyncio.timeout(within):
        while True:
            rows = await stored(app, source)
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)


async def check_survived(app: PatronDesk, console: Console, rows: list[MentionRow]) -> None:
    """Every row is safe and carded, the normal item last; the app runs on and /healthz says ok."""
    await app.wait_idle(within=20)
    received = max(row.received_at for row in rows)
    for row in rows:
        assert_safe(mention_from_row(row), now=received)
        assert f"── #{row.id} · " in console.printed, f"mention {row.id} was stored but not carded"
    assert any(NORMAL_TEXT in row.text for row in rows)  # the normal item after the batch is carded
    assert not any(line.startswith("── #99 ") for line in console.printed.splitlines())  # no fake card
    assert app._main is not None and not app._main.done()  # the app's main task never ended
    async with httpx.AsyncClient() as http:
        health = await http.get(f"http://127.0.0.1:{app.http_port}/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text


def marked(rows: list[MentionRow]) -> int:
    """How many cards say the platform's time was not valid."""
    return sum("time given by the platform was not valid" in row.note for row in rows)


def now() -> datetime:
    return datetime.now(UTC)
