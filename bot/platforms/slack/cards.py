"""Pure Block Kit rendering of cards, digests and fold cards.

Every piece of patron text goes through ``escaping`` (escaped, cannot ping, cut to Slack's limits);
the button ids and their JSON values are in ``buttons``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core.cards import fold_counts, fold_title, privacy_hint, snooze_words, source_name
from bot.domain.labels import status_icon, status_label
from bot.domain.transitions import Action, available_actions
from bot.models import Status, Visibility
from bot.platforms.slack.buttons import (
    APPROVE,
    CLAIM,
    DIGEST_PAGE,
    EDIT,
    FOLD_CLAIM,
    FOLD_LIST,
    FOLD_RESOLVE,
    IGNORE,
    NOTE,
    OPEN,
    REASSIGN,
    REJECT,
    RELEASE,
    REPLY,
    RESOLVE,
    RESOLVE_READ,
    SNOOZE_AT,
    SNOOZES,
    WAKE,
    button_value,
)
from bot.platforms.slack.escaping import fit, people, safe_text, safe_url, utf16_len
from bot.views import FoldView, TicketView

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
_NO_MARKUP = str.maketrans("<>", "‹›")
CONTEXT_LIMIT = 2000
MAX_BLOCKS = 50
DIGEST_ITEMS = 40

NOTES_SHOWN = 300  # characters of each note on the card


def fallback_text(view: TicketView) -> str:
    """Notification text: no patron text (it would show in push notifications and bypass blocks)."""
    return f"#{view.mention_id} from {source_name(view.source)} for {view.role}: {view.status.value}"


def card_blocks(view: TicketView) -> list[dict[str, Any]]:
    """The whole card as Block Kit dicts: header, author, text, routing, status, buttons."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_header(view), emoji=True)),
        _mrkdwn(_author(view)),
        _mrkdwn(_body(view)),
        ContextBlock(elements=[_md(_routing(view), CONTEXT_LIMIT)]),
        _mrkdwn(_status(view)),
    ]
    if view.private:  # the kinds only (plain words of ours), never the data itself
        blocks.insert(3, ContextBlock(elements=[_md(privacy_hint(view), CONTEXT_LIMIT)]))
    if view.note:
        blocks.append(ContextBlock(elements=[_md(safe_text(view.note, 1000), CONTEXT_LIMIT)]))
    staff = _staff_only(view)
    if staff:
        blocks.append(ContextBlock(elements=[_md(staff, CONTEXT_LIMIT)]))
    buttons = _buttons(view)
    if buttons:
        blocks.append(ActionsBlock(block_id=f"pd_actions_{view.mention_id}", elements=buttons))
    return [block.to_dict() for block in blocks]


def _staff_only(view: TicketView) -> str:
    """Tags, the READ Scale and the latest internal notes (staff only; never sent to the patron)."""
    lines = []
    if view.tags:
        lines.append("🏷️ " + ", ".join(f"`{safe_text(tag, 40)}`" for tag in view.tags))
    if view.read_level is not None or view.directional is not None:
        kind = {None: "", True: "directional", False: "reference"}[view.directional]
        level = f"READ {view.read_level}" if view.read_level is not None else ""
        lines.append("📊 " + " · ".join(part for part in (level, kind) if part))
    if view.note_count:
        more = f" (latest {len(view.notes)})" if view.note_count > len(view.notes) else ""
        lines.append(f"📝 *Internal notes: {view.note_count}*{more}")
        for note in view.notes:
            said = " ".join(safe_text(note.text, NOTES_SHOWN).split())
            lines.append(f"• *{safe_text(note.by, 80)}:* {said}")
    return "\n".join(lines)


def _md(text: str, limit: int = SECTION_LIMIT) -> MarkdownTextObject:
    return MarkdownTextObject(text=fit(text, limit), verbatim=True)


