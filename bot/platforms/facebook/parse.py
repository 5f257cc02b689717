"""Pure Facebook payload handling: Page comments (REST and webhook) to Mentions, changes, reply targets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.sanitize import safe_mention
from bot.errors import MalformedPayload, PermanentError
from bot.models import Mention, MentionChange, Visibility
from bot.platforms.meta.fields import dump_ref, graph_id, graph_time, load_ref, person, text_of

SOURCE = "facebook"
COMMENT_LIMIT = 8000  # characters of a Page comment
PRIVATE_LIMIT = 2000  # characters of a Messenger message
NO_NAME = "(name not shared by Facebook)"
ACCOUNT_NOTE = (
    "Looks like an account question: answer it privately in Messenger by choosing "
    '"Private mention (direct)" in Reply.'
)
# Words patrons use when a question involves their library account: offered a private reply.
_ACCOUNT_WORDS = re.compile(
    r"\b(account|renew\w*|fines?|fees?|overdue|pin|password|log ?in|sign ?in|library card|my card|"
    r"card number|barcode|hold|holds|my loans?|checked out|borrowed|address|phone number|e-?mail)\b",
    re.IGNORECASE,
)
_EDIT_VERBS = frozenset({"edited", "edit"})
_WITHDRAW_VERBS = frozenset({"remove", "hide", "delete"})


def is_account_question(text: str) -> bool:
    """Whether a comment mentions something about the patron's account (renewals, fines, PIN, ...)."""
    return bool(_ACCOUNT_WORDS.search(text[:5000]))


def _post_url(post_id: str, comment_id: str = "") -> str:
    page, _, post = post_id.partition("_")
    base = f"https://www.facebook.com/{page}/posts/{post}" if post else f"https://www.facebook.com/{post_id}"
    return f"{base}?comment_id={comment_id.rpartition('_')[2]}" if comment_id else base


def _mention(
    *,
    external_id: str,
    text: str,
    created: object,
    author: tuple[str, str],
    url: str | None,
    target: str,
    private_key: str,
    now: datetime | None,
) -> Mention:
    author_id, name = author
    mention = Mention(
        source=SOURCE,
        external_id=external_id,
        text=text,
        created_at=graph_time(created),
        url=url,
        author_id=author_id,
        author_handle="",
        author_name=name or NO_NAME,
        visibility=Visibility.PUBLIC,
        can_reply=True,
        reply_ref=dump_ref(target=target, private={private_key: external_id}),
        note=ACCOUNT_NOTE if is_account_question(text) else "",
    )
    return safe_mention(mention, now=now)


def parse_comment(data: Any, *, post_id: str, page_id: str, now: datetime | None = None) -> Mention | None:
    """One comment of ``GET /{post-id}/comments`` (fields id, message, created_time, from, parent,
    permalink_url); None for the Page's own comments. ``MalformedPayload`` names a bad field."""
    if not isinstance(data, Mapping):
        raise MalformedPayload("comment is not an object")
    comment_id = graph_id(data, "id")
    author = person(data)
    if author[0] and author[0] == page_id:
        return None
    parent = data.get("parent")
    thread = graph_id(parent, "id", required=False) if isinstance(parent, Mapping) else ""
    permalink = text_of(data, "permalink_url")
    return _mention(
        external_id=comment_id,
        text=text_of(data, "message"),
        created=data.get("created_time"),
        author=author,
        url=permalink if permalink.startswith("https://") else _post_url(post_id, comment_id),
        target=thread or comment_id,  # Facebook threads one level deep: answer in the thread
        private_key="comment_id",
        now=now,
    )


def parse_tagged(data: Any, *, page_id: str, now: datetime | None = None) -> Mention | None:
    """A post of ``GET /{page-id}/tagged`` (someone else's post that tags the Page); None for the
    Page's own posts."""
    if not isinstance(data, Mapping):
        raise MalformedPayload("post is not an object")
    post_id = graph_id(data, "id")
    author = person(data)
    if author[0] and author[0] == page_id:
        return None
    permalink = text_of(data, "permalink_url")
    return _mention(
        external_id=post_id,
        text=text_of(data, "message"),
        created=data.get("created_time"),
        author=author,
        url=permalink if permalink.startswith("https://") else _post_url(post_id),
        target=post_id,
        private_key="post_id",
        now=now,
    )


def parse_change(
    value: Any, *, field: str, page_id: str, now: datetime | None = None
) -> Mention | MentionChange | None:
    """One ``feed`` or ``mention`` webhook change: a new mention, an edit, a withdrawal, or None
    (likes, reactions, shares, the Page's own comments and other items)."""
    if not isinstance(value, Mapping):
        raise MalformedPayload("value is not an object")
    item, verb = text_of(value, "item"), text_of(value, "verb")
    if field not in ("feed", "mention") or item not in ("comment", "post", "status"):
        return None
    post_id = graph_id(value, "post_id")
    external_id = graph_id(value, "comment_id") if item == "comment" else post_id
    author = person(value)
    if author[0] and author[0] == page_id and verb not in _WITHDRAW_VERBS:
        return None  # the Page's own comment (our replies come back this way)
    if verb in _EDIT_VERBS:
        return MentionChange(
            SOURCE, external_id, "edit", sender=author[0], text=text_of(value, "message"), author_only=True
        )
    if verb in _WITHDRAW_VERBS:
        return MentionChange(SOURCE, external_id, "withdraw", sender=author[0], author_only=True)
    if verb != "add":
        return None
    parent_id = graph_id(value, "parent_id", required=False)
    if item == "comment":
        thread = parent_id if parent_id and parent_id != post_id else external_id
        url = _post_url(post_id, external_id)
        key = "comment_id"
    else:
        thread, url, key = post_id, _post_url(post_id), "post_id"
    return _mention(
        external_id=external_id,
        text=text_of(value, "message"),
        created=value.get("created_time"),
        author=author,
        url=url,
        target=thread,
        private_key=key,
        now=now,
    )


def reply_target(reply_ref: str) -> str:
    """The object a public reply is posted under (``POST /{id}/comments``)."""
    try:
        return str(load_ref(reply_ref)["target"])
    except ValueError as exc:
        raise PermanentError("this mention has no Facebook comment to reply to") from exc


def private_recipient(reply_ref: str) -> dict[str, str]:
    """``{"comment_id": …}`` (or ``{"post_id": …}``) for a private reply by Messenger."""
    try:
        private = load_ref(reply_ref).get("private")
    except ValueError as exc:
        raise PermanentError("this mention has no Facebook comment to reply to") from exc
    if not isinstance(private, dict) or len(private) != 1:
        raise PermanentError("this mention cannot be answered privately")
    ((key, value),) = private.items()
    if key not in ("comment_id", "post_id") or not isinstance(value, str) or not value:
        raise PermanentError("this mention cannot be answered privately")
    return {key: value}


def check_reply(text: str, *, private: bool = False) -> None:
    """``PermanentError`` when ``text`` cannot be published (empty, or too long for where it goes)."""
    if not text.strip():
        raise PermanentError("the reply is empty")
    limit = PRIVATE_LIMIT if private else COMMENT_LIMIT
    if len(text) > limit:
        where = "a Messenger message" if private else "a Facebook comment"
        raise PermanentError(f"the reply is {len(text)} characters; {where} allows {limit}")


def reply_id(body: Any, key: str = "id") -> str:
    """The id in a create answer (``{"id": …}``; Messenger: ``{"message_id": …}``)."""
    value = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{key}: missing in the answer")
    return value
