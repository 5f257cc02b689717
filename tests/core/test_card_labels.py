"""The three card renderers (console, Slack, Matrix) show the same status label for every status."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.core.cards import STATUS_LABELS, console_card, status_label
from bot.models import Status, TicketView
from bot.platforms.matrix.cards import card_html, card_text, edit_content
from bot.platforms.slack.cards import card_blocks

BASE = TicketView(
    mention_id=5,
    source="mastodon",
    author_handle="@pat@example.social",
    author_name="Pat",
    text="Open on Sunday?",
    url="https://example.social/@pat/5",
    role="circulation",
    rule="default",
    reason="",
    on_duty=("Alice",),
    status=Status.POSTED,
    assignee="Sam",
    reply_text="Yes",
    replied_by="Sam",
    queued_until=datetime(2026, 1, 5, 9, tzinfo=UTC),
)


@pytest.mark.parametrize("status", list(Status))
def test_every_renderer_shows_the_one_label(status: Status) -> None:
    view = replace(BASE, status=status)
    label = status_label(status)
    slack = json.dumps(card_blocks(view), ensure_ascii=False)
    shown = {
        "console": console_card(view),
        "slack": slack,
        "matrix text": card_text(view),
        "matrix html": card_html(view),
        "matrix edit": edit_content(view, card_event_id="$e")["body"],
    }
    for where, text in shown.items():
        assert label in text, where
    # no renderer shows another status's label (e.g. a second emoji for the same status)
    others = {status_label(s) for s in Status} - {label}
    for where, text in shown.items():
        assert not [o for o in others if o in text], where


def test_one_emoji_and_one_word_per_status() -> None:
    assert set(STATUS_LABELS) == set(Status)
    assert status_label(Status.ESCALATED) == "🔥 Escalated"
    open_ = {status_label(s) for s in (Status.NEW, Status.ROUTED, Status.POSTED)}
    assert len(open_) == 1
    assert len({status_label(s) for s in Status}) == len(Status) - 2  # the three open ones share
