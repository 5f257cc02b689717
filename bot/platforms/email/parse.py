"""An e-mail as a mention (pure): who wrote, the new part of the text, the thread it belongs to.

Automatic mail is not a mention: auto-replies (``Auto-Submitted``), bounces (``Return-Path: <>``,
delivery reports), mailing-list and bulk mail (``List-Id``, ``Precedence: bulk/list/junk``) and mail
from the library's own address. The card shows the subject and the new part of the body (quoted history
and signature trimmed); ``full_text`` keeps the whole body; attachments are listed, never stored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from bot.domain.sanitize import safe_mention
from bot.models import Mention, Visibility
from bot.platforms.email import mime
from bot.platforms.email.trim import trim

SOURCE = "email"
MAX_SUBJECT = 300
MAX_REFERENCES = 20  # kept for the reply's References header
_BULK = frozenset({"bulk", "list", "junk", "auto_reply"})
_ROBOTS = ("mailer-daemon@", "postmaster@")
NO_SUBJECT = "(no subject)"


def not_a_mention(msg: Message, *, library: str) -> str | None:
    """Why this message is not a patron's mention (a short class for the log), or None when it is."""
    auto = mime.header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return "auto-submitted"
    if mime.header(msg, "Precedence").lower() in _BULK:
        return "bulk"
    if mime.has_header(msg, "List-Id") or mime.has_header(msg, "List-Post"):
        return "mailing list"
    if mime.has_header(msg, "Return-Path") and mime.header(msg, "Return-Path").strip() in ("<>", ""):
        return "bounce"
    if mime.has_header(msg, "X-Autoreply") or mime.has_header(msg, "X-Autorespond"):
        return "auto-reply"
    kind = mime.header(msg, "Content-Type").lower()
    if kind.startswith("multipart/report"):
        return "delivery report"
    _, sender = mime.address(mime.header(msg, "From"))
    if sender.lower().startswith(_ROBOTS):
        return "bounce"
    if library and sender.lower() == library.lower():
        return "own mail"
    return None


def external_id(msg: Message, raw: bytes) -> str:
    """The Message-ID (stable when the mailbox is renumbered), else a digest of the message bytes."""
    found = mime.message_id(msg)
    return found if found else "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_email(raw: bytes, *, library: str, now: datetime, note: str = "") -> Mention | None:
    """The mention an incoming message makes, or None when it is not one (see ``not_a_mention``).

    Never raises for malformed mail: odd headers read as empty, unknown charsets as UTF-8.
    """
    msg, complete = mime.parse_bytes(raw)
    if not_a_mention(msg, library=library) is not None:
        return None
    name, sender = mime.address(mime.header(msg, "From"))
    _, reply_to = mime.address(mime.header(msg, "Reply-To"))
    subject = mime.header(msg, "Subject")[:MAX_SUBJECT]
    body = mime.body(msg) if complete else ""
    trimmed = trim(body) if body.strip() else ""
    head = subject or NO_SUBJECT
    text = f"{head}\n\n{trimmed}" if trimmed else head
    full = f"{head}\n\n{body.strip()}" if trimmed and trimmed != body.strip() else ""
    ident = external_id(msg, raw)
    earlier = mime.message_ids(mime.header(msg, "References"), limit=MAX_REFERENCES)
    parent = mime.message_ids(mime.header(msg, "In-Reply-To"), limit=1)
    thread = list(dict.fromkeys([*earlier, *parent]))[-MAX_REFERENCES:]
    to = reply_to or sender
    ref = {"to": to, "subject": subject, "message_id": mime.message_id(msg), "references": thread}
    notes = [note] if note else []
    if not complete:
        notes.append("The message has too many parts to read; open it in the mailbox.")
    if full:
        notes.append("Quoted history and signature are left out here.")
    notes.append(_attachments_note(msg) if complete else "")
    mention = Mention(
        source=SOURCE,
        external_id=ident,
        text=text,
        full_text=full,
        created_at=_date(msg, now),
        author_id=sender.lower(),
        author_handle=sender,
        author_name=name,
        visibility=Visibility.PRIVATE,
        can_reply=bool(to),
        reply_ref=json.dumps(ref) if to else "",
        note=" ".join(part for part in notes if part),
        follows=tuple(thread),
    )
    return safe_mention(mention, now=now)


def unreadable(raw: bytes, *, now: datetime) -> Mention:
    """The card for a message the parser failed on: nothing from it but a digest, so it is not lost."""
    mention = Mention(
        source=SOURCE,
        external_id="sha256:" + hashlib.sha256(raw).hexdigest(),
        text="(a message that could not be read; open it in the mailbox)",
        created_at=now,
        visibility=Visibility.PRIVATE,
        can_reply=False,
        note="Patron Desk could not read this message.",
    )
    return safe_mention(mention, now=now)


def _date(msg: Message, now: datetime) -> datetime:
    try:
        when = parsedate_to_datetime(mime.header(msg, "Date"))
    except Exception:
        return now
    return when if when.tzinfo is not None else now


def _attachments_note(msg: Message) -> str:
    found, count = mime.attachments(msg)
    if not count:
        return ""
    listed = ", ".join(f"{item.name} ({_size(item.size)})" for item in found)
    more = f" and {count - len(found)} more" if count > len(found) else ""
    return f"Attachments (not kept; open them in the mailbox): {listed}{more}."


def _size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(size // 1000, 1)} kB"
