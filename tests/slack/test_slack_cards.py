"""Pure rendering: hostile patron text never pings, never breaks limits, never hides the buttons."""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path
from typing import Any

import grapheme
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import StaffRef, Status
from bot.platforms.slack.buttons import (
    CLAIM,
    DIGEST_PAGE,
    IGNORE,
    NOTE,
    REASSIGN,
    REPLY,
    RESOLVE_READ,
    parse_button_value,
    parse_digest_page,
)
from bot.platforms.slack.cards import card_blocks, digest_blocks
from bot.platforms.slack.escaping import notice_text, safe_text, utf16_len
from tests.fakes.slack_blockkit import check_blocks
from tests.slack.slack_helpers import view

HOSTILE = [
    "<!channel> please answer",
    "@here @channel @everyone hello",
    "ping <@U123> and <@W0ADMIN|admin>",
    "<!subteam^S0STAFF|@staff> look",
    "<https://evil.example|https://library.example> is our site",
    "a" * 100_000,
    "👨‍👩‍👧‍👦" * 4000,
    "abc\u202eevil\u202c \u2066x\u2069 \u200f",
    "e\u0301" * 5000,
    "&lt;!channel&gt; & <> &amp;",
    "```\n*bold* _it_ ~strike~ > quote\n```",
    "\x00\x07\x1b[31m control \x7f",
    "",
]
PING = re.compile(r"<[!@#]|<https?:|@(?:here|channel|everyone)\b", re.IGNORECASE)
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def texts(node: Any) -> list[str]:
    """Every ``text`` string in a Block Kit structure."""
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    return []


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [el["action_id"] for b in blocks if b["type"] == "actions" for el in b["elements"]]


def assert_safe(blocks: list[dict[str, Any]], allowed_pings: tuple[str, ...] = ()) -> None:
    assert check_blocks(blocks) == []  # Slack would accept it (lengths in UTF-16 units, 50 blocks)
    for text in texts(blocks):
        leftover = text
        for ping in allowed_pings:
            leftover = leftover.replace(ping, "")
        leftover = re.sub(r"<https://example\.social/@patron/1\|open the post>", "", leftover)
        assert not PING.search(leftover), leftover[:200]
        assert not BIDI.search(text)


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_renders_safely(text: str) -> None:
    card = view(1, text=text, author_name=text[:500], author_handle=text[:300], content_warning=text[:400])
    blocks = card_blocks(card)
    assert_safe(blocks)
    assert action_ids(blocks) == [CLAIM, REPLY, REASSIGN, IGNORE, NOTE]  # buttons intact, in order
    assert json.loads(blocks[-1]["elements"][0]["value"]) == {"m": 1}


def test_link_label_trick_shows_the_real_target_escaped() -> None:
    body = card_blocks(view(1, text="<https://evil.example|https://library.example>"))[2]["text"]["text"]
    assert body == "&lt;https://evil.example|https://library.example&gt;"


def test_cut_on_grapheme_boundaries_within_limits() -> None:
    family = "👨‍👩‍👧‍👦"
    cut = safe_text(family * 4000, 3000)
    assert cut.endswith("…") and utf16_len(cut) <= 3000
    kept = cut.removesuffix("…")
    assert kept == family * grapheme.length(kept)  # only whole families
    accents = safe_text("e\u0301" * 5000, 101)
    assert accents.removesuffix("…") == "e\u0301" * 50


@given(st.text(), st.integers(min_value=2, max_value=400))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_safe_text_any_input(text: str, limit: int) -> None:
    out = safe_text(text, limit)
    assert utf16_len(out) <= limit
    assert not PING.search(out) and not BIDI.search(out)
    assert "<" not in out and ">" not in out
    if 6 * utf16_len(text) <= limit:  # fits even fully escaped: nothing may be lost
        assert not out.endswith("…") or text.endswith("…")
        assert len(html.unescape(out).replace("\u200b", "")) == len(text.replace("\u200b", ""))


