"""Pure Matrix card rendering: HTML (org.matrix.custom.html) and plain text, patron text made harmless."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import grapheme

from bot.core.cards import fold_text, privacy_hint, snooze_words
from bot.domain.labels import status_label
from bot.domain.transitions import Action, available_actions
from bot.models import FoldView, Status, TicketView, Visibility
from bot.rota.timespec import staff_time

MENTION_KEY = "org.patrondesk.mention_id"  # hidden marker: which mention a card (or notice) belongs to
DEDUPE_KEY = "org.patrondesk.dedupe_key"  # hidden marker: the outbox key that posted the card
HISTORY_KEY = "org.patrondesk.history"  # hidden marker: a line of the card's history (not an answer)
CHECKIN_KEY = "org.patrondesk.checkin"  # hidden marker: which shift check-in a question asks
HTML_FORMAT = "org.matrix.custom.html"

TEXT_LIMIT = 1_500  # code points of patron text on a card; the link leads to the full post
REPLY_LIMIT = 800  # the staff reply as shown on the card
NOTE_LIMIT = 300
SHORT_LIMIT = 200  # names, handles, rule and role labels
URL_LIMIT = 1_000

_WORD_JOINER = "\u2060"
_FSI, _PDI = "\u2068", "\u2069"
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MXID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")

# what each action is on Matrix: a reaction on the card, and/or a command in its thread
REACTIONS: dict[Action, str] = {
    Action.CLAIM: "✋ claim",
    Action.RESOLVE: "✅ resolve",
    Action.IGNORE: "🙈 ignore",
    Action.RELEASE: "↩️ release",
}
COMMANDS: dict[Action, str] = {
    Action.REPLY: "!reply <text>",
    Action.CLAIM: "!claim",
    Action.RESOLVE: "!resolve",
    Action.REASSIGN: "!reassign <role>",
    Action.SNOOZE: "!snooze <2h|tomorrow 09:00|patron>",
    Action.WAKE: "!wake",
    Action.APPROVE: "!approve [edited text]",
    Action.REJECT: "!reject <reason>",
}
NOTE_HINT = "!note <text>, !tag <tag>"  # any open card (see docs/desk-work.md)
READ_ONLY = "read-only source: open the link to answer"


def help_line(view: TicketView) -> str:
    """The hint under a card: the reactions and thread commands its status allows."""
    actions = available_actions(view.status, view.can_reply)
    parts = []
    reacts = [REACTIONS[a] for a in actions if a in REACTIONS]
    if reacts:
        parts.append("React " + " · ".join(reacts) + ".")
    commands = [COMMANDS[a] for a in actions if a in COMMANDS]
    if commands:
        commands.append(NOTE_HINT)
        parts.append("In this thread: " + ", ".join(commands))
    if Action.OPEN_LINK in actions:
        parts.append(f"({READ_ONLY})")
    return " ".join(parts)


def cut(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` code points plus an ellipsis, never splitting a grapheme."""
    if len(text) <= limit:
        return text
    return text[: grapheme.safe_split_index(text, limit)] + "…"


def clean(text: str, limit: int = TEXT_LIMIT) -> str:
    """Make untrusted text inert: no bidi overrides, no control characters, no pings, bounded size.

    Every ``@`` gets a word joiner after it, so ``@room``, ``@alice:example.org`` and
    ``matrix.to/#/@alice`` links can neither ping nor become pills.
    """
    text = _BIDI_CONTROLS.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return cut(text, limit).replace("@", "@" + _WORD_JOINER)


def _isolated(text: str) -> str:
    """Wrap patron text in a bidi isolate so right-to-left text cannot reorder the card around it."""
    return f"{_FSI}{text}{_PDI}" if text else text


def _esc(text: str, limit: int = SHORT_LIMIT) -> str:
    """Cleaned, isolated and HTML-escaped untrusted text (newlines become <br>)."""
    return html.escape(_isolated(clean(text, limit)), quote=False).replace("\n", "<br>")


def _plain(text: str, limit: int = SHORT_LIMIT) -> str:
    return _isolated(clean(text, limit))


