"""The reply as an e-mail (pure): threading headers, a Message-ID derived from the idempotency key,
plain text with a simple HTML alternative. No patron or staff text can add a header."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from bot.platforms.email.mime import message_ids, valid_address

MAX_SUBJECT = 200
MAX_REFERENCES = 20
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_RE = re.compile(r"^\s*(re|aw|sv|antw)\s*:\s*", re.IGNORECASE)
DEFAULT_SUBJECT = "your message to the library"


def reply_message_id(idempotency_key: str, *, sender: str) -> str:
    """``<pd.<digest>@<sender's domain>>``: the same key gives the same id, so a retried send is the
    same message to every mail client and archive (they show it once)."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<pd.{digest}@{domain}>"


def reply_subject(subject: str) -> str:
    """``Re: <subject>`` on one line (CR, LF and other controls removed), "Re:" never doubled."""
    clean = " ".join(_CONTROLS.sub(" ", subject).split())
    while _RE.match(clean):
        clean = _RE.sub("", clean, count=1)
    return f"Re: {clean or DEFAULT_SUBJECT}"[:MAX_SUBJECT]


def compose_reply(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    idempotency_key: str,
    now: datetime,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    automatic: bool = False,
) -> EmailMessage:
    """The reply: ``From`` the library, ``To`` the patron, threaded under ``in_reply_to``.

    Raises ``ValueError`` when ``to`` or ``sender`` is not one plain address.
    """
    if not valid_address(to) or not valid_address(sender):
        raise ValueError("not a plain e-mail address")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = reply_message_id(idempotency_key, sender=sender)
    parent = message_ids(f"<{in_reply_to}>", limit=1) if in_reply_to else []
    chain = [ref for ref in references if message_ids(f"<{ref}>", limit=1)]
    chain = list(dict.fromkeys([*chain, *parent]))[-MAX_REFERENCES:]
    if parent:
        msg["In-Reply-To"] = f"<{parent[0]}>"
    if chain:
        msg["References"] = " ".join(f"<{ref}>" for ref in chain)
    if automatic:  # RFC 3834: an automatic answer, which auto-responders must not answer again
        msg["Auto-Submitted"] = "auto-replied"
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    msg.set_content(body, subtype="plain", charset="utf-8")
    msg.add_alternative(_html(body), subtype="html", charset="utf-8")
    return msg


def _html(text: str) -> str:
    paragraphs = [html.escape(block).replace("\n", "<br>\n") for block in text.split("\n\n") if block]
    inner = "\n".join(f"<p>{block}</p>" for block in paragraphs)
    return f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{inner}\n</body></html>\n'
