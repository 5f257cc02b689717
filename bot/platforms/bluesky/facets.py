"""Bluesky rich text: validating incoming facets, building outgoing ones (UTF-8 byte offsets), TIDs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"
S32 = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_MENTION_IN_TEXT = re.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9.-]+)\b")
_URL_IN_TEXT = re.compile(r"(?:^|(?<=[\s(]))(https?://\S+)")
_TRAILING = ".,;:!?\"'"
_ELLIPSIS = ("...", "…")


@dataclass(frozen=True, slots=True)
class Facet:
    """One facet with a byte range already checked against its text."""

    byte_start: int
    byte_end: int
    kind: str  # MENTION, LINK or TAG
    value: str  # the DID, URI or tag


def valid_facets(text: str, facets: Any) -> list[Facet]:
    """Keep only the facets whose ranges and features make sense for ``text``.

    A facet is dropped (never an exception) when its range is not two integers with
    ``0 <= start < end <= len(utf8)``, cuts a UTF-8 character, overlaps an earlier facet, or
    when its feature does not fit the text it covers (a mention that does not start with
    ``@``, a tag without ``#``, a link whose URI is not http(s), a DID that is not ``did:``).
    """
    raw = text.encode("utf-8")
    found: list[Facet] = []
    for facet in facets if isinstance(facets, list) else []:
        span = _span(raw, facet)
        if span is None:
            continue
        start, end, covered = span
        for feature in facet.get("features") or []:
            checked = _feature(feature, covered)
            if checked is not None:
                found.append(Facet(start, end, *checked))
                break
    found.sort(key=lambda facet: facet.byte_start)
    kept: list[Facet] = []
    for facet in found:
        if not kept or facet.byte_start >= kept[-1].byte_end:
            kept.append(facet)
    return kept


def _span(raw: bytes, facet: Any) -> tuple[int, int, str] | None:
    index = facet.get("index") if isinstance(facet, Mapping) else None
    if not isinstance(index, Mapping):
        return None
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not (type(start) is int and type(end) is int and 0 <= start < end <= len(raw)):
        return None
    try:
        return start, end, raw[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _feature(feature: Any, covered: str) -> tuple[str, str] | None:
    if not isinstance(feature, Mapping):
        return None
    kind = feature.get("$type")
    if kind == MENTION:
        did = feature.get("did")
        ok = isinstance(did, str) and did.startswith("did:") and covered.startswith("@")
        return (MENTION, did) if ok and isinstance(did, str) else None
    if kind == LINK:
        uri = feature.get("uri")
        ok = isinstance(uri, str) and uri.startswith(("https://", "http://"))
        return (LINK, uri) if ok and isinstance(uri, str) else None
    if kind == TAG:
        tag = feature.get("tag")
        ok = isinstance(tag, str) and bool(tag) and covered.startswith(("#", "＃"))
        return (TAG, tag) if ok and isinstance(tag, str) else None
    return None


def expand_links(text: str, facets: list[Facet]) -> str:
    """Show each link's real URI: a shortened display (``example.org/long…``) becomes the URI;
    link text that is not the URI is kept and followed by the URI in parentheses."""
    raw = text.encode("utf-8")
    out: list[bytes] = []
    cursor = 0
    for facet in facets:
        if facet.kind != LINK:
            continue
        shown = raw[facet.byte_start : facet.byte_end].decode("utf-8")
        out.append(raw[cursor : facet.byte_start])
        out.append((facet.value if _abbreviates(shown, facet.value) else f"{shown} ({facet.value})").encode())
        cursor = facet.byte_end
    out.append(raw[cursor:])
    return b"".join(out).decode("utf-8")


def _abbreviates(shown: str, uri: str) -> bool:
    def bare(value: str) -> str:
        return value.removeprefix("https://").removeprefix("http://").removeprefix("www.")

    stem = shown.strip()
    for mark in _ELLIPSIS:
        stem = stem.removesuffix(mark)
    return bool(stem) and bare(uri).startswith(bare(stem))


@dataclass(frozen=True, slots=True)
class Span:
    """A mention or link found in outgoing text, in UTF-8 byte offsets."""

    byte_start: int
    byte_end: int
    kind: str
    value: str  # handle (without @) for mentions, URI for links


def detect_spans(text: str) -> list[Span]:
    """Find ``@handle`` mentions and http(s) links in staff text (byte offsets, like the app)."""
    spans: list[Span] = []
    for match in _MENTION_IN_TEXT.finditer(text):
        handle = match.group(1).rstrip(".")
        if len(handle) <= 253 and _HANDLE.match(handle):
            start = match.start(1) - 1
            spans.append(_span_of(text, start, start + 1 + len(handle), MENTION, handle.lower()))
    for match in _URL_IN_TEXT.finditer(text):
        uri = match.group(1)
        while uri and uri[-1] in _TRAILING:
            uri = uri[:-1]
        if uri.endswith(")") and "(" not in uri:
            uri = uri[:-1]
        if len(uri) > len("https://"):
            spans.append(_span_of(text, match.start(1), match.start(1) + len(uri), LINK, uri))
    return sorted(spans, key=lambda span: span.byte_start)


def _span_of(text: str, start: int, end: int, kind: str, value: str) -> Span:
    byte_start = len(text[:start].encode("utf-8"))
    return Span(byte_start, byte_start + len(text[start:end].encode("utf-8")), kind, value)


def facet_records(spans: list[Span], dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` records; a mention whose handle did not resolve gets none."""
    records: list[dict[str, Any]] = []
    for span in spans:
        if span.kind == MENTION:
            did = dids.get(span.value)
            if not did:
                continue
            feature: dict[str, str] = {"$type": MENTION, "did": did}
        else:
            feature = {"$type": LINK, "uri": span.value}
        index = {"byteStart": span.byte_start, "byteEnd": span.byte_end}
        records.append({"$type": "app.bsky.richtext.facet", "index": index, "features": [feature]})
    return records


def tid_for(key: str, *, anchor: datetime) -> str:
    """A valid TID record key derived only from ``key`` and ``anchor`` (the patron post's time).

    The same idempotency key always gives the same key, so a retried reply collides with
    the record it already created instead of posting twice. The timestamp part sits within a
    second after ``anchor``; the clock id and microseconds come from a hash of ``key``.
    """
    if anchor.tzinfo is None:  # stored times may come back naive; they are UTC
        anchor = anchor.replace(tzinfo=UTC)
    number = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    micros = int(anchor.timestamp()) * 1_000_000 + number % 1_000_000
    micros = min(max(micros, 0), (1 << 53) - 1)
    return _s32(micros, 11) + _s32((number >> 32) % 1024, 2)


def _s32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(S32[value & 31])
        value >>= 5
    return "".join(reversed(chars))
