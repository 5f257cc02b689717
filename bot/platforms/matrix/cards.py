"""Pure Matrix card rendering: the card body as HTML and plain text, with its status and help lines."""

from __future__ import annotations

import html
from datetime import datetime

from bot.core.cards import privacy_hint, snooze_words
from bot.domain.labels import status_label
from bot.domain.transitions import Action, available_actions
from bot.models import Status, Visibility
from bot.platforms.matrix.escaping import NOTE_LIMIT, REPLY_LIMIT, TEXT_LIMIT, _esc, _line, _plain, safe_url
from bot.rota.timespec import staff_time
from bot.views import TicketView

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
