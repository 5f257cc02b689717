"""Reading a MIME message safely (pure): headers that never raise, a bounded walk, text of any charset.

The standard library's parser (policy ``default``) does the parsing; this module only bounds what is
read from it: at most ``MAX_PARTS`` parts ``MAX_DEPTH`` deep (a MIME bomb of 10,000 nested parts costs
no recursion), header values cut, unknown charsets decoded as UTF-8 with replacement characters.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr

from bot.domain.html_text import html_to_text

MAX_PARTS = 500
MAX_DEPTH = 20
MAX_HEADER = 2_000
MAX_BODY = 200_000  # characters of body text read (before trimming)
MAX_ATTACHMENTS = 20  # listed by name; more are counted
_ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_MSGID = re.compile(r"<([^<>\s]{1,400})>")
MAX_BOUNDARIES = 100
MAX_TYPED_PARTS = 1_000


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with the message: listed on the card, never stored."""

    name: str
    size: int  # bytes, estimated from the encoded length


def header(msg: Message, name: str) -> str:
    """A header's value as one line of text, "" when absent or unreadable (never raises)."""
    try:
        value = msg.get(name)
    except Exception:  # the default policy's header parsers raise on some malformed values
        value = None
    if value is None:
        return ""
    text = str(value) if not isinstance(value, str) else value
    return " ".join(text[: MAX_HEADER * 2].split())[:MAX_HEADER]


def has_header(msg: Message, name: str) -> bool:
    """The header is present, whatever its value and however its name is capitalised."""
    return name in msg  # Message.__contains__ compares names case-insensitively and parses nothing


def address(value: str) -> tuple[str, str]:
    """``(display name, address)`` of the first address in a header value; the address is "" unless
    it is a plain, valid one (no CR/LF, no second address, at most 254 characters)."""
    try:
        name, addr = parseaddr(value)
    except Exception:
        return "", ""
    addr = addr.strip()
    if len(addr) > 254 or not _ADDRESS.match(addr):
        addr = ""
    return " ".join(name.split())[:200], addr


def valid_address(value: str) -> bool:
    """One plain e-mail address (what a reply may be sent to)."""
    return len(value) <= 254 and bool(_ADDRESS.match(value))


def message_ids(value: str, *, limit: int = 50) -> list[str]:
    """The ``<...>`` ids in a header (References, In-Reply-To), without brackets, the newest ``limit``."""
    return _MSGID.findall(value)[-limit:]


def message_id(msg: Message) -> str:
    """The message's own id without brackets, "" when it has none that is usable."""
    found = message_ids(header(msg, "Message-ID"), limit=1)
    return found[0] if found else ""


def recipients(msg: Message, name: str) -> list[str]:
    """The addresses of an address header, lower-cased."""
    try:
        pairs = getaddresses([header(msg, name)])
    except Exception:
        return []
    return [addr.lower() for _, addr in pairs if addr]


def walk(msg: Message) -> Iterator[Message]:
    """Every part, depth first, at most ``MAX_PARTS`` of them and ``MAX_DEPTH`` levels deep (iterative)."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        yield part
        if part.is_multipart() and depth < MAX_DEPTH:
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(
                    (child, depth + 1)
                    for child in reversed(children[:MAX_PARTS])
                    if isinstance(child, Message)
                )


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        return disposition == "attachment" or bool(part.get_filename())
    except Exception:
        return True


def text_of(part: Message) -> str:
    """A text part decoded with its charset (unknown or broken charsets: UTF-8 with replacements)."""
    try:
        raw = part.get_payload(decode=True)
    except Exception:
        raw = None
    if not isinstance(raw, bytes):
        payload = part.get_payload()
        raw = payload.encode("utf-8", "replace") if isinstance(payload, str) else b""
    raw = raw[: MAX_BODY * 4]
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
        codecs.lookup(charset)
    except (LookupError, Exception):
        charset = "utf-8"
    try:
        return raw.decode(charset, "replace")[:MAX_BODY]
    except Exception:  # a codec that fails even with "replace"
        return raw.decode("utf-8", "replace")[:MAX_BODY]


def body(msg: Message) -> str:
    """The message's text: the first text/plain part that is not an attachment, else the first
    text/html part turned into safe text (scripts and styles dropped, nothing executed)."""
    html = None
    for part in walk(msg):
        if part.is_multipart() or _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            return text_of(part)
        if kind == "text/html" and html is None:
            html = part
    return html_to_text(text_of(html), limit=MAX_BODY) if html is not None else ""


def attachments(msg: Message) -> tuple[list[Attachment], int]:
    """Up to ``MAX_ATTACHMENTS`` attachments by name and size, and how many there were in all."""
    found: list[Attachment] = []
    count = 0
    for part in walk(msg):
        if part.is_multipart() or not _is_attachment(part):
            continue
        count += 1
        if len(found) < MAX_ATTACHMENTS:
            found.append(Attachment(_filename(part), _size(part)))
    return found, count


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return " ".join(str(name).split())[:120] or "(unnamed)"


def _size(part: Message) -> int:
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    encoding = header(part, "Content-Transfer-Encoding").lower()
    if encoding == "base64":
        return len("".join(payload.split())) * 3 // 4
    return len(payload)


def parse_bytes(raw: bytes) -> tuple[EmailMessage, bool]:
    """The standard library's parse with policy ``default``, and whether the body was read.

    A message with more than ``MAX_BOUNDARIES`` multipart boundaries or ``MAX_TYPED_PARTS`` typed
    parts is read for its headers only: the parser recurses once per nesting level (RecursionError
    past about 1,000) and takes seconds for ten thousand parts, which would stall the source.
    """
    lowered = raw.lower()  # bytes.count is far cheaper than a regex over tens of megabytes
    if lowered.count(b"boundary=") > MAX_BOUNDARIES or lowered.count(b"\ncontent-type:") > MAX_TYPED_PARTS:
        parsed = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        parsed.set_payload("")
        return parsed, False
    try:
        parsed = message_from_bytes(raw, policy=policy.default)
    except RecursionError:
        return parse_bytes(b"Content-Type: text/plain\r\n\r\n")[0], False
    assert isinstance(parsed, EmailMessage)
    return parsed, True
