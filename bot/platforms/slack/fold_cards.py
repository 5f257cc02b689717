"""Summary cards on the Slack desk: a burst of read-only items as one card with Open list, Claim all
and Mark all handled (a mixin of ``SlackDesk``, which holds the state used here)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.domain.outbox import Lane
from bot.errors import NotYet, PermanentError, RateLimited, TransientError
from bot.models import FoldAction
from bot.platforms.slack.actions import SlackActions
from bot.platforms.slack.buttons import CARD_EVENT, FOLD_VERBS, parse_fold_value
from bot.platforms.slack.cards import fold_blocks
from bot.platforms.slack.clicks import click_channel, parse_actor
from bot.views import CardRef, FoldView

if TYPE_CHECKING:
    from bot.platforms.slack.client import SlackClient


class FoldCards:
    """``post_fold``, ``update_fold`` and the clicks on a summary card; the attributes are SlackDesk's."""

    desk: str
    client: SlackClient
    staff_channel: str
    actions: SlackActions
    clock: Callable[[], float]
    _posted: Any
    _clean: Any
    _ambiguous: Any
    _find: Callable[..., Any]
    _landed: Callable[..., CardRef]

    def register_folds(self) -> None:
        """Attach the summary card's buttons."""
        for action_id in FOLD_VERBS:
            self.client.app.action(action_id)(self._fold_click)

    async def post_fold(
        self, fold: FoldView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a summary card (paced like a read-only card; found again after a lost answer)."""
        channel = channel or self.staff_channel
        if not channel:
            raise PermanentError("no Slack channel for this card: set SLACK_STAFF_CHANNEL")
        if dedupe_key in self._posted:
            return CardRef(self.desk, *self._posted[dedupe_key])
        if (retry or dedupe_key in self._ambiguous) and dedupe_key not in self._clean:
            ts = await self._find(channel, dedupe_key)
            if ts:
                return self._landed(channel, dedupe_key, ts)
        self.client.card_channels.add(channel)
        admission = self.client.pacer.admit(channel, dedupe_key, self.clock(), lane=Lane.READ)
        if not admission.go:
            raise NotYet("slack channel pace", retry_after=admission.wait)
        if admission.wait > 0:
            await asyncio.sleep(admission.wait)
        metadata = {"event_type": CARD_EVENT, "event_payload": {"dedupe_key": dedupe_key}}
        try:
            data = await self.client.call(
                "chat_postMessage",
                channel=channel,
                text=f"Summary card {fold.fold_id}",
                blocks=fold_blocks(fold),
                metadata=metadata,
            )
        except RateLimited as exc:
            self._clean.remember(dedupe_key, True)
            pause = max(exc.retry_after or 0.0, self.client.pacer.interval)
            self.client.pacer.blocked(channel, dedupe_key, self.clock(), pause)
            raise RateLimited(str(exc), retry_after=pause) from None
        except PermanentError:
            self._clean.remember(dedupe_key, True)
            self.client.pacer.forget(channel, dedupe_key)
            raise
        except TransientError:
            self._ambiguous.remember(dedupe_key, self.clock())
            self._clean.pop(dedupe_key, None)
            raise
        return self._landed(channel, dedupe_key, str(data.get("ts", "")))

    async def update_fold(self, ref: CardRef, fold: FoldView) -> None:
        """Edit the summary card in place with its new counts."""
        await self.client.call(
            "chat_update",
            channel=ref.channel,
            ts=ref.message_id,
            text=f"Summary card {fold.fold_id}",
            blocks=fold_blocks(fold),
        )

    async def _fold_click(self, ack: Any, body: dict[str, Any]) -> None:
        """Open list / Claim all / Mark all handled on a summary card: the answer comes privately."""
        await ack()
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions[0], dict) else {}
        fold_id = parse_fold_value(first.get("value"))
        verb = FOLD_VERBS.get(str(first.get("action_id", "")))
        if fold_id is None or verb is None or not isinstance(body.get("user"), dict):
            return
        action = FoldAction(fold_id, parse_actor(body["user"]), verb)  # type: ignore[arg-type]
        self.actions.tasks.spawn(self.actions.run(action, click_channel(body)), f"slack:fold_{verb}")
