"""Pure Instagram payload handling: comments and @mentions to Mentions, reply targets and limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.sanitize import safe_mention
from bot.errors import MalformedPayload, PermanentError
from bot.models import Mention, Visibility
from bot.platforms.meta.fields import dump_ref, graph_id, graph_time, load_ref, text_of

SOURCE = "instagram"
REPLY_LIMIT = 2200  # characters of an Instagram comment
NESTED_NOTE = "A reply to another comment: Instagram lets the account answer top-level comments only."
NESTED = (
    "Instagram lets the account answer top-level comments only, and this one replies to another "
    "comment: answer the comment it replies to, or answer in the Instagram app."
)


def _author(data: Mapping[str, Any]) -> tuple[str, str]:
    who = data.get("from")
    if isinstance(who, Mapping):
        return graph_id(who, "id", required=False), text_of(who, "username")
    return "", text_of(data, "username")


def is_own(data: Mapping[str, Any], *, account_id: str, username: str) -> bool:
    """Whether the account itself wrote this (our replies come back as comments)."""
    author_id, name = _author(data)
    return bool(author_id and author_id == account_id) or bool(username and name == username)


def _mention(
    *,
    external_id: str,
    text: str,
    created: object,
    author: tuple[str, str],
    url: str | None,
    ref: str,
    now: datetime | None,
    note: str = "",
) -> Mention:
    author_id, username = author
    mention = Mention(
        source=SOURCE,
        external_id=external_id,
        text=text,
        created_at=graph_time(created),
        url=url,
        author_id=author_id or (f"username:{username}" if username else ""),
        author_handle=f"@{username}" if username else "",
        author_name=username,
        visibility=Visibility.PUBLIC,
        can_reply=True,
        reply_ref=ref,
        note=note,
    )
    return safe_mention(mention, now=now)


def parse_comment(
    data: Any,
    *,
    account_id: str,
    username: str = "",
    media_id: str = "",
    media_url: str | None = None,
    fallback_time: object = None,
    now: datetime | None = None,
) -> Mention | None:
    """A comment on the account's media (``GET /{media-id}/comments`` item or a ``comments`` webhook
    value); None for the account's own comments. A reply to a comment is kept but marked nested."""
    if not isinstance(data, Mapping):
        raise MalformedPayload("comment is not an object")
    comment_id = graph_id(data, "id")
    if is_own(data, account_id=account_id, username=username):
        return None
    media = data.get("media")
    if isinstance(media, Mapping):
        media_id = graph_id(media, "id", required=False) or media_id
    parent = graph_id(data, "parent_id", required=False)
    created = data.get("timestamp") if data.get("timestamp") is not None else fallback_time
    return _mention(
        external_id=comment_id,
        text=text_of(data, "text"),
        created=created,
        author=_author(data),
        url=media_url,
        ref=dump_ref(target=comment_id, kind="comment", media_id=media_id, nested=bool(parent)),
        now=now,
        note=NESTED_NOTE if parent else "",
    )


def flatten(comment: Any) -> list[Any]:
    """A top-level comment followed by its ``replies.data`` (each given the parent's id)."""
    if not isinstance(comment, Mapping):
        return [comment]
    replies = comment.get("replies")
    data = replies.get("data") if isinstance(replies, Mapping) else None
    parent = comment.get("id")
    nested = (
        [{**r, "parent_id": parent} for r in data if isinstance(r, Mapping)] if isinstance(data, list) else []
    )
    return [comment, *nested]


def parse_mentioned_comment(
    body: Any, *, comment_id: str, media_id: str, now: datetime | None = None
) -> Mention:
    """``GET /{ig-user-id}?fields=mentioned_comment.comment_id(…){…}``: a comment elsewhere naming us."""
    found = body.get("mentioned_comment") if isinstance(body, Mapping) else None
    if not isinstance(found, Mapping):
        raise MalformedPayload("mentioned_comment: missing")
    return _mention(
        external_id=graph_id(found, "id", required=False) or comment_id,
        text=text_of(found, "text"),
        created=found.get("timestamp"),
        author=_author(found),
        url=None,
        ref=dump_ref(target=comment_id, kind="mention", media_id=media_id, comment_id=comment_id),
        now=now,
    )


def parse_mentioned_media(body: Any, *, media_id: str, now: datetime | None = None) -> Mention:
    """``GET /{ig-user-id}?fields=mentioned_media.media_id(…){…}``: a caption elsewhere naming us."""
    found = body.get("mentioned_media") if isinstance(body, Mapping) else None
    if not isinstance(found, Mapping):
        raise MalformedPayload("mentioned_media: missing")
    permalink = text_of(found, "permalink")
    return _mention(
        external_id=graph_id(found, "id", required=False) or media_id,
        text=text_of(found, "caption"),
        created=found.get("timestamp"),
        author=_author(found),
        url=permalink if permalink.startswith("https://") else None,
        ref=dump_ref(target=media_id, kind="mention", media_id=media_id),
        now=now,
    )


def reply_plan(reply_ref: str, text: str) -> tuple[str, dict[str, str]]:
    """``(edge, body)`` of the reply: ``{comment}/replies`` for a top-level comment on our media,
    ``mentions`` (on the account) for a mention; ``PermanentError`` for a nested comment."""
    try:
        ref = load_ref(reply_ref)
    except ValueError as exc:
        raise PermanentError("this mention has no Instagram comment to reply to") from exc
    if not text.strip():
        raise PermanentError("the reply is empty")
    if len(text) > REPLY_LIMIT:
        raise PermanentError(f"the reply is {len(text)} characters; Instagram allows {REPLY_LIMIT}")
    if ref.get("nested"):
        raise PermanentError(NESTED)
    if ref.get("kind") == "mention":
        body = {"media_id": str(ref.get("media_id") or ref["target"]), "message": text}
        if ref.get("comment_id"):
            body["comment_id"] = str(ref["comment_id"])
        return "mentions", body
    return f"{ref['target']}/replies", {"message": text}
