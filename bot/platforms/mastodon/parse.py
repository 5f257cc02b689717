"""Pure Mastodon payload handling: notifications to Mentions, Link headers, limits, reply bodies."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grapheme

from bot.domain.html_text import html_to_text
from bot.domain.sanitize import UNKNOWN_TIME, safe_id, safe_mention
from bot.errors import MalformedPayload, PermanentError
from bot.models import Mention, Visibility
from bot.net.http_json import reset_in
from bot.net.wire import parse_time, text_field

log = logging.getLogger(__name__)

SOURCE = "mastodon"
DEFAULT_MAX_CHARACTERS = 500
URL_WEIGHT = 23  # Mastodon counts every link as 23 characters
_VISIBILITY = {v.value: v for v in Visibility}
_LINK_PART = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')
_URL = re.compile(r"https?://\S+")
_REMOTE_MENTION = re.compile(r"(@[\w.-]+)@[\w.-]+\w", re.UNICODE)


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """What a reply needs from the patron's status (stored in ``Mention.reply_ref``)."""

    status_id: str
    acct: str
    visibility: Visibility
    spoiler_text: str = ""

    def dump(self) -> str:
        """Serialize for ``Mention.reply_ref``."""
        return json.dumps(
            {
                "status_id": self.status_id,
                "acct": self.acct,
                "visibility": self.visibility.value,
                "spoiler_text": self.spoiler_text,
            }
        )


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """The instance configuration the adapter needs."""

    max_characters: int = DEFAULT_MAX_CHARACTERS
    streaming_url: str | None = None


def parse_notification(data: Any, *, local_domain: str = "", now: datetime | None = None) -> Mention | None:
    """Turn one ``Notification`` into a ``Mention``.

    Returns ``None`` for notifications that carry nothing to answer: another type, or a
    ``status`` of ``null`` (the post was deleted). Raises ``MalformedPayload`` for a malformed
    payload; the message names the field, never its content.

    Args:
        data: the decoded notification.
        local_domain: the instance's host, appended to local accounts' handles.
        now: the receive time; an unusable ``created_at`` becomes it (see ``domain.sanitize``).
    """
    if not isinstance(data, Mapping):
        raise MalformedPayload("notification is not an object")
    if data.get("type") != "mention":
        return None
    status = data.get("status")
    if status is None:
        return None
    if not isinstance(status, Mapping):
        raise MalformedPayload("status is not an object")
    return parse_status(status, fallback_account=data.get("account"), local_domain=local_domain, now=now)


def parse_status(
    status: Mapping[str, Any],
    *,
    fallback_account: Any = None,
    local_domain: str = "",
    now: datetime | None = None,
) -> Mention:
    """Turn a ``Status`` (from a notification or a ``status.update`` event) into a ``Mention``."""
    status_id = status.get("id")
    if not isinstance(status_id, str | int) or isinstance(status_id, bool) or not str(status_id):
        raise MalformedPayload("status.id missing")
    account = status.get("account")
    if not isinstance(account, Mapping):
        account = fallback_account
    if not isinstance(account, Mapping) or not text_field(account, "acct"):
        raise MalformedPayload("status.account.acct missing")
    created = parse_time(status.get("created_at")) or UNKNOWN_TIME  # still a post: carded, time marked
    acct = text_field(account, "acct")
    visibility = _VISIBILITY.get(text_field(status, "visibility"), Visibility.PUBLIC)
    spoiler = text_field(status, "spoiler_text")
    target = ReplyTarget(str(status_id), acct, visibility, spoiler)
    handle = f"@{acct}" if "@" in acct or not local_domain else f"@{acct}@{local_domain}"
    mention = Mention(
        source=SOURCE,
        external_id=str(status_id),
        text=html_to_text(text_field(status, "content")),
        created_at=created,
        url=text_field(status, "url") or text_field(status, "uri") or None,
        author_id=str(account.get("id") or ""),
        author_handle=handle,
        author_name=text_field(account, "display_name") or text_field(account, "username"),
        lang=text_field(status, "language") or None,
        visibility=visibility,
        content_warning=spoiler,
        can_reply=True,
        reply_ref=target.dump(),
    )
    return safe_mention(mention, now=now)


def notification_id(data: Any) -> str | None:
    """A notification's id as the opaque string it is (never compared as a number).

    An id that is not already a safe one-line id (a surrogate, a control, over-long) is no id: it
    would reach the cursor, the next request's ``min_id`` and the log.
    """
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if text and safe_id(text) == text else None


def notification_items(
    notifications: Iterable[Any], *, local_domain: str = "", now: datetime | None = None
) -> Iterator[tuple[Mention | None, str]]:
    """Oldest-first notifications as ``(mention, notification id)``.

    Deleted, other-type and malformed notifications are skipped (logged by id); a run of them
    at the end still advances the cursor once, as ``(None, id)``.
    """
    skipped: str | None = None
    for data in notifications:
        nid = notification_id(data)
        if not nid:
            log.warning("mastodon: notification without an id skipped")
            continue
        try:
            mention = parse_notification(data, local_domain=local_domain, now=now)
        except ValueError as exc:
            log.warning("mastodon: notification %s malformed (%s); skipped", nid, exc)
            mention = None
        if mention is None:
            skipped = nid
            continue
        skipped = None
        yield mention, nid
    if skipped is not None:
        yield None, skipped


