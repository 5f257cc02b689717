"""The three card renderers (console, Slack, Matrix) show the same status label for every status, and
the label table in bot/domain/labels.py is the only one."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.cards import console_card
from bot.domain.labels import STATUS_LABELS, status_label
from bot.domain.transitions import TABLE
from bot.models import Status
from bot.platforms.matrix.card_events import edit_content
from bot.platforms.matrix.cards import card_html, card_text
from bot.platforms.slack.cards import card_blocks
from bot.views import TicketView

BOT = Path(__file__).resolve().parents[2] / "bot"

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


def test_every_status_of_the_transition_table_has_a_label() -> None:
    named = {status for rule in TABLE.values() for status in (*rule.moves, *rule.stays, rule.to)}
    named.discard(None)
    assert named, "the table names statuses"
    for status in named:
        assert status in STATUS_LABELS, status
        icon, word = STATUS_LABELS[status]
        assert icon.strip() and word.strip()


def status_tables(path: Path) -> list[int]:
    """Lines of dict literals keyed by ``Status.<member>``: a renderer's own status -> text table."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and any(
            isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name) and key.value.id == "Status"
            for key in node.keys
        )
    ]


def test_no_module_but_the_labels_keeps_a_status_table() -> None:
    found = {
        str(path.relative_to(BOT.parent)): lines
        for path in sorted(BOT.rglob("*.py"))
        if (lines := status_tables(path))
    }
    assert found == {"bot/domain/labels.py": [11, 28]}  # the labels, and what each status means to staff


def test_the_status_table_check_sees_a_renderer_table(tmp_path: Path) -> None:
    probe = tmp_path / "cards.py"
    probe.write_text('from bot.models import Status\n\nMINE = {Status.ESCALATED: "🚨 Escalated"}\n')
    assert status_tables(probe) == [3]
