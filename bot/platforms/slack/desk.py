"""The Slack staff desk: cards with buttons in the staff channel, paced, reconciled and digested.

Posting: one message per channel about every second (``slack_pace``); a post that would have to
wait is given a slot (answerable mentions ahead of read-only ones) and sent back to the outbox with
``NotYet``, which the relay schedules without counting an attempt. A burst is summarised at once in
one digest message (every waiting mention, answerable ones first, a page at a time with Claim
buttons), and every mention still gets its own card: nothing is dropped or merged. Every card carries its
dedupe key in message metadata; before a retry that may follow a landed post, the channel history is
searched for it, so a post that timed out is never posted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.backoff import Reconnector
from bot.config import Settings
from bot.core.base import OnAction
from bot.domain.notes import DEFAULT_TAGS
from bot.errors import AdapterConfigError, NotYet, PermanentError, TransientError
from bot.models import StaffRef
from bot.net.retry import reconnecting
from bot.platforms.base import AdapterDeps
from bot.platforms.slack.actions import SlackActions
from bot.platforms.slack.burst_digest import BurstDigest, _Digest
from bot.platforms.slack.buttons import DIGEST_PAGE
from bot.platforms.slack.card_posts import SETTLE, CardPosts, _Lru, _Scan
from bot.platforms.slack.cards import card_blocks, fallback_text
from bot.platforms.slack.checkin import CheckinButtons, checkin_blocks
from bot.platforms.slack.client import SlackClient, shared_client
from bot.platforms.slack.escaping import notice_text, staff_mention
from bot.platforms.slack.fold_cards import FoldCards
from bot.platforms.slack.reply_draft import Limits
from bot.platforms.slack.roster import SlackRoster
from bot.platforms.slack.thread_notes import ThreadNotes
from bot.platforms.slack.usergroups import DutyGroups, scope_verdict
from bot.views import CardRef, TicketView

log = logging.getLogger(__name__)


class SlackDesk(FoldCards, BurstDigest, CardPosts):
    """The StaffDesk for Slack (see the module docstring).

    Args:
        client: the shared Slack client.
        staff_channel: the default channel id for cards.
        managers, manager_group: who may edit the rota (user ids; a user group id).
        staff_group: a user group whose members are staff (``bot/core/authz.py`` says who else is).
        role_channels: roles' own card channels, where commands work as in the staff channel.
        digest_at: reserved posts in one channel that make a burst worth a digest.
        digest_refresh: seconds between two refreshes of a digest.
        settle: seconds an unanswered post may still take to land before its channel is searched.
    """

    desk = "slack"

    def __init__(
        self,
        client: SlackClient,
        *,
        staff_channel: str,
        managers: tuple[str, ...] = (),
        manager_group: str = "",
        staff_group: str = "",
        role_channels: tuple[str, ...] = (),
        limits: Limits | None = None,
        tags: tuple[str, ...] = (),
        duty_groups: tuple[str, ...] = (),
        digest_at: int = 10,
        digest_refresh: float = 5.0,
        settle: float = SETTLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.staff_channel = staff_channel
        self.digest_at = digest_at
        self.digest_refresh = digest_refresh
        self.settle = settle
        self.clock = clock
        self.roster = SlackRoster(
            client,
            staff_channel=staff_channel,
            role_channels=role_channels,
            managers=managers,
            manager_group=manager_group,
            staff_group=staff_group,
        )
        self.actions = SlackActions(
            client, staff_channel=staff_channel, roster=self.roster, limits=limits, tags=tags
        )
        self.actions.register()
        self.thread_notes = ThreadNotes(self.actions)  # a staff message in a card's thread is a note
        CheckinButtons(self.actions).register()
        self.duty_groups = duty_groups  # the user groups roles keep to who is on duty (check --connect)
        self.groups = DutyGroups(client)
        client.app.action(DIGEST_PAGE)(self._digest_page)
        self.register_folds()
        self._started = clock()
        self._posted: _Lru = _Lru()  # dedupe key -> (channel, ts), posts that surely landed
        self._clean: _Lru = _Lru()  # keys whose every attempt here surely did not land
        self._ambiguous: _Lru = _Lru()  # key -> when an attempt ended without an answer
        self._scans: dict[str, _Scan] = {}
        self._waiting: dict[str, dict[str, TicketView]] = {}
        self._digests: dict[str, _Digest] = {}
        client.card_channels.add(staff_channel)

    async def serve(self, on_action: OnAction) -> None:
        """Take clicks and commands until cancelled (connects Socket Mode; HTTP mode is routed)."""
        self.actions.on_action = on_action
        self.actions.ready.set()
        try:
            await reconnecting(self.client.start, policy=Reconnector(), on_error=_connect_failed)
        except AdapterConfigError as exc:
            log.error("Slack desk cannot connect: %s", exc)
        await asyncio.Event().wait()

    def http_routes(self) -> list[tuple[str, str, Any]]:
        """HTTP mode's events route (given by whichever of desk and source asks first)."""
        return self.client.http_routes()

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post the card (paced); with ``retry``, first find an earlier post carrying ``dedupe_key``."""
        channel = channel or self.staff_channel
        if not channel:
            raise PermanentError("no Slack channel for this card: set SLACK_STAFF_CHANNEL")
        if dedupe_key in self._posted:
            return CardRef(self.desk, *self._posted[dedupe_key])
        if (retry or dedupe_key in self._ambiguous) and dedupe_key not in self._clean:
            settle = self._ambiguous.get(dedupe_key, -self.settle) + self.settle - self.clock()
            if settle > 0:  # an attempt that just timed out may still land: look once it cannot
                raise TransientError("earlier Slack post still settling", retry_after=settle)
            ts = await self._find(channel, dedupe_key)
            if ts:
                return self._landed(channel, dedupe_key, ts)
        self.client.card_channels.add(channel)
        admission = self.client.pacer.admit(channel, dedupe_key, self.clock())
        if not admission.go:
            self._queued(channel, dedupe_key, card)
            await self._show_digest(channel)
            raise NotYet("slack channel pace", retry_after=admission.wait)
        if admission.wait > 0:
            await asyncio.sleep(admission.wait)
        ts = await self._send(card, channel, dedupe_key)
        ref = self._landed(channel, dedupe_key, ts)
        await self._show_digest(channel)
        return ref

    async def slot(self, card: TicketView, *, channel: str, dedupe_key: str, lane: int) -> float:
        """Seconds until this card's turn in its channel (its slot is reserved by ``lane``).

        The relay asks before it takes the row, so a burst is queued (and its digest shown) without
        an attempt per waiting card; 0 means post now.
        """
        channel = channel or self.staff_channel
        if not channel or dedupe_key in self._posted:
            return 0.0
        pacer = self.client.pacer
        new = dedupe_key not in self._waiting.get(channel, {})
        wait = pacer.reserve(channel, dedupe_key, self.clock(), lane=lane)
        if wait <= pacer.inline:
            return 0.0
        self._queued(channel, dedupe_key, card)
        # a question that went ahead of read-only items shows in the digest at once, not at the next refresh
        await self._show_digest(channel, urgent=new and pacer.jumps(channel, lane))
        return wait

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        """Edit the card in place (every change shows in its status line and buttons)."""
        text, blocks = fallback_text(card), card_blocks(card)
        await self.client.call(
            "chat_update", channel=ref.channel, ts=ref.message_id, text=text, blocks=blocks
        )

    async def announce(self, text: str) -> None:
        """A message to the whole staff channel (daily duty post, weekly report)."""
        if self.staff_channel:
            await self.client.call("chat_postMessage", channel=self.staff_channel, text=notice_text(text))

    async def history(self, ref: CardRef, line: str, *, ping: str = "", key: str = "") -> None:
        """A history line as a reply in the card's thread (not sent to the channel); only ``ping``,
        the person the change concerns, is mentioned."""
        mention = staff_mention(StaffRef(self.desk, ping)) if ping else None
        text = f"{mention} {notice_text(line)}" if mention else notice_text(line)  # line escaped
        await self.client.call("chat_postMessage", channel=ref.channel, thread_ts=ref.message_id, text=text)

    async def tell(self, who: StaffRef, text: str) -> None:
        """Private feedback: ephemeral in the staff channel, or a direct message without one."""
        body = notice_text(text)
        if self.staff_channel:
            channel = self.staff_channel
            await self.client.call("chat_postEphemeral", channel=channel, user=who.user_id, text=body)
        else:
            await self.client.call("chat_postMessage", channel=who.user_id, text=body)

    async def ask_checkin(self, who: StaffRef, text: str, *, checkin_id: int, key: str) -> None:
        """The check-in question with its two buttons, in the person's direct message with the bot."""
        await self.client.call(
            "chat_postMessage",
            channel=who.user_id,
            text=notice_text(text),
            blocks=checkin_blocks(text, checkin_id),
        )

    async def set_duty_group(self, group: str, users: Sequence[str]) -> None:
        """Make ``users`` (Slack ids) the members of the user group ``group``."""
        await self.groups.set(group, users)

    async def check(self) -> str:
        """Whether the bot can post in the staff channel, and edit the duty user groups (``check --connect``;
        nothing is posted or changed)."""
        from bot.platforms.slack.reach import check_staff_channel

        line = await check_staff_channel(self.client, self.staff_channel)
        missing = await scope_verdict(self.client, self.duty_groups)
        if missing:
            raise AdapterConfigError(f"{line}, but {missing}")
        return line

    async def idle(self) -> None:
        """Wait for the click handlers in flight (tests)."""
        await self.actions.tasks.idle()

    async def aclose(self) -> None:
        """Stop the click handlers (the shared client is closed by the app)."""
        await self.actions.tasks.aclose()


