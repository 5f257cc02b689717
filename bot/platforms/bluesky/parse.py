"""Pure Bluesky payload handling: notifications to Mentions, strong refs, cursors, reply records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.sanitize import UNKNOWN_TIME, safe_mention, storable
from bot.errors import MalformedPayload
from bot.models import Mention, Visibility
from bot.net.wire import parse_time, text_field
from bot.platforms.bluesky.facets import expand_links, valid_facets

SOURCE = "bluesky"
POST = "app.bsky.feed.post"
REASONS = ("mention", "reply", "quote")
WEB_URL = "https://bsky.app"


@dataclass(frozen=True, slots=True)
class StrongRef:
    """``com.atproto.repo.strongRef``: a record URI and the CID of the exact version."""

    uri: str
    cid: str

    def as_dict(self) -> dict[str, str]:
        """The wire form."""
        return {"uri": self.uri, "cid": self.cid}


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """What a reply needs (stored in ``Mention.reply_ref``): parent and thread root."""

    parent: StrongRef
    root: StrongRef

    def dump(self) -> str:
        """Serialize for ``Mention.reply_ref``."""
        return json.dumps({"parent": self.parent.as_dict(), "root": self.root.as_dict()})


@dataclass(frozen=True, slots=True)
class Position:
    """The newest notification already handed over; both None means "everything is new"."""

    uri: str | None = None
    indexed_at: str | None = None


def parse_notification(
    data: Any, *, own_did: str = "", web_url: str = WEB_URL, now: datetime | None = None
) -> Mention | None:
    """Turn one ``app.bsky.notification.listNotifications#notification`` into a ``Mention``.

    Returns ``None`` for reasons other than mention/reply/quote, records that are not posts,
    and the account's own posts. Raises ``MalformedPayload`` (naming the field only) when
    malformed. An unusable ``createdAt`` becomes ``now``, marked on the card (``domain.sanitize``).
    """
    if not isinstance(data, Mapping):
        raise MalformedPayload("notification is not an object")
    if data.get("reason") not in REASONS:
        return None
    record, author = data.get("record"), data.get("author")
    if not isinstance(record, Mapping) or not isinstance(author, Mapping):
        raise MalformedPayload("record or author missing")
    if record.get("$type", POST) != POST:
        return None
    uri, cid, did = text_field(data, "uri"), text_field(data, "cid"), text_field(author, "did")
    if not (uri.startswith("at://") and cid and did):
        raise MalformedPayload("uri, cid or author.did missing")
    if own_did and did == own_did:
        return None
    created = parse_time(record.get("createdAt")) or parse_time(data.get("indexedAt")) or UNKNOWN_TIME
    text = storable(text_field(record, "text"))  # facets count UTF-8 bytes: no lone surrogates
    handle = text_field(author, "handle")
    langs = record.get("langs")
    mention = Mention(
        source=SOURCE,
        external_id=uri,
        text=expand_links(text, valid_facets(text, record.get("facets"))),
        created_at=created,
        url=post_url(uri, handle, web_url=web_url),
        author_id=did,
        author_handle=f"@{handle}" if handle and handle != "handle.invalid" else did,
        author_name=text_field(author, "displayName"),
        lang=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        visibility=Visibility.PUBLIC,
        content_warning=_labels(record, data),
        can_reply=True,
        reply_ref=_target(record, StrongRef(uri, cid)).dump(),
    )
    return safe_mention(mention, now=now)


def _target(record: Mapping[str, Any], post: StrongRef) -> ReplyTarget:
    """The patron's post is the parent; the root is its thread's root, or the post itself."""
    reply = record.get("reply")
    root = reply.get("root") if isinstance(reply, Mapping) else None
    if isinstance(root, Mapping) and text_field(root, "uri") and text_field(root, "cid"):
        return ReplyTarget(parent=post, root=StrongRef(text_field(root, "uri"), text_field(root, "cid")))
    return ReplyTarget(parent=post, root=post)


def _labels(record: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """Self-labels on the post and labeler labels on the notification, as a content warning."""
    values: list[str] = []
    self_labels = record.get("labels")
    listed = self_labels.get("values") if isinstance(self_labels, Mapping) else None
    if isinstance(listed, list):
        values += [text_field(v, "val") for v in listed if isinstance(v, Mapping)]
    outside = data.get("labels")
    if isinstance(outside, list):
        values += [text_field(v, "val") for v in outside if isinstance(v, Mapping)]
    shown = [v for v in dict.fromkeys(values) if v and not v.startswith("!")]
    return ", ".join(shown)


def split_at_uri(uri: str) -> tuple[str, str, str] | None:
    """``at://did/collection/rkey`` -> ``(did, collection, rkey)``."""
    parts = uri.removeprefix("at://").split("/")
    if not uri.startswith("at://") or len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def post_url(uri: str, handle: str = "", *, web_url: str = WEB_URL) -> str | None:
    """The web address of a post (``https://bsky.app/profile/<handle>/post/<rkey>``)."""
    parts = split_at_uri(uri)
    if parts is None or parts[1] != POST:
        return None
    who = handle if handle and handle != "handle.invalid" else parts[0]
    return f"{web_url.rstrip('/')}/profile/{who}/post/{parts[2]}"