def _mrkdwn(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def _header(view: TicketView) -> str:
    icon = status_icon(view.status)
    # with branches, which one (as Matrix and the console say); a free-text name opens no markup
    at = f" at {view.branch.translate(_NO_MARKUP)}" if view.branch else ""
    text = f"{icon} #{view.mention_id} · {source_name(view.source)} · {view.role}{at}"
    return safe_text(text, HEADER_LIMIT, mrkdwn=False)


def _author(view: TicketView) -> str:
    name = safe_text(view.author_name, 200) if view.author_name else ""
    handle = safe_text(view.author_handle, 200) if view.author_handle else ""
    who = f"*{name}* ({handle})" if name and handle and name != handle else f"*{name or handle or 'unknown'}*"
    parts = [who, f"on {source_name(view.source)}"]
    if view.visibility is Visibility.DIRECT:
        parts.append(":lock: *private message*, answered privately")
    elif view.visibility is not Visibility.PUBLIC:
        parts.append(f"_{view.visibility.value}_")
    url = safe_url(view.url)
    if url:
        parts.append(f"<{url}|open the post>")
    return " · ".join(parts)


def _body(view: TicketView) -> str:
    cw = f"*CW:* {safe_text(view.content_warning, 300)}\n" if view.content_warning else ""
    room = SECTION_LIMIT - utf16_len(cw)
    text = safe_text(view.text, room) if view.text.strip() else "_(no text)_"
    return cw + text


def _routing(view: TicketView) -> str:
    duty = people(view.on_duty, view.on_duty_refs)
    rule = safe_text(view.rule, 200)
    reason = safe_text(view.reason, 400)
    return f"Rule *{rule}* → role *{safe_text(view.role, 100)}* · on duty: {duty} · {reason}"


def _status(view: TicketView) -> str:
    who = people([view.assignee], view.assignee_refs) if view.assignee else "someone"
    label = status_label(view.status)
    match view.status:
        case Status.QUEUED if view.queued_until is not None:
            stamp = int(view.queued_until.timestamp())
            line = (
                f"{label}: nobody on duty until <!date^{stamp}^{{date_short_pretty}} {{time}}|the next shift>"
            )
        case Status.QUEUED:
            line = f"{label}: nobody on duty until the next shift"
        case Status.ESCALATED:
            line = f"{label}: still unclaimed past its time"
        case Status.CLAIMED:
            line = f"{label} by {who}"
        case Status.SNOOZED:
            line = f"{label} by {who}: {safe_text(snooze_words(view), 200)}"
        case Status.APPROVAL:
            line = f"{label}: held, not published\n{_sent(view, who)}"
        case Status.REPLIED:
            line = _replied(view, who)
        case Status.RESOLVED:
            line = f"{label}{f' by {who}' if view.assignee else ''}"
            if view.reply_text:  # the answer the patron got stays on the card
                line += f"\n{_sent(view, who)}"
        case Status.IGNORED:
            line = f"{label}: no answer needed"
        case _:
            line = f"{label}: waiting for someone to claim it"
    return f"*Status:* {line}"


def _sent(view: TicketView, who: str) -> str:
    by = safe_text(view.replied_by, 80) if view.replied_by else who
    url = safe_url(view.reply_url)
    link = f" · <{url}|see the published reply>" if url else ""
    return f"💬 Reply by {by}{link}\n{safe_text(view.reply_text or '', 1000)}"


def _replied(view: TicketView, who: str) -> str:
    by = safe_text(view.replied_by, 80) if view.replied_by else who
    url = safe_url(view.reply_url)
    link = f" · <{url}|see the published reply>" if url else " · publishing…"
    said = safe_text(view.reply_text or "", 1000)
    return f"{status_label(Status.REPLIED)} by {by}{link}\n{said}"


def _button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: ConfirmObject | None = None
) -> ButtonElement:
    text = PlainTextObject(text=label, emoji=True)
    return ButtonElement(text=text, action_id=action_id, value=value, style=style, confirm=confirm)


def _buttons(view: TicketView) -> list[ButtonElement]:
    m = view.mention_id
    value = button_value(m)
    out: list[ButtonElement] = []
    for action in available_actions(view.status, view.can_reply):
        match action:
            case Action.CLAIM:
                out.append(_button("Claim", CLAIM, value, "primary"))
            case Action.REPLY:
                out.append(_button("Reply", REPLY, button_value(m, p=view.source, v=view.visibility.value)))
            case Action.OPEN_LINK if view.url and safe_url(view.url, limit=3000):
                out.append(ButtonElement(text="Open link", action_id=OPEN, url=view.url, value=value))
            case Action.RESOLVE:
                out.append(_button("Resolve" if view.can_reply else "Mark handled", RESOLVE, value))
                out.append(_button("Resolve with READ…", RESOLVE_READ, value))
            case Action.RELEASE:
                out.append(_button("Release", RELEASE, value))
            case Action.REASSIGN:
                out.append(_button("Reassign", REASSIGN, value))
            case Action.SNOOZE:
                for action_id, (label, _) in SNOOZES.items():
                    out.append(_button(label, action_id, value))
                out.append(_button("Snooze until…", SNOOZE_AT, value))
            case Action.WAKE:
                out.append(_button("Wake", WAKE, value, "primary"))
            case Action.APPROVE:
                out.append(_button("Approve", APPROVE, value, "primary"))
                if view.can_reply:  # the approver's own version, through the Reply form
                    edit = button_value(m, p=view.source, v=view.visibility.value)
                    out.append(_button("Edit", EDIT, edit))
            case Action.REJECT:
                out.append(_button("Reject", REJECT, value, "danger"))
            case Action.IGNORE:
                sure = ConfirmObject(
                    title="Ignore this mention?", text=f"#{m} closes without an answer.", confirm="Ignore"
                )
                out.append(_button("Ignore", IGNORE, value, "danger", sure))
    if out or view.status in (Status.RESOLVED, Status.IGNORED):  # notes and tags, closed cards too
        out.append(_button("Note & tags", NOTE, value))
    return out