def build(settings: Settings, deps: AdapterDeps) -> SlackDesk | None:
    """The Slack desk when a bot token and a staff channel are set."""
    if not (settings.slack_on and settings.SLACK_STAFF_CHANNEL):
        return None
    if not (settings.SLACK_APP_TOKEN or settings.SLACK_SIGNING_SECRET):
        raise AdapterConfigError("Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)")
    return SlackDesk(
        shared_client(settings, deps.clients),
        staff_channel=settings.SLACK_STAFF_CHANNEL,
        managers=settings.SLACK_MANAGERS,
        manager_group=settings.SLACK_MANAGER_GROUP,
        staff_group=settings.SLACK_STAFF_GROUP,
        role_channels=tuple(deps.desk_channels.get("slack", ())),
        limits=deps.reply_limits,
        tags=_tags(settings),
        duty_groups=_duty_groups(settings),
    )


def _tags(settings: Settings) -> tuple[str, ...]:
    """The rules file's tags for the Note & tags form (the defaults when the file cannot be read here;
    the app reports a broken rules file itself)."""
    from bot.setup import load_rules_file

    try:
        return load_rules_file(settings.RULES_FILE).tags
    except Exception:
        return DEFAULT_TAGS


def _duty_groups(settings: Settings) -> tuple[str, ...]:
    """The user groups the rules file's roles keep to who is on duty (``slack_usergroup``)."""
    from bot.setup import load_rules_file

    try:
        roles = load_rules_file(settings.RULES_FILE).roles
    except Exception:
        return ()
    return tuple(sorted({spec.slack_usergroup for spec in roles.values() if spec.slack_usergroup}))


def _connect_failed(exc: Exception, wait: float) -> None:
    log.warning("Slack desk: %s; connecting again in %.1fs", type(exc).__name__, wait)
