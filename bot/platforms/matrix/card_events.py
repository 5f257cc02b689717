"""Pure Matrix event contents: a new card, its edits, staff notices and summary cards, with hidden markers."""

from __future__ import annotations

import html
from typing import Any

from bot.core.cards import fold_text
from bot.domain.labels import status_label
from bot.platforms.matrix.cards import card_html, card_text
from bot.platforms.matrix.escaping import TEXT_LIMIT, clean, is_user_id
from bot.views import FoldView, TicketView

MENTION_KEY = "org.patrondesk.mention_id"  # hidden marker: which mention a card (or notice) belongs to
DEDUPE_KEY = "org.patrondesk.dedupe_key"  # hidden marker: the outbox key that posted the card
HISTORY_KEY = "org.patrondesk.history"  # hidden marker: a line of the card's history (not an answer)
CHECKIN_KEY = "org.patrondesk.checkin"  # hidden marker: which shift check-in a question asks
HTML_FORMAT = "org.matrix.custom.html"


def _pings(view: TicketView) -> list[str]:
    """Matrix ids of the people on duty (trusted: they come from the staff table, not the patron)."""
    return sorted(
        {ref.user_id for ref in view.on_duty_refs if ref.desk == "matrix" and is_user_id(ref.user_id)}
    )


def card_content(view: TicketView, *, dedupe_key: str, ping_on_duty: bool = True) -> dict[str, Any]:
    """The content of a new card event: nobody pinged but (optionally) the staff on duty."""
    content = {
        "msgtype": "m.text",
        "body": card_text(view),
        "format": HTML_FORMAT,
        "formatted_body": card_html(view),
        "m.mentions": {"user_ids": _pings(view)} if ping_on_duty and _pings(view) else {},
        MENTION_KEY: view.mention_id,
        DEDUPE_KEY: dedupe_key,
    }
    return content


def edit_content(view: TicketView, *, card_event_id: str) -> dict[str, Any]:
    """An ``m.replace`` edit of a card; edits ping nobody (``m.mentions: {}``)."""
    new = {
        "msgtype": "m.text",
        "body": card_text(view),
        "format": HTML_FORMAT,
        "formatted_body": card_html(view),
        "m.mentions": {},
        MENTION_KEY: view.mention_id,
    }
    return {
        "msgtype": "m.text",
        "body": f"* card #{view.mention_id} updated: {status_label(view.status)}",
        "m.new_content": new,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": card_event_id},
        MENTION_KEY: view.mention_id,
    }


def notice_content(
    text: str,
    *,
    thread_root: str | None = None,
    reply_to: str | None = None,
    ping: str | None = None,
    mention_id: int | None = None,
) -> dict[str, Any]:
    """A short ``m.notice`` for staff: in a card's thread, or as a reply; pings ``ping`` only."""
    target = ping if ping and is_user_id(ping) else None
    body = clean(text, TEXT_LIMIT)
    formatted = html.escape(body).replace("\n", "<br>")
    if target:
        link = f"https://matrix.to/#/{target}"
        formatted = f'<a href="{html.escape(link, quote=True)}">{html.escape(target)}</a>: {formatted}'
        body = f"{target}: {body}"
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": body,
        "format": HTML_FORMAT,
        "formatted_body": formatted,
        "m.mentions": {"user_ids": [target]} if target else {},
    }
    if thread_root:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    if mention_id is not None:
        content[MENTION_KEY] = mention_id
    return content


def fold_content(view: FoldView, *, dedupe_key: str) -> dict[str, Any]:
    """A summary card for a burst of read-only items; its actions are ``!desk fold N ...`` commands."""
    body = fold_text(view, prefix="!")
    return {
        "msgtype": "m.text",
        "body": body,
        "format": HTML_FORMAT,
        "formatted_body": html.escape(body).replace("\n", "<br>"),
        "m.mentions": {},
        DEDUPE_KEY: dedupe_key,
    }


def fold_edit_content(view: FoldView, *, card_event_id: str) -> dict[str, Any]:
    """An ``m.replace`` edit of a summary card with new counts (pings nobody)."""
    body = fold_text(view, prefix="!")
    new = {
        "msgtype": "m.text",
        "body": body,
        "format": HTML_FORMAT,
        "formatted_body": html.escape(body).replace("\n", "<br>"),
        "m.mentions": {},
    }
    return {
        "msgtype": "m.text",
        "body": f"* summary card {view.fold_id} updated: {view.total} items",
        "m.new_content": new,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": card_event_id},
    }