def digest_blocks(
    views: Sequence[TicketView], *, total: int, done: bool = False, page: int = 0
) -> list[dict[str, Any]]:
    """A burst digest: how many mentions are waiting for a card, one page of them with Claim buttons.

    ``views`` are every mention still waiting, in the order their cards will go (answerable ones
    first); ``total`` counts the whole burst so far. ``page`` picks which ``DIGEST_ITEMS`` are listed;
    the ‹ › buttons (``DIGEST_PAGE``) reach every waiting mention.
    """
    if done or not views:
        head = f"📥 Burst of {total} mentions: every card is posted"
        note = "Each mention has its own card below with all its buttons."
    else:
        head = f"📥 Burst: {len(views)} of {total} mentions still waiting for their card"
        answerable = sum(1 for view in views if view.can_reply)
        note = f"{answerable} can be answered and come first. " if answerable else ""
        note += "Cards follow at Slack's pace (about one a second). Claim from here to get ahead."
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=safe_text(head, HEADER_LIMIT, mrkdwn=False))),
        _mrkdwn(note),
    ]
    if not done and views:
        pages = (len(views) + DIGEST_ITEMS - 1) // DIGEST_ITEMS
        page = min(max(page, 0), pages - 1)
        first = page * DIGEST_ITEMS
        for view in views[first : first + DIGEST_ITEMS]:
            line = f"*#{view.mention_id}* · {source_name(view.source)} · {safe_text(view.role, 60)} — "
            line += safe_text(view.author_handle or view.author_name, 80) + ": " + safe_text(view.text, 160)
            claim = _button("Claim", CLAIM, button_value(view.mention_id))
            blocks.append(SectionBlock(text=_md(line), accessory=claim))
        if pages > 1:
            shown = f"{first + 1}–{min(first + DIGEST_ITEMS, len(views))} of {len(views)} waiting"
            blocks.append(ContextBlock(elements=[_md(f"Page {page + 1} of {pages}: {shown}.")]))
            turn = [
                _button(label, DIGEST_PAGE, json.dumps({"page": to}))
                for label, to in (("‹ Earlier", page - 1), ("Later ›", page + 1))
                if 0 <= to < pages
            ]
            blocks.append(ActionsBlock(elements=turn))
    return [block.to_dict() for block in blocks]


def fold_blocks(view: FoldView) -> list[dict[str, Any]]:
    """A summary card for a burst of read-only items: counts, and Open list / Claim all / Mark all handled."""
    value = json.dumps({"f": view.fold_id}, separators=(",", ":"))
    buttons = [_button("Open list", FOLD_LIST, value)]
    if view.waiting:
        sure = ConfirmObject(
            title="Claim every waiting item?", text=f"{view.waiting} items become yours.", confirm="Claim all"
        )
        buttons.append(_button("Claim all", FOLD_CLAIM, value, "primary", sure))
    if view.waiting or view.claimed:
        sure = ConfirmObject(
            title="Mark all handled?", text="Every open item on this card closes.", confirm="Mark all handled"
        )
        buttons.append(_button("Mark all handled", FOLD_RESOLVE, value, None, sure))
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(text=safe_text("📚 " + fold_title(view), HEADER_LIMIT, mrkdwn=False))
        ),
        _mrkdwn(
            f"A burst of read-only items folded into one card (summary card {view.fold_id}). "
            + safe_text(fold_counts(view), 300)
            + f". List them with Open list or `/desk fold {view.fold_id}`."
        ),
        ActionsBlock(block_id=f"pd_fold_{view.fold_id}", elements=buttons),
    ]
    return [block.to_dict() for block in blocks]
