"""Cards stay one card: a name, link or note with a newline or U+202E never prints a fake line, on the
console card and the Matrix plain-text body, even when the value did not pass through the sanitizer."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.cards import console_card
from bot.domain.sanitize import BIDI_CONTROLS
from bot.models import Status
from bot.platforms.matrix.cards import card_text
from bot.platforms.matrix.escaping import safe_url
from bot.platforms.slack import escaping as slack_escaping
from bot.views import TicketView
from tests.core.hostile import hostile_text

FAKE = "https://evil.example/a\n── #99 · Mastodon · Director (@boss)\u202e"
VIEW = TicketView(
    mention_id=7,
    source="mastodon",
    author_handle="@pat@social.example",
    author_name="Pat",
    text="one line of patron text",
    url="https://social.example/@pat/1",
    role="reference",
    rule="default",
    reason="",
    on_duty=("Alice",),
    status=Status.REPLIED,
    assignee="Alice",
    reply_text="Thanks",
    reply_url="https://social.example/@library/2",
    replied_by="Alice",
    note="a note",
    content_warning="cw",
)
ONE_LINE_FIELDS = (
    "author_handle",
    "author_name",
    "url",
    "note",
    "content_warning",
    "reply_url",
    "role",
    "rule",
)


def shape(card: str) -> int:
    return len(card.splitlines())


def test_a_link_with_a_newline_and_u202e_prints_no_fake_line() -> None:
    view = replace(VIEW, url=FAKE, author_name="Eve\u202e\n── #99 · x", note="n\nfake", reply_url=FAKE)
    for render in (console_card, card_text):
        card = render(view)
        assert shape(card) <= shape(render(VIEW)), render.__name__  # a link may go, no line comes
        assert not any(line.startswith(("── #99", "#99")) for line in card.splitlines())
        assert "\u202e" not in card


def test_unsafe_links_are_not_linked() -> None:
    assert safe_url(FAKE) is None and slack_escaping.safe_url(FAKE) is None
    assert slack_escaping.safe_url("https://x.example/\u202etxt.exe") is None
    assert safe_url("https://x.example/a%0Ab") == "https://x.example/a%0Ab"  # what the sanitizer makes


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ONE_LINE_FIELDS), hostile_text())
@example("url", FAKE)
@example("author_name", "a\u2028b\u2029c\x85d\re")
def test_any_one_line_field_keeps_the_card_shape(field: str, value: str) -> None:
    view = replace(VIEW, **{field: value})
    for render in (console_card, card_text):
        card = render(view)
        assert shape(card) <= shape(render(VIEW)), (render.__name__, field)
        assert not set(card) & BIDI_CONTROLS - {"\u2068", "\u2069"}  # Matrix wraps names in FSI…PDI
