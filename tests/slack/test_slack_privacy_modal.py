"""The Reply preview with the privacy guard's warning (pure): where the platform has a private reply
(Mastodon's direct visibility) it is offered and chosen by default; otherwise Publish says "anyway"."""

from __future__ import annotations

import json

from bot.models import StaffRef, Visibility
from bot.platforms.slack.clicks import reply_action
from bot.platforms.slack.modal import parse_answer_pick, preview_view, read_confirm, reply_view
from bot.platforms.slack.reply_draft import (
    ANSWER_SELECT,
    PRIVACY_BLOCK,
    PUBLISH_ANYWAY,
    PUBLISH_PRIVATELY,
    ReplyDraft,
    parse_metadata,
)

ME = StaffRef("slack", "U0ALICE01", "Alice")
WARNING = "the reply contains a phone number"


def submitted(view: dict[str, object], choice: str | None) -> dict[str, object]:
    values = {PRIVACY_BLOCK: {"privacy": {"selected_option": {"value": choice}}}} if choice else {}
    return {**view, "state": {"values": values}}


def test_the_private_reply_is_offered_where_the_platform_has_one() -> None:
    draft = ReplyDraft(3, "mastodon", "public", "C0STAFF01", "call 555 123 4567", choose_visibility=True)
    view = preview_view(draft, warning=WARNING)
    shown = json.dumps(view["blocks"])
    assert WARNING in shown and PRIVACY_BLOCK in shown and view["submit"]["text"] == "Publish"
    private = read_confirm(submitted(view, PUBLISH_PRIVATELY))
    assert private is not None and private.visibility == Visibility.DIRECT.value
    action = reply_action(private, ME)
    assert action.visibility is Visibility.DIRECT and not action.confirmed
    anyway = read_confirm(submitted(view, PUBLISH_ANYWAY))
    assert anyway is not None and reply_action(anyway, ME).confirmed
    assert reply_action(anyway, ME).visibility is Visibility.PUBLIC


def test_without_a_private_reply_publish_confirms_and_without_a_warning_nothing_is_confirmed() -> None:
    draft = ReplyDraft(3, "slack", "", "C0STAFF01", "call 555 123 4567")
    warned = preview_view(draft, warning=WARNING)
    assert warned["submit"]["text"] == "Publish anyway" and PRIVACY_BLOCK not in json.dumps(warned["blocks"])
    confirmed = read_confirm(submitted(warned, None))
    assert confirmed is not None and reply_action(confirmed, ME).confirmed
    quiet = read_confirm(submitted(preview_view(draft), None))
    assert quiet is not None and not reply_action(quiet, ME).confirmed


def test_a_chosen_answer_is_read_from_the_modal_and_forged_ones_are_not() -> None:
    draft = ReplyDraft(3, "slack", "", "C0STAFF01", fills=2)
    view = {"id": "V1", "hash": "h", **reply_view(draft, choices=("hours", "renewals"))}
    pick = {"actions": [{"action_id": ANSWER_SELECT, "selected_option": {"value": "hours"}}], "view": view}
    got = parse_answer_pick(pick)
    assert got is not None and got[0] == "V1" and got[2] == draft and got[3] == "hours"
    assert parse_metadata(draft.metadata()) == draft
    for bad in ({}, {"actions": [], "view": view}, {"actions": [{"action_id": "x"}], "view": view}):
        assert parse_answer_pick(bad) is None
    forged = {**pick, "view": {**view, "private_metadata": "{}"}}
    assert parse_answer_pick(forged) is None
