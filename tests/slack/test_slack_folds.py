"""Summary cards on Slack: rendered safely, posted once, edited in place; their buttons become FoldActions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import TransientError
from bot.models import FoldAction
from bot.platforms.slack.buttons import FOLD_CLAIM, FOLD_LIST, FOLD_RESOLVE, parse_fold_value
from bot.platforms.slack.cards import fold_blocks
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from bot.views import FoldView
from tests.fakes.slack import Fault, SlackEmulator
from tests.fakes.slack_blockkit import check_blocks
from tests.slack.slack_helpers import ALICE, STAFF, FakeService, serving, wait_for
from tests.slack.test_slack_cards import HOSTILE, assert_safe

FOLD = FoldView(fold_id=7, source="feeds", role="reference", total=37, waiting=30, claimed=5, handled=2)


def _buttons(blocks: list[dict[str, object]]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]  # type: ignore[attr-defined]
    }


def test_summary_card_has_the_three_actions() -> None:
    blocks = fold_blocks(FOLD)
    assert check_blocks(blocks) == []
    text = json.dumps(blocks, ensure_ascii=False)
    assert "Web (feed): 37 new items" in text and "30 waiting · 5 claimed · 2 handled" in text
    buttons = _buttons(blocks)
    assert set(buttons) == {FOLD_LIST, FOLD_CLAIM, FOLD_RESOLVE}
    assert {parse_fold_value(v) for v in buttons.values()} == {7}
    done = fold_blocks(FoldView(7, "feeds", "reference", 37, 0, 0, 37))
    assert set(_buttons(done)) == {FOLD_LIST}  # nothing left to claim or close: the list stays


@given(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300)), st.integers(min_value=0, max_value=10**9))
@settings(max_examples=60, deadline=None)
def test_summary_card_with_hostile_role_and_counts(role: str, total: int) -> None:
    """A role name is the library's, but it still cannot ping or break the card; counts of any size fit."""
    assert_safe(fold_blocks(FoldView(1, "feeds", role, total, total, 0, 0)))


def test_fold_value_hostile() -> None:
    for value in (None, "", "[]", '{"f": 0}', '{"f": "7"}', '{"f": true}', '{"f": 1e30}', "{" * 500):
        assert parse_fold_value(value) is None


async def test_posted_once_edited_in_place_and_clicked(client: SlackClient, emu: SlackEmulator) -> None:
    desk = SlackDesk(client, staff_channel=STAFF, settle=0.0)
    service = FakeService()
    async with serving(desk, service, emu):
        emu.fail("chat.postMessage", Fault("drop"))  # it lands, the answer is lost
        with pytest.raises(TransientError):
            await desk.post_fold(FOLD, channel="", dedupe_key="show_fold:slack:7")
        ref = await desk.post_fold(FOLD, channel="", dedupe_key="show_fold:slack:7", retry=True)
        assert len(emu.top_level(STAFF)) == 1  # found again, not posted twice
        await desk.update_fold(ref, FoldView(7, "feeds", "reference", 40, 33, 5, 2))
        message = emu.message(STAFF, ref.message_id)
        assert message["edits"] == 1 and "40 new items" in json.dumps(message["blocks"])
        for action_id, verb in ((FOLD_LIST, "list"), (FOLD_CLAIM, "claim"), (FOLD_RESOLVE, "resolve")):
            await emu.click(ALICE, STAFF, ref.message_id, action_id)
            await wait_for(lambda v=verb: any(getattr(a, "verb", "") == v for a in service.actions))
    folds = [a for a in service.actions if isinstance(a, FoldAction)]
    assert [(a.fold_id, a.verb, a.actor.user_id) for a in folds] == [
        (7, "list", ALICE),
        (7, "claim", ALICE),
        (7, "resolve", ALICE),
    ]
    assert any("FoldAction done." in e["text"] for e in emu.ephemerals)  # each answer goes to the clicker
