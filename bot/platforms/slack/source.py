"""Slack source: patrons' messages in community channels (and @-mentions of the bot) become mentions.

A push source: bolt delivers ``message`` and ``app_mention`` events and the listener stores the mention
through ``ingest`` before it returns (bolt runs with ``process_before_response``, so Slack is acked
only after the mention is stored; a failed store is not acked and Slack sends it again). One message
seen twice (as ``message`` and as ``app_mention``, or a redelivery) is one mention: its external id is
``channel:ts``. Replies go into the patron's thread; staff threads under cards never reach a patron.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.backoff import Reconnector
from bot.config import Settings
from bot.domain.sanitize import UNKNOWN_TIME, from_unix, safe_mention
from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError
from bot.models import Mention, ReplyRef, Visibility
from bot.net.retry import reconnecting
from bot.platforms.base import AdapterDeps, Ingest
from bot.platforms.slack.client import BotIdentity, SlackClient, shared_client
from bot.platforms.slack.escaping import safe_text

log = logging.getLogger(__name__)

PLAIN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
REPLY_EVENT = "patron_desk_reply"
REPLY_LIMIT = 4000
NAME_TIMEOUT = 1.0
MEMORY = 10_000
_MARKUP = re.compile(r"<([^<>\n]{1,3000})>")


_USER_IN_TEXT = re.compile(r"@([UW][A-Z0-9]{6,})\b")  # a user id left by ``<@U…>`` without a label
MAX_NAMED = 5  # users.info calls for people named in one message, at most


def markup_to_text(text: str) -> str:
    """Slack message markup as readable text: ``<@U1|ann>`` → ``@ann``, ``<url|label>`` → ``label (url)``.

    A link label never hides its target (``<https://evil|https://library>`` shows both). The result
    is plain text; cards escape it again.
    """

    def one(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith(("@", "#")):
            return target[0] + (label or target[1:])
        if target.startswith("!"):
            word = label or target[1:].split("^", 1)[0]
            return word if word.startswith("@") else "@" + word
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_MARKUP.sub(one, text)) if "<" in text or "&" in text else text


def _visibility(event: dict[str, Any], channel: str) -> Visibility:
    kind = event.get("channel_type")
    if not isinstance(kind, str) or not kind:
        kind = {"D": "im", "G": "group"}.get(channel[:1], "channel")
    return {"im": Visibility.DIRECT, "group": Visibility.PRIVATE, "mpim": Visibility.PRIVATE}.get(
        kind, Visibility.PUBLIC
    )


def permalink(team_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str | None:
    """The message's web address, built from auth.test's team URL (no API call)."""
    if not team_url.startswith("https://") or not ts:
        return None
    url = f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    return f"{url}?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else url


def parse_event(
    event: dict[str, Any],
    *,
    me: BotIdentity,
    sources: frozenset[str],
    staff: frozenset[str],
    now: datetime | None = None,
) -> Mention | None:
    """A message or app_mention event as a Mention; None for ours, edits, joins and other channels.

    Messages count in the configured community channels; an @-mention of the bot counts in any
    channel but the staff channels (where cards are posted: cards and their threads are staff-only).
    A ``ts`` that is not a usable time still makes a mention, dated ``now`` and marked on the card.
    """
    kind, channel = event.get("type"), str(event.get("channel") or "")
    ts, user = str(event.get("ts") or ""), str(event.get("user") or "")
    subtype = event.get("subtype")
    if kind not in ("message", "app_mention") or not isinstance(subtype, str | None):
        return None
    if subtype not in PLAIN_SUBTYPES:
        return None
    if event.get("hidden") or event.get("bot_id") or not (channel and ts and user) or user == me.user_id:
        return None
    thread_ts = str(event.get("thread_ts") or ts)
    # outside the community channels a plain message did not address the library: one in a thread may
    # only join its author's open mention there (the patron writing again without a new @-mention)
    join_only = kind == "message" and channel not in sources
    if channel in staff or (join_only and thread_ts == ts):
        return None
    mention = Mention(
        source="slack",
        external_id=f"{channel}:{ts}",
        text=markup_to_text(str(event.get("text") or "")),
        created_at=from_unix(ts) or UNKNOWN_TIME,
        url=permalink(me.url, channel, ts, thread_ts),
        author_id=user,
        author_handle=user,
        visibility=_visibility(event, channel),
        reply_ref=json.dumps({"channel": channel, "thread_ts": thread_ts, "ts": ts}),
        # a reply in a thread follows its first post: the author's follow-up joins their open mention
        # (and wakes it when snoozed) instead of starting a card of its own
        follows=(f"{channel}:{thread_ts}",) if thread_ts != ts else (),
        join_only=join_only,
    )
    return safe_mention(mention, now=now)


def parse_reply_ref(raw: str) -> tuple[str, str]:
    """(channel, thread_ts) from a Slack mention's reply_ref."""
    try:
        data = json.loads(raw or "")
        return str(data["channel"]), str(data["thread_ts"])
    except (ValueError, KeyError, TypeError):
        raise PermanentError("this Slack mention has no thread to reply in") from None


class SlackSource:
    """Community Slack channels as a source (shares the desk's bolt app and connection)."""

    source = "slack"
    push = True

    def __init__(
        self, client: SlackClient, *, ingest: Ingest, channels: tuple[str, ...], staff: tuple[str, ...]
    ):
        self.client = client
        self.ingest = ingest
        self.channels = frozenset(channels)
        self.staff = frozenset(c for c in staff if c)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._names: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._connecting: asyncio.Task[None] | None = None
        # messages in card channels are the desk's (a staff thread message is a note: thread_notes)
        client.app.event("message", matchers=[self._not_a_card_channel])(self._on_event)
        client.app.event("app_mention")(self._on_event)

    async def _not_a_card_channel(self, event: dict[str, Any]) -> bool:
        return str(event.get("channel") or "") not in self.client.card_channels

    async def open(self) -> None:
        """Check the token and connect (Socket Mode); HTTP mode receives through the app's server.

        A transient failure is raised for the caller to log, and connecting goes on in the background.
        """
        try:
            await self.client.start()
        except TransientError as exc:
            self._connecting = asyncio.create_task(self._keep_connecting(exc), name="slack:connect")
            raise

    async def _keep_connecting(self, first: TransientError) -> None:
        retry = Reconnector()
        await asyncio.sleep(retry.failed(retry_after=first.retry_after))
        await reconnecting(self.client.start, policy=retry, on_error=lambda _exc, _wait: None)

    def http_routes(self) -> list[tuple[str, str, Any]]:
        """HTTP mode's events route (given by whichever of desk and source asks first)."""
        return self.client.http_routes()

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        """Nothing to pull: events are pushed through ``ingest``. Waits until cancelled."""
        await asyncio.Event().wait()
        nothing: tuple[tuple[Mention | None, str | None], ...] = ()
        for item in nothing:  # makes this an async generator that never yields
            yield item

    async def _on_event(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = str(body.get("event_id") or "")
        if event_id and event_id in self._seen:
            return  # a redelivery of an event already stored
        me = await self.client.identity()
        staff = self.staff | self.client.card_channels
        mention = parse_event(event, me=me, sources=self.channels, staff=staff, now=datetime.now(UTC))
        if mention is not None:
            mention = safe_mention(await self._named(mention), now=datetime.now(UTC))
            stored = await self.ingest(mention, None)  # raising leaves the event un-acked: Slack resends
            if stored or not mention.join_only:  # a dropped join-only message leaves no trace
                log.info("slack event %s stored", event_id or "(no id)")
        if event_id:
            _remember(self._seen, event_id, None)

    async def _named(self, mention: Mention) -> Mention:
        """Handle and name from users.info (cached), for the author and for people the text names by
        id (``<@U…>`` without a label reads ``@U…``; the bot is named from auth.test). The user id
        stays when Slack is slow or says no."""
        author = await self._person(mention.author_id)
        me = await self.client.identity()
        named: dict[str, str] = {me.user_id: "@" + me.name} if me.name else {}
        for user in list(dict.fromkeys(_USER_IN_TEXT.findall(mention.text)))[:MAX_NAMED]:
            if user not in named and (found := await self._person(user)):
                named[user] = found[0]
        text = _USER_IN_TEXT.sub(lambda m: named.get(m.group(1), m.group(0)), mention.text)
        handle, name = author or (mention.author_handle, mention.author_name)
        return replace(mention, author_handle=handle, author_name=name, text=text)

    async def _person(self, user: str) -> tuple[str, str] | None:
        """``("@handle", "Real Name")`` from users.info (cached); None when Slack is slow or says no."""
        if user not in self._names:
            try:
                async with asyncio.timeout(NAME_TIMEOUT):  # wait_for can swallow a cancel (3.11)
                    data = await self.client.call("users_info", user=user)
            except (PatronDeskError, TimeoutError):
                return None
            info = data.get("user") or {}
            profile = info.get("profile") or {}
            handle = str(profile.get("display_name") or info.get("name") or user)
            _remember(
                self._names,
                user,
                ("@" + handle, str(info.get("real_name") or profile.get("real_name") or "")),
            )
        handle, name = self._names[user]
        return handle, name

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Post ``text`` in the patron's thread, once per key (an earlier post is found and returned)."""
        channel, thread_ts = parse_reply_ref(to.reply_ref)
        me = await self.client.identity()
        earlier = await self._earlier_reply(channel, thread_ts, idempotency_key)
        if earlier:
            return ReplyRef(f"{channel}:{earlier}", permalink(me.url, channel, earlier, thread_ts))
        pacer = self.client.pacer
        admission = pacer.admit(channel, idempotency_key, time.monotonic())
        if not admission.go:
            raise RateLimited("slack channel pace", retry_after=admission.wait)
        await asyncio.sleep(admission.wait)
        metadata = {"event_type": REPLY_EVENT, "event_payload": {"key": idempotency_key}}
        try:
            data = await self.client.call(
                "chat_postMessage",
                channel=channel,
                thread_ts=thread_ts,
                text=safe_text(text, REPLY_LIMIT),
                metadata=metadata,
                unfurl_links=False,
            )
        except RateLimited as exc:
            pacer.blocked(channel, idempotency_key, time.monotonic(), exc.retry_after or pacer.interval)
            raise
        ts = str(data.get("ts", ""))
        return ReplyRef(f"{channel}:{ts}", permalink(me.url, channel, ts, thread_ts))

    async def _earlier_reply(self, channel: str, thread_ts: str, key: str) -> str | None:
        data = await self.client.call(
            "conversations_replies", channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
        )
        for message in data.get("messages") or ():
            meta = message.get("metadata") or {}
            if meta.get("event_type") == REPLY_EVENT and (meta.get("event_payload") or {}).get("key") == key:
                return str(message.get("ts", ""))
        return None

    async def aclose(self) -> None:
        """Stop connecting (the shared client itself is closed by the app)."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting


def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MEMORY:
        cache.popitem(last=False)


def build(settings: Settings, deps: AdapterDeps) -> SlackSource | None:
    """The Slack source when a bot token and community channels are set."""
    if not (settings.slack_on and settings.SLACK_SOURCE_CHANNELS):
        return None
    if deps.ingest is None:
        raise AdapterConfigError("the Slack source needs the ingest callback")
    return SlackSource(
        shared_client(settings, deps.clients),
        ingest=deps.ingest,
        channels=settings.SLACK_SOURCE_CHANNELS,
        staff=(settings.SLACK_STAFF_CHANNEL,),
    )
