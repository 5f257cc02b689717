"""Facebook Page source: comments on the Page's posts and mentions of the Page; public and private replies."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.config import Settings
from bot.crashpoints import reconcile_enabled
from bot.errors import MalformedPayload, PermanentError
from bot.models import Mention, ReplyRef, Visibility
from bot.platforms.base import AdapterDeps
from bot.platforms.facebook.parse import (
    COMMENT_LIMIT,
    check_reply,
    parse_change,
    parse_comment,
    parse_tagged,
    private_recipient,
    reply_id,
    reply_target,
)
from bot.platforms.meta.fields import graph_time
from bot.platforms.meta.graph import GraphClient
from bot.platforms.meta.permissions import permissions_line
from bot.platforms.meta.poll import is_old, newest_first
from bot.platforms.meta.source import Event, GraphSource
from bot.platforms.meta.webhook import Change

log = logging.getLogger(__name__)

NEEDED = ("pages_read_engagement", "pages_manage_engagement", "pages_manage_metadata", "pages_messaging")
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},permalink_url"
TAGGED_FIELDS = "id,message,created_time,from{id,name},permalink_url"
PRIVATE = (Visibility.PRIVATE, Visibility.DIRECT)


class FacebookSource(GraphSource):
    """Comments on the Page's posts (webhooks and polling) and replies as the Page."""

    source = "facebook"
    object_kind = "page"
    webhook_path = "/webhooks/facebook"

    def __init__(self, client: GraphClient, page_id: str, *, token: str = "", **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.page_id = page_id
        self._token = token
        self.page_name = ""
        self._tried: set[str] = set()  # reply keys already sent once in this process
        self._tagged_on = True

    async def identify(self) -> str:
        """The Page's name and id (a refused token or an unknown Page is ``AdapterConfigError``)."""
        body = await self.client.get(self.page_id, fields="id,name", at_open=True)
        name = body.get("name") if isinstance(body, Mapping) else None
        self.page_name = name if isinstance(name, str) else ""
        return f"Page {self.page_name or '(no name)'} ({self.page_id})"

    async def check(self) -> str:
        """The Page, and any permission the token lacks."""
        line = await self.identify()
        return line + await permissions_line(self.client, self._token, NEEDED)

    # --- polling ---------------------------------------------------------------------

    async def poll_once(self, since: Any) -> list[Mention]:
        """Comments newer than ``since`` on the recent posts of the Page's feed (its own and visitors'),
        skipping posts not updated since then."""
        body = await self.client.get(
            f"{self.page_id}/feed", fields="id,updated_time", limit=self.options.recent
        )
        posts = body.get("data") if isinstance(body, Mapping) else None
        found: list[Mention] = []
        for post in posts if isinstance(posts, list) else []:
            if not isinstance(post, Mapping) or not isinstance(post.get("id"), str):
                continue
            updated = graph_time(post.get("updated_time"))
            if since is not None and updated.year > 1 and updated < since - self.options.overlap:
                continue  # no comment since the watermark
            found.extend(await self._comments(post["id"], since))
        return found + await self._tagged(since)

    async def _tagged(self, since: Any) -> list[Mention]:
        """Posts elsewhere that tag the Page (what the ``mention`` webhook brings, for polling)."""
        if not self._tagged_on:
            return []
        found = []
        try:
            async for item in newest_first(
                self.client,
                f"{self.page_id}/tagged",
                {"fields": TAGGED_FIELDS},
                stop=lambda item: is_old(item, since, "created_time"),
                page_limit=self.options.page_limit,
                max_pages=self.options.max_pages,
            ):
                if is_old(item, since, "created_time"):
                    continue
                try:
                    mention = parse_tagged(item, page_id=self.page_id, now=self.now())
                except MalformedPayload as exc:
                    log.warning("facebook: tagged post skipped (%s)", exc)
                    continue
                if mention is not None:
                    found.append(mention)
        except PermanentError as exc:  # no permission for tagged posts: comments still work
            log.warning("facebook: posts that tag the Page cannot be read (%s); comments only", exc)
            self._tagged_on = False
        return found

    async def _comments(self, post_id: str, since: Any) -> list[Mention]:
        params = {"filter": "stream", "order": "reverse_chronological", "fields": COMMENT_FIELDS}
        found = []
        async for item in newest_first(
            self.client,
            f"{post_id}/comments",
            params,
            stop=lambda item: is_old(item, since, "created_time"),
            page_limit=self.options.page_limit,
            max_pages=self.options.max_pages,
        ):
            if is_old(item, since, "created_time"):
                continue
            try:
                mention = parse_comment(item, post_id=post_id, page_id=self.page_id, now=self.now())
            except MalformedPayload as exc:
                log.warning("facebook: comment skipped (%s)", exc)
                continue
            if mention is not None:
                found.append(mention)
        return found

    # --- webhooks --------------------------------------------------------------------

    async def events(self, change: Change) -> list[Event]:
        """``feed`` and ``mention`` changes of the Page."""
        return [parse_change(change.value, field=change.field, page_id=self.page_id, now=self.now())]

    # --- replies ---------------------------------------------------------------------

    def reply_limit(self, to: Mention | None = None) -> int:
        """Characters of a Page comment."""
        return COMMENT_LIMIT

    def validate_reply(self, to: Mention, text: str) -> None:
        """``PermanentError`` when the reply is empty, too long or has nothing to answer."""
        reply_target(to.reply_ref)
        check_reply(text)

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """A comment in the patron's thread, or a private reply by Messenger when staff chose one."""
        if to.visibility in PRIVATE:
            return await self.publish(lambda: self._private(to, text, idempotency_key))
        return await self.publish(lambda: self._public(to, text, idempotency_key))

    async def _public(self, to: Mention, text: str, key: str) -> ReplyRef:
        target = reply_target(to.reply_ref)
        check_reply(text)
        # Graph has no idempotency key: before a retry look for the reply an earlier attempt may have
        # published. Under a top-level comment any Page reply with this text is ours for this mention
        # (so this holds across a crash too); inside a shared thread only a retry in this process looks.
        if reconcile_enabled() and (key in self._tried or target == to.external_id):
            earlier = await self._earlier_reply(target, text)
            if earlier is not None:
                return earlier
        self._tried.add(key)
        body = await self.client.post(f"{target}/comments", {"message": text})
        comment = reply_id(body)
        log.info("facebook: replied to comment %s with comment %s", to.external_id, comment)
        return ReplyRef(comment, to.url)

    async def _earlier_reply(self, target: str, text: str) -> ReplyRef | None:
        """A reply an earlier attempt published before its answer was lost (None when there is none,
        or when the comments cannot be read: then the reply is simply sent)."""
        try:
            body = await self.client.get(
                f"{target}/comments", fields="id,from{id},message", order="reverse_chronological", limit=50
            )
        except PermanentError:
            return None
        for item in body.get("data", []) if isinstance(body, Mapping) else []:
            who = item.get("from") if isinstance(item, Mapping) else None
            if isinstance(who, Mapping) and who.get("id") == self.page_id and item.get("message") == text:
                return ReplyRef(str(item.get("id")), None)
        return None

    async def _private(self, to: Mention, text: str, key: str) -> ReplyRef:
        recipient = private_recipient(to.reply_ref)
        check_reply(text, private=True)
        retried = key in self._tried
        self._tried.add(key)
        body = {"recipient": recipient, "message": {"text": text}, "messaging_type": "RESPONSE"}
        try:
            answer = await self.client.post(f"{self.page_id}/messages", body)
        except PermanentError:
            error = self.client.last_error
            if retried and error is not None and error.code == 10900:  # "already replied": ours landed
                return ReplyRef("private", None)
            raise
        message = reply_id(answer, "message_id")
        log.info("facebook: answered comment %s privately (message %s)", to.external_id, message)
        return ReplyRef(message, None)


def build(settings: Settings, deps: AdapterDeps) -> FacebookSource | None:
    """The Facebook source when ``FACEBOOK_PAGE_ID`` and ``FACEBOOK_PAGE_TOKEN`` are set."""
    from bot.platforms.meta.build import graph_client, graph_options, webhook_keys

    if not (settings.FACEBOOK_PAGE_ID and settings.FACEBOOK_PAGE_TOKEN):
        return None
    client = graph_client(
        settings,
        settings.FACEBOOK_PAGE_TOKEN,
        label="Facebook",
        fix="Make a new long-lived Page token (docs/meta.md), put it in FACEBOOK_PAGE_TOKEN and restart.",
        deps=deps,
    )
    return FacebookSource(
        client,
        settings.FACEBOOK_PAGE_ID,
        token=settings.FACEBOOK_PAGE_TOKEN,
        options=graph_options(settings),
        webhook=webhook_keys(settings, deps),
        ingest=deps.ingest,
        on_change=deps.on_change,
    )