def rkey_of(uri: str) -> str:
    """The record key of an at-URI (safe to log: no handle, no text)."""
    parts = split_at_uri(uri)
    return parts[2] if parts else "?"


def parse_reply_ref(reply_ref: str) -> ReplyTarget:
    """Read back ``Mention.reply_ref``; ``ValueError`` when it is not ours."""
    try:
        data = json.loads(reply_ref)
        parent = StrongRef(str(data["parent"]["uri"]), str(data["parent"]["cid"]))
        root = StrongRef(str(data["root"]["uri"]), str(data["root"]["cid"]))
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("not a Bluesky reply reference") from exc
    if not all((parent.uri, parent.cid, root.uri, root.cid)):
        raise ValueError("not a Bluesky reply reference")
    return ReplyTarget(parent=parent, root=root)


def reached(data: Any, position: Position) -> bool:
    """True once paging (newest first) meets the last processed notification or anything older."""
    if not isinstance(data, Mapping):
        return False
    if position.uri is not None and data.get("uri") == position.uri:
        return True
    mine, theirs = parse_time(data.get("indexedAt")), parse_time(position.indexed_at)
    return mine is not None and theirs is not None and mine < theirs


def position_of(data: Any) -> Position | None:
    """The cursor position just after this notification; None when it has no uri."""
    if not isinstance(data, Mapping) or not text_field(data, "uri"):
        return None
    return Position(text_field(data, "uri"), text_field(data, "indexedAt") or None)


def load_cursor(cursor: str | None) -> tuple[bool, Position]:
    """``(valid, position)`` from a stored cursor."""
    if cursor is None:
        return False, Position()
    try:
        data = json.loads(cursor)
    except ValueError:
        return False, Position()
    if not isinstance(data, dict) or "uri" not in data:
        return False, Position()
    uri, indexed = data.get("uri"), data.get("indexed_at")
    return True, Position(
        uri if isinstance(uri, str) else None, indexed if isinstance(indexed, str) else None
    )


def dump_cursor(position: Position) -> str:
    """The stored cursor."""
    return json.dumps({"uri": position.uri, "indexed_at": position.indexed_at})


def reply_record(
    target: ReplyTarget, text: str, facets: list[dict[str, Any]], *, now: datetime
) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` record answering ``target``."""
    now = now.astimezone(UTC)
    record: dict[str, Any] = {
        "$type": POST,
        "text": text,
        "createdAt": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "reply": {"root": target.root.as_dict(), "parent": target.parent.as_dict()},
    }
    if facets:
        record["facets"] = facets
    return record
