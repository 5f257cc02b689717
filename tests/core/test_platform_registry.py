"""A platform is one spec and one registry entry: a throw-away "post box" platform defined here is
built from settings by the app, its mention reaches the console desk as a card under its display name,
its reply limit reaches the core, and a staff reply comes back to it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import PatronDesk
from bot.config import Settings
from bot.errors import PermanentError
from bot.models import Mention, ReplyRef
from bot.platforms import REGISTRY, source_platforms
from bot.platforms.base import AdapterDeps, PlatformSpec, on_off
from bot.platforms.capabilities import ReplyValidator
from bot.platforms.console.desk import ConsoleDesk
from bot.routing.rules import load_rules
from tests.waiting import until

RULES = """
default_role = "reference"

[roles.reference]
sla_minutes = 30

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
"""
LIMIT = 40


class PostBox:
    """The tiniest source: one letter in the box, and replies kept in a list."""

    source = "postbox"

    def __init__(self) -> None:
        self.replies: list[tuple[str, str]] = []

    async def open(self) -> None:
        return None

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        if cursor is None:
            letter = Mention("postbox", "letter-1", "Is the reading room open late?", datetime.now(UTC))
            yield replace(letter, author_handle="reader"), "1"
        await asyncio.Event().wait()

    def reply_limit(self, to: Mention | None = None) -> int:
        return LIMIT

    def validate_reply(self, to: Mention, text: str) -> None:
        if len(text) > LIMIT:
            raise PermanentError(f"a post box reply holds {LIMIT} characters")

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        self.replies.append((to.external_id, text))
        return ReplyRef(f"reply-{len(self.replies)}")

    async def aclose(self) -> None:
        return None


class Console:
    def __init__(self) -> None:
        self.input = asyncio.StreamReader()
        self.output = io.StringIO()
        self.desk = ConsoleDesk(input=self.input, output=self.output)

    def type(self, line: str) -> None:
        self.input.feed_data(line.encode() + b"\n")

    @property
    def printed(self) -> str:
        return self.output.getvalue()


def settings(tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/postbox.db",
        RULES_FILE=rules,
        CONSOLE_DESK="on",
        HTTP_PORT=0,
    )


@pytest.fixture
def postbox(monkeypatch: pytest.MonkeyPatch) -> PostBox:
    box = PostBox()

    def build(settings: Settings, deps: AdapterDeps) -> PostBox:
        assert deps.ingest is not None  # the app hands each source its own ingest
        return box

    spec = PlatformSpec(
        name="postbox",
        display="Post box",
        settings_keys=("CONSOLE_DESK",),
        describe=lambda s: on_off("postbox", True, "the lobby"),
        source_on=lambda s: True,
        build_source=build,
        reply_limit=LIMIT,
    )
    monkeypatch.setitem(REGISTRY, "postbox", spec)
    return box


async def test_a_platform_added_by_one_registry_entry_carries_a_mention_to_the_console(
    tmp_path: Path, postbox: PostBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console()
    in_memory = replace(REGISTRY["console"], build_desk=lambda s, d: console.desk)
    monkeypatch.setitem(REGISTRY, "console", in_memory)
    async with PatronDesk(settings(tmp_path)) as app:  # no sources= or desks=: both come from the registry
        assert isinstance(postbox, ReplyValidator)
        assert list(app.sources) == ["postbox"] and list(app.desks) == ["console"]
        await until(lambda: "Is the reading room open late?" in console.printed)
        assert "Post box" in console.printed  # the card says where it came from, by the spec's name
        assert app.reply_limits("postbox") == LIMIT
        console.type("reply 1 " + "x" * (LIMIT + 1))
        await until(lambda: f"holds {LIMIT} characters" in console.printed)
        console.type("reply 1 Until nine on Thursdays.")
        await until(lambda: postbox.replies)
        await app.wait_idle()
    assert postbox.replies == [("letter-1", "Until nine on Thursdays.")]


def test_rules_may_name_a_registered_platform_and_only_those(postbox: PostBox) -> None:
    assert "postbox" in source_platforms() and "console" not in source_platforms()
    rule = '\n[[rules]]\nname = "letters"\nrole = "reference"\nplatforms = ["postbox"]\n'
    assert load_rules(RULES + rule, platforms=source_platforms()).rules[0].platforms == frozenset({"postbox"})
    with pytest.raises(Exception, match="not a source platform"):
        load_rules(RULES + rule.replace('"postbox"]', '"postbag"]'), platforms=source_platforms())
