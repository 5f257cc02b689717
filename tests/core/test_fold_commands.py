"""The summary-card command (``desk fold N ...``) on every desk, and the plain-text and Matrix renderings."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.fold import parse_fold
from bot.models import MAX_ID, DeskQuery, FoldAction, StaffRef
from bot.platforms.console.desk import ConsoleDesk, parse_line
from bot.platforms.matrix.card_events import fold_content, fold_edit_content
from bot.views import FoldView

ME = StaffRef("console", "console", "console")
FOLD = FoldView(fold_id=12, source="feeds", role="reference", total=37, waiting=30, claimed=5, handled=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", FoldAction(12, ME, "list", 0)),
        ("#12 list", FoldAction(12, ME, "list", 0)),
        ("12 list 3", FoldAction(12, ME, "list", 2)),
        ("12 LIST 0", FoldAction(12, ME, "list", 0)),
        ("12 claim", FoldAction(12, ME, "claim", 0)),
        ("12 handled", FoldAction(12, ME, "resolve", 0)),
    ],
)
def test_fold_command(text: str, expected: FoldAction) -> None:
    assert parse_fold(ME, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "0",
        "-1",
        f"{MAX_ID + 1}",
        "12 eat",
        "12 claim 2",
        "12 list x",
        "12 list 9999999",
        "１２",
        "1 2 3 4",
    ],
)
def test_fold_command_refused_with_usage(text: str) -> None:
    answer = parse_fold(ME, text, prefix="!")
    assert isinstance(answer, str) and "!desk fold N" in answer


@given(st.text(max_size=200))
def test_fold_command_never_raises(text: str) -> None:
    answer = parse_fold(ME, text)
    if isinstance(answer, FoldAction):
        assert 0 < answer.fold_id <= MAX_ID and answer.page >= 0


def test_console_line_reaches_the_desk_command() -> None:
    assert parse_line("desk fold 12 claim") == DeskQuery(ME, "fold 12 claim", with_text=True)


async def test_console_prints_the_summary_card_with_its_commands() -> None:
    out = io.StringIO()
    desk = ConsoleDesk(input=None, output=out)
    ref = await desk.post_fold(FOLD, channel="", dedupe_key="show_fold:console:12")
    await desk.update_fold(ref, FoldView(12, "feeds", "reference", 40, 33, 5, 2))
    text = out.getvalue()
    assert "Web (feed): 37 new items" in text and "Web (feed): 40 new items" in text
    assert "desk fold 12 claim" in text and "desk fold 12 handled" in text


def test_matrix_summary_card_pings_nobody_and_names_its_commands() -> None:
    content = fold_content(FOLD, dedupe_key="show_fold:matrix:12")
    assert content["m.mentions"] == {} and "!desk fold 12 claim" in content["body"]
    assert "<" not in content["formatted_body"].replace("<br>", "")
    edit = fold_edit_content(FOLD, card_event_id="$card")
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$card"}
    assert "37 new items" in edit["m.new_content"]["body"]
