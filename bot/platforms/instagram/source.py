"""Instagram source: comments on the account's media, @mentions, and replies to top-level comments."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.config import Settings
from bot.errors import MalformedPayload
from bot.models import Mention, ReplyRef
from bot.platforms.base import AdapterDeps
from bot.platforms.instagram.parse import (
    REPLY_LIMIT,
    flatten,
    parse_comment,
    parse_mentioned_comment,
    parse_mentioned_media,
    reply_plan,
)
from bot.platforms.meta.fields import graph_id
from bot.platforms.meta.graph import GraphClient
from bot.platforms.meta.permissions import permissions_line
from bot.platforms.meta.poll import is_old, newest_first
from bot.platforms.meta.source import Event, GraphSource
from bot.platforms.meta.webhook import Change

log = logging.getLogger(__name__)

NEEDED = ("instagram_basic", "instagram_manage_comments", "pages_read_engagement")
COMMENT = "id,text,timestamp,username,from{id,username}"
COMMENT_FIELDS = f"{COMMENT},replies{{{COMMENT}}}"


class InstagramSource(GraphSource):
    """Comments on the professional account's media (webhooks and polling), @mentions (webhooks)."""

    source = "instagram"
    object_kind = "instagram"
    webhook_path = "/webhooks/instagram"

    def __init__(self, client: GraphClient, account_id: str, *, token: str = "", **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.account_id = account_id
        self._token = token
        self.username = ""

    async def identify(self) -> str:
        """The account's username and id (a refused token or an unknown account is ``AdapterConfigError``)."""
        body = await self.client.get(self.account_id, fields="id,username", at_open=True)
        name = body.get("username") if isinstance(body, Mapping) else None
        self.username = name if isinstance(name, str) else ""
        return f"account @{self.username or '(no username)'} ({self.account_id})"

    async def check(self) -> str:
        """The account, and any permission the token lacks."""
        return await self.identify() + await permissions_line(self.client, self._token, NEEDED)

    # --- polling ---------------------------------------------------------------------

    async def poll_once(self, since: Any) -> list[Mention]:
        """Comments (and their replies) newer than ``since`` on the account's recent media."""
        body = await self.client.get(
            f"{self.account_id}/media", fields="id,timestamp,permalink", limit=self.options.recent
        )
        media = body.get("data") if isinstance(body, Mapping) else None
        found: list[Mention] = []
        for item in media if isinstance(media, list) else []:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            link = item.get("permalink")
            url = link if isinstance(link, str) and link.startswith("https://") else None
            found.extend(await self._comments(item["id"], url, since))
        return found

    async def _comments(self, media_id: str, url: str | None, since: Any) -> list[Mention]:
        found = []
        async for top in newest_first(
            self.client,
            f"{media_id}/comments",
            {"fields": COMMENT_FIELDS},
            stop=lambda item: is_old(item, since, "timestamp"),
            page_limit=self.options.page_limit,
            max_pages=self.options.max_pages,
        ):
            for item in flatten(top):
                if is_old(item, since, "timestamp"):
                    continue
                try:
                    mention = parse_comment(
                        item,
                        account_id=self.account_id,
                        username=self.username,
                        media_id=media_id,
                        media_url=url,
                        now=self.now(),
                    )
                except MalformedPayload as exc:
                    log.warning("instagram: comment skipped (%s)", exc)
                    continue
                if mention is not None:
                    found.append(mention)
        return found

    # --- webhooks --------------------------------------------------------------------

    async def events(self, change: Change) -> list[Event]:
        """``comments`` (and ``live_comments``) on our media; ``mentions`` looked up first."""
        if change.field in ("comments", "live_comments"):
            return [
                parse_comment(
                    change.value,
                    account_id=self.account_id,
                    username=self.username,
                    fallback_time=change.time,
                    now=self.now(),
                )
            ]
        if change.field == "mentions":
            return [await self._mentioned(change.value)]
        return []

    async def _mentioned(self, value: Mapping[str, Any]) -> Mention:
        """The comment or caption that mentions the account (the webhook carries only ids)."""
        media_id = graph_id(value, "media_id")
        comment_id = graph_id(value, "comment_id", required=False)
        if comment_id:
            fields = f"mentioned_comment.comment_id({comment_id}){{id,text,timestamp,username,like_count}}"
            body = await self.client.get(self.account_id, fields=fields)
            return parse_mentioned_comment(body, comment_id=comment_id, media_id=media_id, now=self.now())
        fields = f"mentioned_media.media_id({media_id}){{id,caption,timestamp,username,permalink,media_type}}"
        body = await self.client.get(self.account_id, fields=fields)
        return parse_mentioned_media(body, media_id=media_id, now=self.now())

    # --- replies ---------------------------------------------------------------------

    def reply_limit(self, to: Mention | None = None) -> int:
        """Characters of an Instagram comment."""
        return REPLY_LIMIT

    def validate_reply(self, to: Mention, text: str) -> None:
        """``PermanentError`` for a nested comment (Instagram answers top-level ones only), an empty
        or over-long reply, or a mention with nothing to answer."""
        reply_plan(to.reply_ref, text)

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """``POST /{comment-id}/replies``, or ``POST /{account}/mentions`` for a mention elsewhere."""
        edge, body = reply_plan(to.reply_ref, text)
        path = f"{self.account_id}/mentions" if edge == "mentions" else edge
        answer = await self.publish(lambda: self.client.post(path, body))
        new = answer.get("id") if isinstance(answer, Mapping) else None
        if not isinstance(new, str) or not new:
            raise MalformedPayload("id: missing in the answer")
        log.info("instagram: replied to comment %s with comment %s", to.external_id, new)
        return ReplyRef(new, to.url)


def build(settings: Settings, deps: AdapterDeps) -> InstagramSource | None:
    """The Instagram source when ``INSTAGRAM_ACCOUNT_ID`` and a token (its own or the Page's) are set."""
    from bot.platforms.meta.build import graph_client, graph_options, webhook_keys

    token = settings.INSTAGRAM_TOKEN or settings.FACEBOOK_PAGE_TOKEN
    if not (settings.INSTAGRAM_ACCOUNT_ID and token):
        return None
    setting = "INSTAGRAM_TOKEN" if settings.INSTAGRAM_TOKEN else "FACEBOOK_PAGE_TOKEN"
    client = graph_client(
        settings,
        token,
        label="Instagram",
        fix=f"Make a new long-lived Page token (docs/meta.md), put it in {setting} and restart.",
        deps=deps,
    )
    return InstagramSource(
        client,
        settings.INSTAGRAM_ACCOUNT_ID,
        token=token,
        options=graph_options(settings),
        webhook=webhook_keys(settings, deps),
        ingest=deps.ingest,
        on_change=deps.on_change,
    )
