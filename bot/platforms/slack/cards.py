"""Pure Block Kit rendering of cards and digests, with patron text made harmless.

Patron text is escaped (``& < >``), cannot ping (``<!channel>``, ``@here``, ``<@U…>``, link labels),
has bidi overrides and control characters replaced, and is cut on grapheme boundaries so every block
stays under Slack's limits, counted in UTF-16 code units (never fewer than Slack counts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import grapheme
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
from bot.models import MAX_ID, FoldView, StaffRef, Status, TicketView, Visibility

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
_NO_MARKUP = str.maketrans("<>", "‹›")
CONTEXT_LIMIT = 2000
MAX_BLOCKS = 50
DIGEST_ITEMS = 40
ELLIPSIS = "…"

CLAIM, REPLY, RESOLVE, RELEASE, REASSIGN, IGNORE, OPEN = (
    "pd_claim",
    "pd_reply",
    "pd_resolve",
    "pd_release",
    "pd_reassign",
    "pd_ignore",
    "pd_open",
)
SNOOZE, WAKE, APPROVE, REJECT, EDIT = "pd_snooze", "pd_wake", "pd_approve", "pd_reject", "pd_edit"
# each snooze button has its own action id (unique in the block); the time is the id's, not the value's
SNOOZES = {
    SNOOZE: ("Wait for patron", "patron"),
    "pd_snooze_2h": ("Snooze 2h", "2h"),
    "pd_snooze_morning": ("Snooze till 9:00", "tomorrow 09:00"),
}
SNOOZE_AT = "pd_snooze_at"  # "Snooze until…": a form with a day and a time, or typed words
NOTE, RESOLVE_READ = "pd_note", "pd_resolve_read"  # the Note & tags form, the Resolve-with-READ form
ACTION_IDS = (
    CLAIM,
    REPLY,
    RESOLVE,
    RELEASE,
    REASSIGN,
    IGNORE,
    OPEN,
    *SNOOZES,
    SNOOZE_AT,
    WAKE,
    APPROVE,
    EDIT,
    REJECT,
    NOTE,
    RESOLVE_READ,
)
NOTES_SHOWN = 300  # characters of each note on the card
DIGEST_PAGE = "pd_digest_page"
FOLD_LIST, FOLD_CLAIM, FOLD_RESOLVE = "pd_fold_list", "pd_fold_claim", "pd_fold_resolve"
FOLD_VERBS = {FOLD_LIST: "list", FOLD_CLAIM: "claim", FOLD_RESOLVE: "resolve"}
CARD_EVENT = "patron_desk_card"

_REPLACE = {cp: "\ufffd" for cp in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_REPLACE |= {cp: "\ufffd" for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_REPLACE |= {ord("\n"): "\n", ord("\t"): " ", 0x2028: "\n", 0x2029: "\n"}
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone|group)\b)", re.IGNORECASE)
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
# no whitespace, controls or bidi controls: a link must not print fake lines or reorder the card
_URL = re.compile(
    r"^https?://[^\s<>|\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{1,2900}$"
)


def utf16_len(text: str) -> int:
    """Length as Slack's limits count it (UTF-16 code units), never less than the code points."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def safe_text(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """Untrusted (patron) text made safe for Slack and cut to ``limit`` UTF-16 units.

    Control and bidi-override characters become U+FFFD, broadcast words get a zero-width space after
    the ``@``, ``& < >`` are escaped for mrkdwn (plain text has no markup to escape), and a cut falls
    on a grapheme boundary and ends with an ellipsis.
    """
    head = text[: limit + 2]  # each code point costs >= 1 unit, so this is enough to decide
    complete = len(head) == len(text)
    head = _BROADCAST.sub("@\u200b", head.translate(_REPLACE))
    pieces = (_escape(c) if mrkdwn else c for c in grapheme.graphemes(head))
    return _take(pieces, limit, complete=complete)


def fit(text: str, limit: int) -> str:
    """Our own markup cut to ``limit`` units on a grapheme boundary (a guard; budgets avoid it)."""
    if utf16_len(text) <= limit:
        return text
    return _take(grapheme.graphemes(text[: limit + 2]), limit, complete=False)


def _escape(cluster: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in cluster)


def _take(pieces: Iterable[str], limit: int, *, complete: bool) -> str:
    budget, used, fits_at = limit - len(ELLIPSIS), 0, 0
    out: list[str] = []
    for piece in pieces:
        used += utf16_len(piece)
        if used > limit:
            return "".join(out[:fits_at]) + ELLIPSIS
        out.append(piece)
        if used <= budget:
            fits_at = len(out)
    return "".join(out) if complete else "".join(out[:fits_at]) + ELLIPSIS


def safe_url(url: str | None, *, limit: int = 1500) -> str | None:
    """An http(s) URL that cannot break out of ``<url|label>`` markup (escaped for it), or None."""
    if not url or len(url) > limit or not _URL.match(url):
        return None
    return url.replace("&", "&amp;")


def staff_mention(ref: StaffRef) -> str | None:
    """``<@U…>`` for a Slack staff identity (trusted, from the staff table); None for others."""
    if ref.desk == "slack" and _SLACK_USER.match(ref.user_id):
        return f"<@{ref.user_id}>"
    return None


def people(names: Sequence[str], refs: Sequence[StaffRef], *, most: int = 8) -> str:
    """Staff names, with a ping for those the staff table links to a Slack user."""
    by_name = {ref.display: staff_mention(ref) for ref in refs if staff_mention(ref)}
    shown = [by_name.get(name) or safe_text(name, 80) for name in names[:most]]
    if len(names) > most:
        shown.append(f"{len(names) - most} more")
    return ", ".join(shown) or "nobody"


def button_value(mention_id: int, **extra: str) -> str:
    """The JSON value every button carries: ``{"m": mention_id, ...}``."""
    return json.dumps({"m": mention_id, **extra}, separators=(",", ":"))


def parse_button_value(value: str | None) -> dict[str, Any] | None:
    """The button's JSON value, or None when it is not ours (no integer ``m`` in 1..MAX_ID)."""
    if not isinstance(value, str) or len(value) > 2000:  # Slack caps a button value at 2,000
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or type(data.get("m")) is not int or not 0 < data["m"] <= MAX_ID:
        return None
    return data


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


def parse_fold_value(value: str | None) -> int | None:
    """The summary card a fold button is about, or None when the value is not ours."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    fold = data.get("f") if isinstance(data, dict) else None
    return fold if type(fold) is int and 0 < fold <= MAX_ID else None


def parse_digest_page(value: str | None) -> int | None:
    """The page a digest's ‹ › button asks for, or None when the value is not ours."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    page = data.get("page") if isinstance(data, dict) else None
    return page if type(page) is int and 0 <= page < 1_000_000 else None


def notice_text(message: str, extra: Sequence[str] = (), *, limit: int = 3900) -> str:
    """An answer for one staff member (ephemeral): the service's words, made safe and cut."""
    lines = [message, *extra]
    return safe_text("\n".join(line for line in lines if line), limit) or "Done."
