"""Pure parsing for the feeds adapter: hardened XML check, feedparser entries -> Mention."""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import re
import xml.sax
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import defusedxml.sax
import feedparser
import grapheme
from defusedxml import DefusedXmlException

from bot.domain.html_text import html_to_text
from bot.domain.sanitize import UNKNOWN_TIME, safe_mention
from bot.errors import PermanentError
from bot.models import Mention

log = logging.getLogger(__name__)

SOURCE = "feeds"
MAX_TEXT = 8000  # characters of title + summary kept; desks cut further for their own limits
MAX_ID = 255  # longer ids are replaced by their hash so they fit any store column

_GOOGLE_HOST = re.compile(r"(?:www\.)?google\.(?:[a-z]{2,3}|com?\.[a-z]{2})")
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_LANG = re.compile(r"[a-z]{2,3}")
_CHARREF = re.compile(r"&#(x[0-9a-fA-F]{1,12}|[0-9]{1,12});", re.IGNORECASE)


class UnsafeFeed(PermanentError):
    """The document declares a DTD or entities (billion laughs, external entities): refused."""


class MalformedFeed(PermanentError):
    """The document is not a feed we can read (broken XML that is not UTF-8, an HTML page, ...)."""


def check_xml(data: bytes) -> bool:
    """Refuse documents that could make an XML parser expand or fetch entities.

    Why this shape: feedparser first tries a strict ``xml.sax`` parser (expat, or libxml2 when
    ``drv_libxml2`` is installed) and, when the document is not well-formed, falls back to its
    sgmllib-style loose parser. It strips most ``<!ENTITY>`` declarations itself and turns off
    external general entities, but that is regex work on a prolog and depends on the SAX driver
    found at run time. Entities can only be declared in a DTD, so a feed without a DTD cannot
    carry an entity attack through either parser. We therefore run defusedxml's expat reader
    with ``forbid_dtd`` first (streaming, no tree) and refuse any DTD before feedparser sees the
    bytes. Feeds never need a DTD; HTML entities inside them are escaped or in CDATA.

    Returns:
        True when the bytes are well-formed XML without a DTD; False when they are not
        well-formed (the caller may still try the loose parser, see ``parse_feed``).

    Raises:
        UnsafeFeed: the document has a DTD, entity declarations or external references.
    """
    try:
        defusedxml.sax.parseString(
            data, xml.sax.handler.ContentHandler(), forbid_dtd=True, forbid_entities=True
        )
    except DefusedXmlException as exc:
        raise UnsafeFeed(f"refused XML: {type(exc).__name__}") from None
    except xml.sax.SAXException:
        return False
    return True


def parse_feed(data: bytes, *, feed_url: str, now: datetime) -> list[Mention]:
    """Parse an RSS or Atom document into mentions, in document order, one entry at a time.

    A document that expat finds malformed is handed to feedparser's loose parser only when it
    contains no ``<!DOCTYPE``/``<!ENTITY`` at all (expat may have stopped before reaching one),
    and feedparser is told it is UTF-8 so it cannot re-decode the bytes into something that
    declares entities. Bytes that are not UTF-8 become U+FFFD first: one entry with a broken
    byte must not hide the others. An entry that still cannot be read is skipped alone.

    Args:
        data: the raw document.
        feed_url: the configured feed URL; qualifies feed-local ids and resolves relative links.
        now: creation time for entries without a usable date.

    Raises:
        UnsafeFeed: the document declares a DTD or entities.
        MalformedFeed: the document is not a readable feed.
    """
    headers = {"content-location": feed_url}
    if not check_xml(data):
        text = data.decode("utf-8", errors="replace")
        if _DECLARATION.search(text):
            raise UnsafeFeed("refused XML: declaration in a malformed document")
        data = _CHARREF.sub(_safe_charref, text).encode("utf-8")
        headers["content-type"] = "application/xml; charset=utf-8"
    # BytesIO, never bare bytes: feedparser treats a str/bytes argument as a path or URL first.
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True)
    if not parsed.get("version") and not parsed.get("entries"):
        raise MalformedFeed("not an RSS or Atom feed")
    feed_lang = _lang(parsed.get("feed", {}).get("language"))
    mentions = []
    for index, entry in enumerate(parsed["entries"]):
        try:
            mention = parse_entry(entry, feed_url=feed_url, now=now, feed_lang=feed_lang)
        except Exception as exc:  # one unreadable entry must not hide the rest of the document
            log.warning("feed entry %d unreadable (%s); skipped", index + 1, type(exc).__name__)
            continue
        mentions.append(mention)
    return mentions


def _safe_charref(match: re.Match[str]) -> str:
    """A reference to NUL, a surrogate or past U+10FFFF becomes U+FFFD: the loose parser would raise
    on it and lose the whole document (and none of them is a character a patron can type)."""
    ref = match.group(1)
    code = int(ref[1:], 16) if ref[0] in "xX" else int(ref)
    return "&#xFFFD;" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match.group(0)


