"""Matrix cards: patron text can never ping, inject markup, reorder the card or overflow an event."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import StaffRef, Status, Visibility
from bot.platforms.matrix import card_events as matrix_card_events
from bot.platforms.matrix import cards as matrix_cards
from bot.platforms.matrix import escaping as matrix_escaping
from bot.platforms.matrix.card_events import (
    DEDUPE_KEY,
    MENTION_KEY,
    card_content,
    edit_content,
    notice_content,
)
from bot.platforms.matrix.cards import card_html, card_text
from bot.platforms.matrix.escaping import clean, cut, safe_url
from bot.views import TicketView

EVENT_LIMIT = 65_536
ALLOWED_TAGS = {"p", "b", "i", "a", "blockquote", "code", "br", "sub"}


def view(**changes: object) -> TicketView:
    base = TicketView(
        mention_id=42,
        source="matrix",
        author_handle="@pat:example.org",
        author_name="Pat Patron",
        text="Can I renew my books online?",
        url="https://matrix.to/#/!room:example.org/$event",
        role="circulation",
        rule="renewals",
        reason="keyword renew",
        on_duty=("Sam Staff",),
        status=Status.POSTED,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class TagCollector(HTMLParser):
    """Every tag and attribute the HTML really contains."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = TagCollector()
    parser.feed(html)
    return parser.tags


def hrefs(html: str) -> list[str]:
    return [
        value or "" for tag, attrs in tags_of(html) if tag == "a" for name, value in attrs if name == "href"
    ]


def event_size(content: dict[str, object]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode())


HOSTILE = (
    '@room <a href="https://evil.example/x">click</a> <script>alert(1)</script> '
    "https://matrix.to/#/@boss:example.org @boss:example.org \u202eevil\u202c \u2067rtl\u2069 &amp;"
)


def test_card_shows_every_field() -> None:
    html, text = card_html(view()), card_text(view())
    for needle in ("#42", "matrix", "Pat Patron", "renew my books", "renewals", "circulation", "Sam Staff"):
        assert needle in html and needle in text
    assert "🆕 Open" in text
    assert hrefs(html) == ["https://matrix.to/#/!room:example.org/$event"]


def test_hostile_text_cannot_inject_markup_or_links() -> None:
    hostile = view(text=HOSTILE, author_name='<b onclick="x">Mallory</b>', content_warning="<i>cw</i>")
    html = card_html(hostile)
    assert "<script" not in html and '<a href="https://evil' not in html
    assert "&lt;script&gt;" in html  # shown, escaped
    assert {tag for tag, _ in tags_of(html)} <= ALLOWED_TAGS
    assert hrefs(html) == ["https://matrix.to/#/!room:example.org/$event"]  # only the card's own link
    assert all(not attrs or tag == "a" for tag, attrs in tags_of(html))


def test_hostile_text_cannot_ping() -> None:
    for render in (card_html, card_text):
        out = render(view(text=HOSTILE, author_name="@room"))
        assert "@room" not in out
        assert "@boss:example.org" not in out
        assert "matrix.to/#/@boss" not in out
    content = card_content(view(text=HOSTILE, on_duty_refs=()), dedupe_key="k")
    assert content["m.mentions"] == {}
    edit = edit_content(view(text=HOSTILE), card_event_id="$card")
    assert edit["m.mentions"] == {} and edit["m.new_content"]["m.mentions"] == {}  # type: ignore[index]


def test_bidi_overrides_are_removed_and_text_isolated() -> None:
    out = card_text(view(text="abc\u202edcba\u202c", author_name="\u202eeman"))
    assert "\u202e" not in out and "\u202c" not in out
    assert "\u2068abcdcba\u2069" in out  # patron text sits in a first-strong isolate


def test_control_characters_are_removed() -> None:
    assert clean("a\x00b\x1bc\nd\te") == "abc\nd\te"


