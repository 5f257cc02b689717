"""Fakes that implement the real interfaces (StaffDesk, SourceAdapter), for core tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from bot.core.base import OnAction
from bot.errors import PermanentError, TransientError
from bot.models import Mention, ReplyRef, StaffRef
from bot.views import CardRef, TicketView


@dataclass
class RecordingDesk:
    """A desk that keeps what it was asked to show. It can fail, or post and then 'time out'."""

    desk: str = "test"
    posts: list[tuple[str, TicketView]] = field(default_factory=list)  # (dedupe_key, view)
    updates: list[tuple[CardRef, TicketView]] = field(default_factory=list)
    told: list[tuple[StaffRef, str]] = field(default_factory=list)
    retries_seen: list[bool] = field(default_factory=list)
    fail_next: int = 0  # raise TransientError this many times before working
    lose_ack_next: int = 0  # post the card, then raise as if the response was lost
    reconcile: bool = True  # look for an earlier post when asked to retry

    async def serve(self, on_action: OnAction) -> None:
        self.on_action = on_action
        await asyncio.Event().wait()

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        self.retries_seen.append(retry)
        if self.fail_next:
            self.fail_next -= 1
            raise TransientError("desk down", retry_after=0)
        if retry and self.reconcile:
            for index, (key, _) in enumerate(self.posts):
                if key == dedupe_key:
                    return CardRef(self.desk, channel, str(index))
        self.posts.append((dedupe_key, card))
        if self.lose_ack_next:
            self.lose_ack_next -= 1
            raise TransientError("timed out after posting", retry_after=0)
        return CardRef(self.desk, channel, str(len(self.posts) - 1))

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise TransientError("desk down", retry_after=0)
        self.updates.append((ref, card))

    async def tell(self, who: StaffRef, text: str) -> None:
        self.told.append((who, text))

    async def aclose(self) -> None:
        return None

    def cards_for(self, mention_id: int) -> list[TicketView]:
        """Every post of one mention (should be one)."""
        return [view for _, view in self.posts if view.mention_id == mention_id]


@dataclass
class FakeSource:
    """A pull source yielding prepared mentions, recording replies (idempotent by key)."""

    source: str = "fake"
    items: Sequence[tuple[Mention | None, str | None]] = ()
    replies: dict[str, tuple[Mention, str]] = field(default_factory=dict)
    fail_reply: Exception | None = None
    started_from: list[str | None] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set, yield one item per gate.set()

    async def open(self) -> None:
        return None

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        self.started_from.append(cursor)
        start = int(cursor) if cursor else 0
        for index in range(start, len(self.items)):
            if self.gate is not None:
                await self.gate.wait()
                self.gate.clear()
            mention, _ = self.items[index]
            yield mention, str(index + 1)
        await asyncio.Event().wait()

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        if self.fail_reply is not None:
            raise self.fail_reply
        self.replies.setdefault(idempotency_key, (to, text))
        return ReplyRef(idempotency_key, f"https://fake.example/{to.external_id}/reply")

    async def aclose(self) -> None:
        return None


class Refused(PermanentError):
    """The platform said no for good."""
