"""Pure card text shared by every desk, and the console desk's rendering.

Slack's Block Kit lives in `bot/platforms/slack/cards.py` and Matrix HTML in
`bot/platforms/matrix/cards.py`; both use ``status_line`` from here so the desks agree.
"""

from __future__ import annotations

import unicodedata

from bot.models import Status, TicketView, Visibility
from bot.platforms import display_name

CONSOLE_TEXT_LIMIT = 600


def source_name(source: str) -> str:
    """Human name of a source platform (its spec's display name)."""
    return display_name(source)


def author_line(view: TicketView) -> str:
    """'Display Name (@handle)', or whichever of the two exists."""
    if view.author_name and view.author_handle and view.author_name != view.author_handle:
        return f"{view.author_name} ({view.author_handle})"
    return view.author_name or view.author_handle or "unknown author"


def status_line(view: TicketView) -> str:
    """One line saying where the mention stands and who has it."""
    who = view.assignee or "someone"
    match view.status:
        case Status.ROUTED | Status.POSTED:
            duty = ", ".join(view.on_duty) or "nobody"
            return f"Open: waiting for a claim (on duty: {duty})"
        case Status.QUEUED:
            until = (
                view.queued_until.strftime("%a %d %b %H:%M UTC") if view.queued_until else "the next shift"
            )
            return f"Queued: nobody on duty for {view.role} until {until}"
        case Status.ESCALATED:
            return f"Escalated: unclaimed past its time (on duty: {', '.join(view.on_duty) or 'nobody'})"
        case Status.CLAIMED:
            return f"Claimed by {who}"
        case Status.REPLIED:
            if view.reply_url:
                return f"Replied by {view.replied_by or who}: {view.reply_url}"
            return f"Reply by {view.replied_by or who} is being published"
        case Status.RESOLVED:
            return f"Resolved{f' by {who}' if view.assignee else ''}"
        case Status.IGNORED:
            return "Ignored: no answer needed"
    return str(view.status)


def visible_text(text: str, limit: int) -> str:
    """Patron text made safe for a terminal: control and bidi characters removed, cut to ``limit``."""
    cleaned = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf") else " " for ch in text
    )
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def visible_line(text: str, limit: int) -> str:
    """Like ``visible_text`` but on one line: a newline in a name or link must not fake a card line."""
    return " ".join(visible_text(text, limit).split())


def console_card(view: TicketView) -> str:
    """The card as the console desk prints it."""
    flags = []
    if view.visibility is Visibility.DIRECT:
        flags.append("PRIVATE MESSAGE")
    if view.content_warning:
        flags.append(f"CW: {visible_line(view.content_warning, 80)}")
    lines = [
        f"── #{view.mention_id} · {visible_line(source_name(view.source), 40)}"
        f" · {visible_line(author_line(view), 120)}" + (f" · {' · '.join(flags)}" if flags else ""),
        f"   role {visible_line(view.role, 80)} · rule {visible_line(view.rule, 80)}",
    ]
    lines += ["   " + line for line in visible_text(view.text, CONSOLE_TEXT_LIMIT).splitlines() or [""]]
    if view.url:
        lines.append(f"   link: {visible_line(view.url, 300)}")
    lines.append(f"   {visible_line(status_line(view), 400)}")
    if view.note:
        lines.append(f"   note: {visible_line(view.note, 300)}")
    actions = _console_actions(view)
    if actions:
        lines.append(f"   → {actions}")
    return "\n".join(lines)


def _console_actions(view: TicketView) -> str:
    n = view.mention_id
    if view.status in (Status.RESOLVED, Status.IGNORED):
        return ""
    if view.status in (Status.CLAIMED, Status.REPLIED):
        first = f"reply {n} <text>" if view.can_reply else "open the link to answer"
        return f"{first} · resolve {n} · release {n}"
    if not view.can_reply:
        return f"claim {n} · resolve {n} (mark handled) · ignore {n}"
    return f"claim {n} · reply {n} <text> · ignore {n}"
