"""Pure card text shared by every desk, and the console desk's rendering.

Slack's Block Kit lives in `bot/platforms/slack/cards.py` and Matrix HTML in
`bot/platforms/matrix/cards.py`; all three take the status label (``bot.domain.labels``) and the
actions (``available_actions``) from `bot/domain/` so the desks agree.
"""

from __future__ import annotations

import unicodedata

from bot.domain.labels import status_label
from bot.domain.privacy import listed
from bot.domain.transitions import Action, available_actions
from bot.models import Status, Visibility
from bot.platforms import display_name
from bot.rota.timespec import staff_time
from bot.views import FoldView, TicketView

CONSOLE_TEXT_LIMIT = 600


def source_name(source: str) -> str:
    """Human name of a source platform (its spec's display name)."""
    return display_name(source)


def author_line(view: TicketView) -> str:
    """'Display Name (@handle)', or whichever of the two exists."""
    if view.author_name and view.author_handle and view.author_name != view.author_handle:
        return f"{view.author_name} ({view.author_handle})"
    return view.author_name or view.author_handle or "unknown author"


def _at(view: TicketView) -> str:
    """` at Harbor Branch` when the role has a branch (only with branches in the rules file)."""
    return f" at {visible_line(view.branch, 80)}" if view.branch else ""


def status_line(view: TicketView) -> str:
    """One line saying where the mention stands and who has it."""
    who = view.assignee or "someone"
    label = status_label(view.status)
    match view.status:
        case Status.QUEUED:
            until = staff_time(view.queued_until) if view.queued_until else "the next shift"
            return f"{label}: nobody on duty for {view.role} until {until}"
        case Status.ESCALATED:
            return f"{label}: unclaimed past its time (on duty: {', '.join(view.on_duty) or 'nobody'})"
        case Status.CLAIMED:
            return f"{label} by {who}"
        case Status.REPLIED:
            if view.reply_url:
                return f"{label} by {view.replied_by or who}: {view.reply_url}"
            return f"{label} by {view.replied_by or who}: being published"
        case Status.SNOOZED:
            return f"{label} by {who}: {snooze_words(view)}"
        case Status.APPROVAL:
            return f"{label}: reply by {view.replied_by or who} waits for the approver"
        case Status.RESOLVED:
            return f"{label}{f' by {who}' if view.assignee else ''}"
        case Status.IGNORED:
            return f"{label}: no answer needed"
    return f"{label}: waiting for a claim (on duty: {', '.join(view.on_duty) or 'nobody'})"


def snooze_words(view: TicketView) -> str:
    """`Snoozed until Mon 7 Dec 09:00 CST`, or until the patron writes again."""
    if view.snoozed_until is None:
        return "Snoozed until the patron answers"
    return f"Snoozed until {staff_time(view.snoozed_until)}"


TITLE_LIMIT = 60


def mention_title(source: str, text: str) -> str:
    """`Mastodon: “Can I renew my book…”`: a one-line title for lists (digests, the queue)."""
    words = visible_line(text, TITLE_LIMIT) if text.strip() else "(no text)"
    return f"{visible_line(source_name(source), 40)}: “{words}”"


NOTE_SHOWN = 300  # characters of a note on a card (the whole note is in the audit log)


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


def staff_lines(view: TicketView) -> list[str]:
    """The card's staff-only lines, one per fact: tags, READ Scale, then the latest internal notes."""
    out: list[str] = []
    if view.tags:
        out.append("tags: " + ", ".join(visible_line(tag, 40) for tag in view.tags))
    if view.read_level is not None or view.directional is not None:
        kind = {None: "", True: "directional", False: "reference"}[view.directional]
        level = f"READ {view.read_level}" if view.read_level is not None else ""
        out.append(" · ".join(part for part in (level, kind) if part))
    if view.note_count:
        shown = len(view.notes)
        more = f" (latest {shown})" if view.note_count > shown else ""
        out.append(f"internal notes: {view.note_count}{more}")
        for note in view.notes:
            out.append(f"📝 {visible_line(note.by, 80)}: {visible_line(note.text, NOTE_SHOWN)}")
    return out


def privacy_hint(view: TicketView) -> str:
    """`🔒 The post contains a phone number: answer privately.` when the patron shared private data."""
    if not view.private:
        return ""
    return f"🔒 The post contains {listed(view.private)}: keep it out of a public reply, answer privately."


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
        f"   role {visible_line(view.role, 80)}{_at(view)} · rule {visible_line(view.rule, 80)}",
    ]
    lines += ["   " + line for line in visible_text(view.text, CONSOLE_TEXT_LIMIT).splitlines() or [""]]
    if view.url:
        lines.append(f"   link: {visible_line(view.url, 300)}")
    if view.private:
        lines.append(f"   {privacy_hint(view)}")
    lines.append(f"   {visible_line(status_line(view), 400)}")
    if view.reply_text and view.status in (Status.REPLIED, Status.RESOLVED):  # what the patron was sent
        by = visible_line(view.replied_by or "staff", 80)
        lines.append(f"   reply by {by}: {visible_line(view.reply_text, 300)}")
    if view.reply_text and view.status is Status.APPROVAL:  # what the approver decides on
        by = visible_line(view.replied_by or "staff", 80)
        lines.append(f"   held reply by {by}: {visible_line(view.reply_text, 300)}")
    if view.note:
        lines.append(f"   note: {visible_line(view.note, 300)}")
    lines += [f"   {line}" for line in staff_lines(view)]
    actions = _console_actions(view)
    if actions:
        lines.append(f"   → {actions}")
    return "\n".join(lines)


CONSOLE_HINTS: dict[Action, str] = {
    Action.CLAIM: "claim {n}",
    Action.REPLY: "reply {n} <text>",
    Action.OPEN_LINK: "open the link to answer",
    Action.RESOLVE: "resolve {n}",
    Action.RELEASE: "release {n}",
    Action.REASSIGN: "reassign {n} <role>",
    Action.IGNORE: "ignore {n}",
    Action.SNOOZE: "snooze {n} <2h|tomorrow 09:00|patron>",
    Action.WAKE: "wake {n}",
    Action.APPROVE: "approve {n} [edited text]",
    Action.REJECT: "reject {n} <reason>",
}


def _console_actions(view: TicketView) -> str:
    hints = {**CONSOLE_HINTS}
    if not view.can_reply:  # resolving is how a read-only mention answered elsewhere is closed
        hints[Action.RESOLVE] += " (mark handled)"
    shown = available_actions(view.status, view.can_reply)
    return " · ".join(hints[action].format(n=view.mention_id) for action in shown)


def fold_title(view: FoldView) -> str:
    """A summary card's headline, e.g. ``Web (feed): 37 new items``."""
    return f"{source_name(view.source)}: {view.total} new item{'s' if view.total != 1 else ''}"


def fold_counts(view: FoldView) -> str:
    """Where a summary card's items stand."""
    return f"{view.waiting} waiting · {view.claimed} claimed · {view.handled} handled · role {view.role}"


def fold_text(view: FoldView, *, prefix: str) -> str:
    """A summary card as plain text with its commands (console and Matrix)."""
    n = view.fold_id
    return "\n".join(
        (
            f"📚 {fold_title(view)} (summary card {n}; a burst of read-only items)",
            fold_counts(view),
            f"Open list: {prefix}desk fold {n} · Claim all: {prefix}desk fold {n} claim"
            f" · Mark all handled: {prefix}desk fold {n} handled",
        )
    )