def test_huge_bodies_are_cut_on_grapheme_boundaries() -> None:
    family = "👨\u200d👩\u200d👧"  # one grapheme, five code points
    text = family * 2_000
    out = clean(text)
    assert out.endswith("…")
    body = out[:-1]
    assert len(body) <= matrix_escaping.TEXT_LIMIT
    assert body == family * (len(body) // len(family))  # never half a family
    assert event_size(card_content(view(text=text), dedupe_key="k")) < 20_000


def test_cut_leaves_short_text_alone() -> None:
    assert cut("short", 10) == "short"


def test_on_duty_staff_are_pinged_on_the_first_post_only() -> None:
    refs = (StaffRef("matrix", "@sam:example.org", "Sam"), StaffRef("slack", "U1", "Sam"))
    refs += (StaffRef("matrix", "not an id", "x"),)
    content = card_content(view(on_duty_refs=refs), dedupe_key="k")
    assert content["m.mentions"] == {"user_ids": ["@sam:example.org"]}
    assert content[MENTION_KEY] == 42 and content[DEDUPE_KEY] == "k"
    edit = edit_content(view(on_duty_refs=refs), card_event_id="$card")
    assert edit["m.mentions"] == {}


def test_edit_replaces_the_card() -> None:
    edit = edit_content(view(status=Status.CLAIMED, assignee="Sam Staff"), card_event_id="$card")
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$card"}
    new = edit["m.new_content"]
    assert "✋ Claimed by \u2068Sam Staff\u2069" in new["body"]  # type: ignore[index]
    assert new[MENTION_KEY] == 42  # type: ignore[index]


def test_reply_and_status_lines() -> None:
    replied = view(
        status=Status.REPLIED,
        assignee="Sam",
        reply_text="Yes <b>you</b> can",
        reply_url="https://matrix.to/#/!r/$reply",
        replied_by="Sam",
    )
    html = card_html(replied)
    assert "Yes &lt;b&gt;you&lt;/b&gt; can" in html and "https://matrix.to/#/!r/$reply" in hrefs(html)
    pending = card_text(replace(replied, reply_url=None))
    assert "sending…" in pending
    queued = card_text(view(status=Status.QUEUED, queued_until=datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))
    assert "Queued until Mon 5 Jan 09:00 UTC" in queued
    direct = card_text(view(visibility=Visibility.DIRECT, can_reply=False))
    assert "private message" in direct and "read-only source" in direct


def test_unsafe_urls_are_not_linked() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://matrix.to/#/@boss:example.org") is None
    assert safe_url("https://matrix.to/#/%40boss:example.org") is None
    assert safe_url("https://library.example/x") == "https://library.example/x"
    html = card_html(view(url='https://x.example/"><script>'))
    assert "<script" not in html


def test_notice_pings_only_the_actor() -> None:
    notice = notice_content(
        "#4 is already claimed by Sam. @room", thread_root="$card", ping="@kim:example.org"
    )
    assert notice["msgtype"] == "m.notice"
    assert notice["m.mentions"] == {"user_ids": ["@kim:example.org"]}
    assert notice["m.relates_to"]["rel_type"] == "m.thread"  # type: ignore[index]
    assert "@room" not in notice["body"]  # type: ignore[operator]
    silent = notice_content("hello", reply_to="$cmd")
    assert silent["m.mentions"] == {} and silent["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(min_size=0, max_size=5_000),
    name=st.text(max_size=400),
    reply=st.text(max_size=3_000),
)
def test_property_no_markup_no_ping_bounded_size(text: str, name: str, reply: str) -> None:
    hostile = view(text=text, author_name=name, author_handle=name, reply_text=reply or None, note=name)
    html = card_html(hostile)
    assert {tag for tag, _ in tags_of(html)} <= ALLOWED_TAGS
    assert hrefs(html) == ["https://matrix.to/#/!room:example.org/$event"]
    for out in (html, card_text(hostile)):
        assert not re.search("@(room|[a-z])", out, re.IGNORECASE)
        assert not re.search("[\u202a-\u202e\u2066\u2067]", out)
    assert event_size(edit_content(hostile, card_event_id="$card")) < EVENT_LIMIT - 4_096


def test_worst_case_sizes_fit_in_an_event() -> None:
    worst = "&" * 10_000
    hostile = view(
        text=worst, author_name=worst, author_handle=worst, reply_text=worst, note=worst, rule=worst
    )
    hostile = replace(hostile, role=worst, on_duty=(worst,) * 50, content_warning=worst, source=worst)
    assert event_size(edit_content(hostile, card_event_id="$card")) < EVENT_LIMIT - 4_096


@pytest.mark.parametrize("module", [matrix_cards, matrix_escaping, matrix_card_events])
def test_cards_module_is_pure(module: ModuleType) -> None:
    tree = ast.parse(Path(str(module.__file__)).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        (node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"asyncio", "nio", "aiohttp", "httpx", "sqlalchemy"}
