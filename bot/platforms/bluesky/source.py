"""Bluesky source: one app-password session, listNotifications paging, threaded replies with facets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grapheme
import httpx

from bot.backoff import Backoff
from bot.config import Settings
from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError
from bot.models import Mention, ReplyRef
from bot.net.wire import pause_after, retrying, text_field, tls, utc_now
from bot.platforms.base import AdapterDeps
from bot.platforms.bluesky.facets import MENTION, detect_spans, facet_records, tid_for
from bot.platforms.bluesky.parse import (
    POST,
    REASONS,
    WEB_URL,
    Position,
    dump_cursor,
    load_cursor,
    parse_notification,
    parse_reply_ref,
    position_of,
    post_url,
    reached,
    reply_record,
    rkey_of,
)
from bot.platforms.bluesky.session import XrpcSession

log = logging.getLogger(__name__)

MAX_GRAPHEMES = 300
MAX_BYTES = 3000


@dataclass(frozen=True, slots=True)
class BlueskyOptions:
    """Tuning knobs; the defaults suit bsky.social, tests shrink the times."""

    poll_seconds: float = 30.0
    backfill: bool = False
    page_limit: int = 50
    max_pages: int = 20  # per catch-up: 1,000 notifications
    request_timeout: float = 30.0
    web_url: str = WEB_URL
    backoff: Backoff = field(default_factory=lambda: Backoff(base=2.0, cap=300.0))


class BlueskySource:
    """Mentions, replies and quotes of the library's Bluesky account, and replies to them."""

    source = "bluesky"

    def __init__(
        self,
        service: str,
        handle: str,
        password: str,
        *,
        options: BlueskyOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._options = options or BlueskyOptions()
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=service.rstrip("/"),
            headers={"User-Agent": "patron-desk"},
            timeout=self._options.request_timeout,
            transport=transport,
            verify=tls(),
        )
        self.session = XrpcSession(self._client, handle.removeprefix("@"), password, clock=clock)
        self._dids: dict[str, str] = {}

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Create the session once; a refused handle or app password is ``AdapterConfigError``."""
        await self.session.ensure()

    async def check(self) -> str:
        """Open and describe the account, for ``patron-desk check``."""
        session = await self.session.ensure()
        return f"app password OK for @{session.handle} ({session.did})"

    async def aclose(self) -> None:
        """Close connections."""
        await self._client.aclose()

    # --- mentions ----------------------------------------------------------------------

    async def mentions(self, cursor: str | None) -> AsyncGenerator[tuple[Mention | None, str | None], None]:
        """Yield mentions, replies and quotes oldest-first with the cursor after each, forever.

        Without a stored cursor the newest notification is recorded and nothing older is
        delivered, unless backfill is on.
        """
        valid, position = load_cursor(cursor)
        if not valid:
            if cursor is not None:
                log.warning("bluesky: stored cursor unreadable; starting from the newest notification")
            if not self._options.backfill:
                position = await retrying(
                    self._newest_position, backoff=self._options.backoff, label="bluesky"
                )
                yield None, dump_cursor(position)
        attempt = 0
        while True:
            try:
                async for mention, after in self._catch_up(position):
                    position = after
                    yield mention, dump_cursor(after)
                attempt = 0
            except AdapterConfigError:
                raise  # the app password was revoked: the app stops this source and says why
            except PatronDeskError as exc:
                await pause_after(exc, attempt, backoff=self._options.backoff, label="bluesky")
                attempt += 1
                continue
            await asyncio.sleep(self._options.poll_seconds)

    async def _catch_up(self, position: Position) -> AsyncIterator[tuple[Mention | None, Position]]:
        """Page newest-first until the last processed item, then yield what is new oldest-first."""
        fresh: list[Any] = []
        page_cursor: str | None = None
        for _ in range(self._options.max_pages):
            body = await self._list(page_cursor)
            met = _collect(body["notifications"], position, fresh)
            page_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if met or not page_cursor:  # pages may be short (even empty) while a cursor remains
                break
        else:
            log.warning(
                "bluesky: more than %d pages of new notifications; oldest skipped", self._options.max_pages
            )
        skipped: Position | None = None
        for item in reversed(fresh):
            after = position_of(item)
            if after is None:
                continue
            mention = self._parse(item)
            if mention is None:
                skipped = after
                continue
            skipped = None
            yield mention, after
        if skipped is not None:
            yield None, skipped

    def _parse(self, item: Any) -> Mention | None:
        try:
            return parse_notification(
                item, own_did=self.session.did, web_url=self._options.web_url, now=self._clock()
            )
        except ValueError as exc:
            uri = str(item.get("uri")) if isinstance(item, dict) else ""
            log.warning("bluesky: notification %s malformed (%s); skipped", rkey_of(uri), exc)
            return None

    async def _list(self, page_cursor: str | None) -> dict[str, Any]:
        params: list[tuple[str, str | int]] = [("limit", self._options.page_limit), ("priority", "false")]
        params += [("reasons", reason) for reason in REASONS]
        if page_cursor:
            params.append(("cursor", page_cursor))
        response = await self.session.call("GET", "app.bsky.notification.listNotifications", params=params)
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("notifications"), list):
            raise TransientError("listNotifications: unexpected body")
        return body

    async def _newest_position(self) -> Position:
        body = await self._list(None)
        for item in body["notifications"]:
            found = position_of(item)
            if found is not None:
                return found
        return Position()

    # --- replies -----------------------------------------------------------------------

    def reply_limit(self, to: Mention | None = None) -> int:
        """Graphemes allowed in a reply (Bluesky posts hold 300)."""
        return MAX_GRAPHEMES

    def validate_reply(self, to: Mention, text: str) -> None:
        """Raise ``PermanentError`` when ``text`` cannot be published as a reply to ``to``."""
        try:
            parse_reply_ref(to.reply_ref)
        except ValueError as exc:
            raise PermanentError("this mention has no Bluesky post to reply to") from exc
        body = text.strip()
        if not body:
            raise PermanentError("the reply is empty")
        length = grapheme.length(body)
        if length > MAX_GRAPHEMES:
            raise PermanentError(f"the reply is {length} characters; Bluesky allows {MAX_GRAPHEMES}")
        if len(body.encode("utf-8")) > MAX_BYTES:
            raise PermanentError(
                f"the reply is too long for Bluesky ({MAX_BYTES} bytes; emoji count several)"
            )

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Publish a threaded reply (root + parent strong refs, facets in UTF-8 byte offsets).

        The record key is derived from ``idempotency_key``: a retry finds the record it already
        created (the PDS refuses a second create) and returns it instead of posting twice.
        """
        self.validate_reply(to, text)
        session = await self.session.ensure()
        body_text = text.strip()
        spans = detect_spans(body_text)
        dids = {span.value: await self._resolve(span.value) for span in spans if span.kind == MENTION}
        facets = facet_records(spans, {handle: did for handle, did in dids.items() if did})
        record = reply_record(parse_reply_ref(to.reply_ref), body_text, facets, now=self._clock())
        rkey = tid_for(idempotency_key, anchor=to.created_at)
        request = {"repo": session.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            created = await self.session.call("POST", "com.atproto.repo.createRecord", json=request)
        except RateLimited:
            raise
        except (TransientError, PermanentError) as exc:
            uri = await self._existing(rkey)
            if uri is None:
                raise
            log.info(
                "bluesky: reply %s was already published (%s); not posting again", rkey, type(exc).__name__
            )
            return ReplyRef(uri, post_url(uri, session.handle, web_url=self._options.web_url))
        uri = text_field(created.body, "uri") if isinstance(created.body, dict) else ""
        log.info("bluesky: replied to post %s with post %s", rkey_of(to.external_id), rkey)
        uri = uri or f"at://{session.did}/{POST}/{rkey}"
        return ReplyRef(uri, post_url(uri, session.handle, web_url=self._options.web_url))

    async def _existing(self, rkey: str) -> str | None:
        """The URI of our post with this record key, or None when there is none."""
        did = self.session.did
        params = {"repo": did, "collection": POST, "rkey": rkey}
        try:
            found = await self.session.call("GET", "com.atproto.repo.getRecord", params=params)
        except PermanentError:
            return None
        uri = text_field(found.body, "uri") if isinstance(found.body, dict) else ""
        return uri or f"at://{did}/{POST}/{rkey}"

    async def _resolve(self, handle: str) -> str:
        """Handle -> DID (cached); an unknown handle gives ``""`` and the mention stays plain text."""
        if handle not in self._dids:
            try:
                found = await self.session.call(
                    "GET", "com.atproto.identity.resolveHandle", params={"handle": handle}
                )
            except PermanentError:
                return ""
            did = text_field(found.body, "did") if isinstance(found.body, dict) else ""
            if not did.startswith("did:"):
                return ""
            self._dids[handle] = did
        return self._dids[handle]


def _collect(page: list[Any], position: Position, fresh: list[Any]) -> bool:
    """Append the page's items newer than ``position``; True once ``position`` was met."""
    for item in page:
        if reached(item, position):
            return True
        fresh.append(item)
    return False


def build(settings: Settings, deps: AdapterDeps) -> BlueskySource | None:
    """The Bluesky source when ``BLUESKY_HANDLE`` and ``BLUESKY_APP_PASSWORD`` are set."""
    if not (settings.BLUESKY_HANDLE and settings.BLUESKY_APP_PASSWORD):
        return None
    options = BlueskyOptions(
        poll_seconds=float(settings.BLUESKY_POLL_SECONDS),
        backfill=bool(settings.BLUESKY_BACKFILL),
    )
    return BlueskySource(
        settings.BLUESKY_SERVICE, settings.BLUESKY_HANDLE, settings.BLUESKY_APP_PASSWORD, options=options
    )