def parse_reply_ref(reply_ref: str) -> ReplyTarget:
    """Read back ``Mention.reply_ref``; ``ValueError`` when it is not ours."""
    try:
        data = json.loads(reply_ref)
        status_id, acct = str(data["status_id"]), str(data["acct"])
        visibility = _VISIBILITY[data.get("visibility", "public")]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("not a Mastodon reply reference") from exc
    if not status_id or not acct:
        raise ValueError("not a Mastodon reply reference")
    return ReplyTarget(status_id, acct, visibility, str(data.get("spoiler_text") or ""))


def parse_link_header(value: str | None) -> dict[str, str]:
    """``Link: <url>; rel="next", <url>; rel="prev"`` -> ``{"next": url, "prev": url}``."""
    links: dict[str, str] = {}
    for url, rels in _LINK_PART.findall(value or ""):
        for rel in rels.split():
            links.setdefault(rel, url)
    return links


def query_param(url: str, name: str) -> str | None:
    """One query parameter of a URL (e.g. ``min_id`` of a ``rel="prev"`` link)."""
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def rate_limit_pause(headers: Mapping[str, str], *, now: datetime) -> float:
    """Seconds to wait before the next request, from ``X-RateLimit-*`` headers.

    Nothing while more than a tenth of the budget is left; below that, the time to the reset
    is spread over the remaining requests, so the budget runs out at the reset, not before.
    """
    try:
        limit = int(headers.get("x-ratelimit-limit", ""))
        remaining = int(headers.get("x-ratelimit-remaining", ""))
    except ValueError:
        return 0.0
    if limit <= 0 or remaining * 10 > limit:
        return 0.0
    until_reset = reset_in(headers.get("x-ratelimit-reset"), now=now)
    if until_reset is None:
        return 0.0
    return until_reset / (max(remaining, 0) + 1)


def parse_instance(data: Any) -> InstanceInfo:
    """``GET /api/v2/instance`` (or v1) -> character limit and streaming base URL."""
    if not isinstance(data, Mapping):
        return InstanceInfo()
    config = data.get("configuration")
    config = config if isinstance(config, Mapping) else {}
    statuses = config.get("statuses")
    limit = statuses.get("max_characters") if isinstance(statuses, Mapping) else None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        fork_limit = data.get("max_toot_chars")  # Pleroma/Glitch forks
        limit = fork_limit if isinstance(fork_limit, int) and fork_limit > 0 else DEFAULT_MAX_CHARACTERS
    urls = config.get("urls") if isinstance(config.get("urls"), Mapping) else data.get("urls")
    streaming = urls.get("streaming") or urls.get("streaming_api") if isinstance(urls, Mapping) else None
    return InstanceInfo(max_characters=limit, streaming_url=streaming if isinstance(streaming, str) else None)


def status_length(text: str, spoiler_text: str = "") -> int:
    """Characters as Mastodon counts them: graphemes, links as 23, remote mentions without domain."""
    countable = _URL.sub("x" * URL_WEIGHT, text)
    countable = _REMOTE_MENTION.sub(r"\1", countable)
    return grapheme.length(countable) + grapheme.length(spoiler_text)


def reply_text(target: ReplyTarget, text: str) -> str:
    """Prefix ``@acct`` unless the staff member already started with it."""
    body = text.strip()
    handle = f"@{target.acct}"
    first = body.split(maxsplit=1)[0] if body else ""
    if first.lower().rstrip(",:") == handle.lower():
        return body
    return f"{handle} {body}"


def room_for_text(reply_ref: str, max_characters: int) -> int:
    """Characters left for staff text once the ``@acct`` prefix and content warning are counted."""
    try:
        target = parse_reply_ref(reply_ref)
    except ValueError:
        return max_characters
    return max_characters - status_length(reply_text(target, "x"), target.spoiler_text) + 1


def checked_target(reply_ref: str, text: str, max_characters: int) -> ReplyTarget:
    """The status to answer, once ``text`` is known to fit; ``PermanentError`` says why not."""
    try:
        target = parse_reply_ref(reply_ref)
    except ValueError as exc:
        raise PermanentError("this mention has no Mastodon status to reply to") from exc
    if not text.strip():
        raise PermanentError("the reply is empty")
    length = status_length(reply_text(target, text), target.spoiler_text)
    if length > max_characters:
        raise PermanentError(f"the reply is {length} characters; this instance allows {max_characters}")
    return target


def reply_body(target: ReplyTarget, text: str) -> dict[str, str]:
    """The JSON body of ``POST /api/v1/statuses`` answering ``target``."""
    return {
        "status": reply_text(target, text),
        "in_reply_to_id": target.status_id,
        "visibility": target.visibility.value,
        "spoiler_text": target.spoiler_text,
    }


def load_cursor(cursor: str | None) -> tuple[bool, str | None]:
    """``(valid, min_id)`` from a stored cursor; ``min_id`` None means "everything is new"."""
    if cursor is None:
        return False, None
    try:
        data = json.loads(cursor)
    except ValueError:
        return False, None
    if not isinstance(data, dict) or "min_id" not in data:
        return False, None
    min_id = data["min_id"]
    return True, (str(min_id) if min_id not in (None, "") else None)


def dump_cursor(min_id: str | None) -> str:
    """The stored cursor: the newest notification id already handed over (opaque string)."""
    return json.dumps({"min_id": min_id})