@given(
    text=st.text(max_size=6000),
    name=st.text(max_size=300),
    handle=st.text(max_size=300),
    cw=st.text(max_size=400),
    reply=st.text(max_size=2000),
    note=st.text(max_size=1200),
    url=st.one_of(st.none(), st.text(max_size=80), st.just("https://x.example/a|b>c&d")),
    status=st.sampled_from(list(Status)),
    can_reply=st.booleans(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_card_is_valid_and_cannot_ping(
    text: str,
    name: str,
    handle: str,
    cw: str,
    reply: str,
    note: str,
    url: str | None,
    status: Status,
    can_reply: bool,
) -> None:
    card = view(
        42,
        text=text,
        author_name=name,
        author_handle=handle,
        content_warning=cw,
        reply_text=reply,
        replied_by=name,
        note=note,
        url=url,
        status=status,
        can_reply=can_reply,
        assignee=name or None,
        on_duty=(name, handle),
    )
    blocks = card_blocks(card)
    assert_safe(blocks)
    # NEW is never stored (ingest writes routed or queued) and no transition starts there: no buttons
    if status not in (Status.NEW, Status.RESOLVED, Status.IGNORED):
        ids = action_ids(blocks)
        assert ids[-3:] == [REASSIGN, IGNORE, NOTE] and len(ids) == len(set(ids))
        values = [
            parse_button_value(el.get("value"))
            for b in blocks
            if b["type"] == "actions"
            for el in b["elements"]
        ]
        assert all(v is not None and v["m"] == 42 for v in values)


def test_staff_pings_only_for_linked_slack_users() -> None:
    card = view(
        1,
        status=Status.CLAIMED,
        assignee="Alice",
        assignee_refs=(StaffRef("slack", "U0ALICE01", "Alice"), StaffRef("matrix", "@a:x", "Alice")),
        on_duty=("Alice", "Bob"),
        on_duty_refs=(StaffRef("slack", "U0ALICE01", "Alice"), StaffRef("slack", "not-an-id", "Bob")),
    )
    blocks = card_blocks(card)
    assert_safe(blocks, allowed_pings=("<@U0ALICE01>",))
    joined = " ".join(texts(blocks))
    assert "on duty: <@U0ALICE01>, Bob" in joined and "Claimed by <@U0ALICE01>" in joined


def test_buttons_follow_the_status() -> None:
    claimed = action_ids(card_blocks(view(1, status=Status.CLAIMED)))
    snoozes = ["pd_snooze", "pd_snooze_2h", "pd_snooze_morning", "pd_snooze_at"]
    assert claimed == [REPLY, "pd_resolve", RESOLVE_READ, *snoozes, "pd_release", REASSIGN, IGNORE, NOTE]
    snoozed = card_blocks(view(1, status=Status.SNOOZED, assignee="Alice"))
    assert action_ids(snoozed) == [
        "pd_wake",
        REPLY,
        "pd_resolve",
        RESOLVE_READ,
        "pd_release",
        REASSIGN,
        IGNORE,
        NOTE,
    ]
    assert "Snoozed until the patron answers" in json.dumps(snoozed)
    held = card_blocks(view(1, status=Status.APPROVAL, reply_text="We are sorry", replied_by="Bob"))
    assert action_ids(held)[:3] == ["pd_approve", "pd_edit", "pd_reject"] and REPLY not in action_ids(held)
    assert "held, not published" in json.dumps(held) and "We are sorry" in json.dumps(held)
    # a closed card keeps Note & tags only: tags are corrected and notes added after Resolve
    assert action_ids(card_blocks(view(1, status=Status.RESOLVED))) == [NOTE]
    assert action_ids(card_blocks(view(1, status=Status.IGNORED))) == [NOTE]
    replied = card_blocks(view(1, status=Status.REPLIED, reply_text="Yes", reply_url="https://x.example/r"))
    assert "see the published reply" in json.dumps(replied)


def test_digest_lists_waiting_mentions_with_claim_buttons() -> None:
    waiting = [view(n, text="<!here> " * 50) for n in range(1, 61)]
    blocks = digest_blocks(waiting, total=70)
    assert_safe(blocks)
    claims = [b["accessory"] for b in blocks if b.get("accessory")]
    assert len(claims) == 40 and {json.loads(c["value"])["m"] for c in claims} == set(range(1, 41))
    assert "Page 1 of 2: 1–40 of 60 waiting" in json.dumps(blocks, ensure_ascii=False)
    assert "every card is posted" in json.dumps(digest_blocks([], total=70, done=True))


def _pages(blocks: list[dict[str, Any]]) -> list[int | None]:
    return [
        parse_digest_page(e.get("value"))
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == DIGEST_PAGE
    ]


@pytest.mark.slow
@given(st.integers(min_value=1, max_value=2500), st.integers(min_value=-5, max_value=100))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_digest_pages_reach_every_waiting_mention(count: int, asked: int) -> None:
    """Turning pages from the first reaches every waiting mention once, within Block Kit's limits."""
    waiting = [view(n) for n in range(1, count + 1)]
    seen: list[int] = []
    page: int | None = 0
    while page is not None:
        blocks = digest_blocks(waiting, total=count, page=page)
        assert len(blocks) <= 50
        seen += [json.loads(b["accessory"]["value"])["m"] for b in blocks if b.get("accessory")]
        later = [p for p in _pages(blocks) if p is not None and p > page]
        page = later[0] if later else None
    assert seen == list(range(1, count + 1))
    clamped = digest_blocks(waiting, total=count, page=asked)  # a stale or forged page is clamped
    assert [b for b in clamped if b.get("accessory")]


@pytest.mark.parametrize(
    "value", [None, "", "x", "[]", '{"page": -1}', '{"page": "1"}', '{"page": 1e9}', "{" * 200]
)
def test_digest_page_value_hostile(value: str | None) -> None:
    assert parse_digest_page(value) is None


def test_notice_text_is_safe() -> None:
    out = notice_text("#3 is already claimed by <@U1> @channel", ("x" * 5000,))
    assert "&lt;@U1&gt;" in out and "@\u200bchannel" in out and utf16_len(out) <= 3900


def test_button_values_are_ours_only() -> None:
    assert parse_button_value('{"m": 3}') == {"m": 3}
    for bad in ("click_me_123", "", None, '{"m": "3"}', '{"m": 0}', "[1]", '{"m": true}'):
        assert parse_button_value(bad) is None


def test_cards_module_is_pure() -> None:
    forbidden = {"asyncio", "httpx", "aiohttp", "slack_bolt", "sqlalchemy", "nio"}
    for name in (
        "cards.py",
        "buttons.py",
        "escaping.py",
        "modal.py",
        "pace.py",
        "clicks.py",
        "reply_draft.py",
        "card_forms.py",
        "reassign_form.py",
        "note_form.py",
        "resolve_form.py",
    ):
        tree = ast.parse((Path("bot/platforms/slack") / name).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & forbidden, (name, imported & forbidden)
