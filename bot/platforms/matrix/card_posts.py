"""The outbox relay's card calls on Matrix: post a card or summary card once, edit, redact, and add history
lines in its thread (a mixin of ``MatrixDesk``, which holds the state used here)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import TYPE_CHECKING

from bot.errors import PatronDeskError
from bot.platforms.matrix.card_events import (
    DEDUPE_KEY,
    HISTORY_KEY,
    card_content,
    edit_content,
    fold_content,
    fold_edit_content,
    notice_content,
)
from bot.platforms.matrix.commands import PRE_REACT
from bot.platforms.matrix.wire import txn_id
from bot.views import CardRef, FoldView, TicketView

if TYPE_CHECKING:
    from bot.platforms.matrix.link import MatrixLink

log = logging.getLogger(__name__)


class CardPosts:
    """Post, find, edit and redact cards and summary cards; the attributes are MatrixDesk's."""

    desk: str
    link: MatrixLink
    pre_react: bool
    cards: dict[str, int]
    _background: set[asyncio.Task[None]]

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a card (with a transaction id from the dedupe key); on retry, find an earlier post first."""
        room = channel or self.link.staff_room
        self.link.desk_rooms.add(room)  # a role's own room: its reactions and commands are desk events
        if retry:
            found = await self._find(room, dedupe_key)
            if found is not None:
                self.cards[found.message_id] = card.mention_id
                return found
        event_id = await self.link.send(
            room, card_content(card, dedupe_key=dedupe_key), txn=txn_id("card", dedupe_key)
        )
        self.cards[event_id] = card.mention_id
        if self.pre_react:  # in the background, so the next card does not wait for four reactions
            task = asyncio.create_task(self._pre_react(room, event_id), name=f"matrix-react-{event_id}")
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return CardRef(self.desk, room, event_id)

    async def _find(self, room: str, dedupe_key: str) -> CardRef | None:
        for event in await self.link.recent(room, limit=100):
            content = event.get("content") or {}
            if event.get("sender") == self.link.user_id and content.get(DEDUPE_KEY) == dedupe_key:
                return CardRef(self.desk, room, str(event["event_id"]))
        return None

    async def _pre_react(self, room: str, event_id: str) -> None:
        """Offer the buttons: staff click a reaction that is already there (best effort)."""
        for key in PRE_REACT:
            content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
            try:
                await self.link.send(
                    room, content, txn=txn_id("react", f"{event_id}:{key}"), kind="m.reaction"
                )
            except PatronDeskError as exc:
                log.warning("could not pre-react on card %s (%s)", event_id, type(exc).__name__)
                return

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        """Edit the card in place (``m.replace``); the same rendering never sends twice."""
        content = edit_content(card, card_event_id=ref.message_id)
        key = ref.message_id + json.dumps(content, sort_keys=True)
        await self.link.send(ref.channel or self.link.staff_room, content, txn=txn_id("edit", key))

    async def post_fold(
        self, fold: FoldView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a summary card (transaction id from the dedupe key); on retry, find an earlier post first."""
        room = channel or self.link.staff_room
        if retry:
            found = await self._find(room, dedupe_key)
            if found is not None:
                return found
        event_id = await self.link.send(
            room, fold_content(fold, dedupe_key=dedupe_key), txn=txn_id("fold", dedupe_key)
        )
        return CardRef(self.desk, room, event_id)

    async def update_fold(self, ref: CardRef, fold: FoldView) -> None:
        """Edit the summary card in place with its new counts."""
        content = fold_edit_content(fold, card_event_id=ref.message_id)
        key = ref.message_id + json.dumps(content, sort_keys=True)
        await self.link.send(ref.channel or self.link.staff_room, content, txn=txn_id("edit", key))

    async def redact_card(self, ref: CardRef, card: TicketView) -> None:
        """Retention: redact the card and all its edits, so no copy of the patron's text is left."""
        await self.link.redact_with_edits(
            ref.channel or self.link.staff_room, ref.message_id, reason="retention"
        )

    async def history(self, ref: CardRef, line: str, *, ping: str = "", key: str = "") -> None:
        """A history line in the card's thread (``m.thread``); pings ``ping`` only, nobody else."""
        content = notice_content(line, thread_root=ref.message_id, ping=ping or None)
        content[HISTORY_KEY] = True
        txn = txn_id("history", key or uuid.uuid4().hex)  # the outbox key: a retry is not posted twice
        await self.link.send(ref.channel or self.link.staff_room, content, txn=txn)