def _line(text: str, limit: int = SHORT_LIMIT) -> str:
    """Like ``_plain`` but on one line: a newline in a name must not print a fake card line."""
    return _isolated(" ".join(clean(text, limit).split()))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that is safe to link (not a matrix.to user link, which would render as a pill)."""
    if not url or len(url) > URL_LIMIT:
        return None
    url = url.strip()
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in url):
        return None  # a newline or U+202E would print fake lines or reorder the plain-text body
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if parts.netloc.lower() == "matrix.to" and parts.fragment.lower().startswith(("/@", "/%40")):
        return None
    return url


def is_user_id(value: str) -> bool:
    """Whether ``value`` looks like a Matrix user id (safe to put in a pill and in m.mentions)."""
    return bool(_MXID.match(value))


def _when(value: datetime | None) -> str:
    return staff_time(value) if value else ""


def _status_line(view: TicketView) -> str:
    label = status_label(view.status)
    if view.status is Status.QUEUED and view.queued_until:
        label += f" until {_when(view.queued_until)}"
    if view.assignee and view.status in (Status.CLAIMED, Status.REPLIED, Status.RESOLVED, Status.SNOOZED):
        label += f" by {_line(view.assignee)}"
    if view.status is Status.SNOOZED:
        label += f" · {snooze_words(view)}"
    if view.status is Status.APPROVAL and view.replied_by:
        label += f": reply by {_line(view.replied_by)} held"
    return label


def _people(view: TicketView, shown: int = 10) -> str:
    names = ", ".join(_line(name) for name in view.on_duty[:shown]) or "nobody"
    more = len(view.on_duty) - shown
    return names + (f" and {more} more" if more > 0 else "")


def card_text(view: TicketView) -> str:
    """The plain-text body of a card (what notifications and plain clients show)."""
    who = _line(view.author_name or view.author_handle)
    if view.author_name and view.author_handle:
        who += f" ({_line(view.author_handle)})"
    lines = [f"#{view.mention_id} · {_line(view.source)} · {_status_line(view)}", f"From {who or 'unknown'}"]
    if view.visibility is Visibility.DIRECT:
        lines.append("🔒 private message")
    if view.content_warning:
        lines.append(f"CW: {_line(view.content_warning)}")
    if view.private:
        lines.append(privacy_hint(view))
    lines.append(_plain(view.text, TEXT_LIMIT))
    link = safe_url(view.url)
    if link:
        lines.append(f"Link: {link}")
    at = f" at {_line(view.branch)}" if view.branch else ""
    lines.append(f"Rule {_line(view.rule)} → role {_line(view.role)}{at} · on duty: {_people(view)}")
    lines.extend(_reply_lines(view, html_mode=False))
    if view.note:
        lines.append(_line(view.note, NOTE_LIMIT))
    lines.extend(_line(line, NOTE_LIMIT) for line in _staff_only(view))
    if help_line(view):
        lines.append(help_line(view))
    return "\n".join(lines)


def _staff_only(view: TicketView) -> list[str]:
    """Tags, the READ Scale and the latest internal notes (plain text; escaped by the caller)."""
    out = []
    if view.tags:
        out.append("🏷️ " + ", ".join(view.tags))
    if view.read_level is not None or view.directional is not None:
        kind = {None: "", True: "directional", False: "reference"}[view.directional]
        level = f"READ {view.read_level}" if view.read_level is not None else ""
        out.append("📊 " + " · ".join(part for part in (level, kind) if part))
    if view.note_count:
        more = f" (latest {len(view.notes)})" if view.note_count > len(view.notes) else ""
        out.append(f"📝 Internal notes: {view.note_count}{more}")
        out.extend(f"• {note.by}: {note.text}" for note in view.notes)
    return out


def _reply_lines(view: TicketView, *, html_mode: bool) -> list[str]:
    if not view.reply_text:
        return []
    by = view.replied_by or view.assignee or "staff"
    if not html_mode:
        line = f"Reply by {_line(by)}: {_plain(view.reply_text, REPLY_LIMIT)}"
        link = safe_url(view.reply_url)
        return [line + (f" ({link})" if link else " (sending…)")]
    link = safe_url(view.reply_url)
    sent = f' · <a href="{html.escape(link, quote=True)}">sent</a>' if link else " · sending…"
    return [f"<p>💬 Reply by <b>{_esc(by)}</b>: <i>{_esc(view.reply_text, REPLY_LIMIT)}</i>{sent}</p>"]


def card_html(view: TicketView) -> str:
    """The formatted body of a card; every patron-supplied field is escaped and made inert."""
    who = f"<b>{_esc(view.author_name or view.author_handle or 'unknown')}</b>"
    if view.author_name and view.author_handle:
        who += f" ({_esc(view.author_handle)})"
    link = safe_url(view.url)
    parts = [
        f"<p><b>#{view.mention_id}</b> · {_esc(view.source)} · <b>{html.escape(_status_line(view))}</b></p>",
        f"<p>From {who}"
        + (f' · <a href="{html.escape(link, quote=True)}">open</a>' if link else "")
        + "</p>",
    ]
    if view.visibility is Visibility.DIRECT:
        parts.append("<p>🔒 private message</p>")
    if view.private:
        parts.append(f"<p>{html.escape(privacy_hint(view))}</p>")
    quote = _esc(view.text, TEXT_LIMIT)
    if view.content_warning:
        quote = f"<b>CW: {_esc(view.content_warning)}</b><br>{quote}"
    parts.append(f"<blockquote>{quote}</blockquote>")
    parts.append(
        f"<p>Rule <code>{_esc(view.rule)}</code> → role <b>{_esc(view.role)}</b>"
        + (f" at {_esc(view.branch)}" if view.branch else "")
        + f" · on duty: {html.escape(_people(view))}</p>"
    )
    parts.extend(_reply_lines(view, html_mode=True))
    if view.note:
        parts.append(f"<p><i>{_esc(view.note, NOTE_LIMIT)}</i></p>")
    staff = _staff_only(view)
    if staff:
        parts.append("<p>" + "<br>".join(_esc(line, NOTE_LIMIT) for line in staff) + "</p>")
    if help_line(view):
        parts.append(f"<p><sub>{html.escape(help_line(view))}</sub></p>")
    return "".join(parts)


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
