"""The app under a storm: settings, an in-memory desk that times every card, mentions, counting helpers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import PatronDesk
from bot.config import Settings
from bot.core.base import OnAction
from bot.models import Mention, StaffRef
from bot.views import CardRef, TicketView

RULES = """
default_role = "social-media"

[roles.social-media]
sla_minutes = 10080

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "U0ALICE01"
matrix_user_id = "@stormstaff:localhost"
"""
ALICE = StaffRef("console", "console", "console")


def settings(tmp_path: Path, *, database: str = "", **values: Any) -> Settings:
    """Settings for a storm app: no console, a free HTTP port, timers rarely (long SLAs anyway), and no
    summary cards: the storms count one card per item, and a slow machine can let ten feed items wait
    at once (a restart test failed so: the ten were folded, as designed; tests/core covers folding)."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=database or f"sqlite+aiosqlite:///{tmp_path}/storm.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        TIMER_SECONDS=3600,
        **({"FEED_BURST_FOLD": 0} | values),
    )


@dataclass
class Wall:
    """A desk that never fails: it shows which cards arrived, when, and how often.

    Like every real desk it answers a repeated dedupe key with the card it already posted.
    """

    desk: str = "wall"
    cards: dict[str, TicketView] = field(default_factory=dict)  # dedupe key -> card
    at: dict[str, float] = field(default_factory=dict)  # text or url -> time.monotonic() of its first card
    texts: Counter[str] = field(default_factory=Counter)  # text -> cards posted with it
    urls: Counter[str] = field(default_factory=Counter)  # the mention's url -> cards posted with it

    async def serve(self, on_action: OnAction) -> None:
        await asyncio.Event().wait()

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        if dedupe_key not in self.cards:
            self.cards[dedupe_key] = card
            self.texts[card.text] += 1
            self.urls[card.url or ""] += 1
            self.at.setdefault(card.text, time.monotonic())
            self.at.setdefault(card.url or "", time.monotonic())
        return CardRef(self.desk, channel, dedupe_key)

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        return None

    async def tell(self, who: StaffRef, text: str) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def has(self, *texts: str) -> bool:
        """Every text has a card."""
        return all(self.texts[text] for text in texts)

    def has_urls(self, urls: list[str]) -> bool:
        """Every url has a card."""
        return all(self.urls[url] for url in urls)


def mention(n: int, *, source: str = "storm") -> Mention:
    """A mention with its own text and id."""
    return Mention(
        source=source,
        external_id=f"storm-{n}",
        text=f"storm question {n}",
        created_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        url=f"https://social.example/@patron/{n}",
        author_handle="@patron@social.example",
        author_name="A Patron",
    )


def lost_and_duplicated(expected: list[str], seen: Counter[str]) -> tuple[int, int]:
    """How many expected items never arrived, and how many arrived more than once (extra copies)."""
    lost = sum(1 for item in expected if not seen[item])
    duplicates = sum(max(count - 1, 0) for count in seen.values())
    return lost, duplicates


async def stored_cursors(app: PatronDesk, names: Sequence[str], *, within: float = 20) -> None:
    """Wait for each source's first sync (its cursor is stored): what is posted after it must arrive."""
    async with asyncio.timeout(within):
        while not all([await app.service.cursor(name) for name in names]):  # noqa: ASYNC110 - in the database
            await asyncio.sleep(0.02)