def parse_entry(
    entry: Mapping[str, Any], *, feed_url: str, now: datetime, feed_lang: str | None = None
) -> Mention:
    """Turn one feedparser entry into a read-only ``Mention``.

    Args:
        entry: a feedparser entry dict.
        feed_url: the configured feed URL (qualifies ids that are only unique inside the feed).
        now: used as ``created_at`` when the entry has no usable published/updated date.
        feed_lang: the channel-level language, used when the entry has none.
    """
    title = _field_text(entry, "title")
    summary = _field_text(entry, "summary")
    if not summary and entry.get("content"):
        summary = _plain(entry["content"][0].get("value", ""), html=True)
    text = _join(title, summary)
    raw_link = str(entry.get("link") or "").strip()
    url = _web_url(unwrap_redirect(raw_link))
    host = _site(url)
    author = " ".join(str(entry.get("author") or "").split())
    mention = Mention(
        source=SOURCE,
        external_id=entry_id(entry, feed_url=feed_url, link=raw_link, text=text),
        text=text,
        created_at=_created_at(entry, now),
        url=url,
        author_id=host,
        author_handle=host,
        author_name=author or host,
        lang=_entry_lang(entry) or feed_lang,
        can_reply=False,
        reply_ref="",
    )
    return safe_mention(mention, now=now)


def entry_id(entry: Mapping[str, Any], *, feed_url: str, link: str, text: str) -> str:
    """A stable id: the entry's id/guid, else its link, else a hash of its content.

    Atom ids and permalink guids are absolute IRIs and globally unique, so they are kept as
    they are (the same post in two feeds dedupes). Anything without a scheme (``"42"``) is
    only unique inside its feed and is qualified with the feed URL.
    """
    raw = str(entry.get("id") or "").strip() or link
    if not raw:
        return "sha256:" + hashlib.sha256(f"{text}\n{feed_url}".encode()).hexdigest()
    if ":" not in raw:
        raw = f"{feed_url}#{raw}"
    if len(raw) > MAX_ID:
        return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
    return raw


def unwrap_redirect(url: str) -> str:
    """Return the real target of a ``google.<tld>/url?...&url=<real>`` (or ``q=``) redirect.

    Anything else, or a redirect whose target is not an absolute http(s) URL, is returned as is.
    """
    parts = urlsplit(url)
    if parts.path != "/url" or not _GOOGLE_HOST.fullmatch((parts.hostname or "").lower()):
        return url
    query = parse_qs(parts.query)
    for key in ("url", "q"):
        for value in query.get(key, ()):
            target = urlsplit(value)
            if target.scheme in ("http", "https") and target.hostname:
                return value
    return url


def _join(title: str, summary: str) -> str:
    """Title, then the summary unless it only repeats the title; capped on a grapheme boundary."""
    if not summary or summary == title:
        text = title
    elif not title:
        text = summary
    else:
        text = f"{title}\n{summary}"
    if len(text) > MAX_TEXT:
        text = text[: grapheme.safe_split_index(text, MAX_TEXT - 1)] + "…"
    return text


def _field_text(entry: Mapping[str, Any], name: str) -> str:
    value = str(entry.get(name) or "")
    detail = entry.get(f"{name}_detail") or {}
    return _plain(value, html=detail.get("type", "text/html") != "text/plain")


def _plain(value: str, *, html: bool) -> str:
    """One line of plain text (Google Alerts' ``<b>`` unwrapped, entities decoded once)."""
    return " ".join((html_to_text(value) if html else value).split())


def _created_at(entry: Mapping[str, Any], now: datetime) -> datetime:
    """The entry's own date; ``now`` when it gives none, ``UNKNOWN_TIME`` (marked on the card)
    when it gives one that cannot be read."""
    for key in ("published", "updated", "created"):
        stamp = entry.get(f"{key}_parsed")
        if stamp:
            try:
                return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
            except (TypeError, ValueError, OverflowError, OSError):
                continue
    given = any(str(entry.get(key) or "").strip() for key in ("published", "updated", "created"))
    return UNKNOWN_TIME if given else now


def _entry_lang(entry: Mapping[str, Any]) -> str | None:
    details = [entry.get("title_detail"), entry.get("summary_detail"), *(entry.get("content") or ())]
    for detail in details:
        lang = _lang((detail or {}).get("language"))
        if lang:
            return lang
    return None


def _lang(value: object) -> str | None:
    """``"fr-CA"`` -> ``"fr"``: the primary subtag, as the other sources report it."""
    if not isinstance(value, str):
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if _LANG.fullmatch(primary) else None


def _web_url(url: str) -> str | None:
    """Only absolute http(s) links reach a card (no ``javascript:``, ``data:`` or relative paths)."""
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _site(url: str | None) -> str:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removeprefix("www.")
