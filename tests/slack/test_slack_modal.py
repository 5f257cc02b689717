"""Pure modal building and checking, the pacer's decisions, and the parsers on real payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest

from bot.models import StaffRef
from bot.platforms.slack.cards import card_blocks
from bot.platforms.slack.clicks import parse_click, reply_action
from bot.platforms.slack.modal import preview_view, read_reply, reply_view
from bot.platforms.slack.pace import Pacer
from bot.platforms.slack.reassign_form import PERSON_BLOCK, ROLE_BLOCK, read_reassign, reassign_view
from bot.platforms.slack.reply_draft import TEXT_BLOCK, VIS_BLOCK, ReplyDraft, check_reply, parse_metadata
from tests.fakes.slack_blockkit import check_view

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference-payloads"
FAMILY = "👨‍👩‍👧‍👦"


def submitted(view: dict[str, Any], text: str, visibility: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}}}
    if visibility:
        values[VIS_BLOCK] = {
            "visibility": {"type": "radio_buttons", "selected_option": {"value": visibility}}
        }
    return {**view, "state": {"values": values}}


@pytest.mark.parametrize(
    ("platform", "text", "ok"),
    [
        ("mastodon", "x" * 500, True),
        ("mastodon", "x" * 501, False),
        ("bluesky", FAMILY * 300, True),  # 300 graphemes, 2,100 code points: still fine
        ("bluesky", FAMILY * 301, False),
        ("matrix", "x" * 2000, True),  # no limit we know of
        ("mastodon", "   \n ", False),
    ],
)
def test_reply_limits_in_graphemes(platform: str, text: str, ok: bool) -> None:
    assert (check_reply(text, platform) is None) is ok


def test_editor_shows_limit_and_visibility_and_is_valid() -> None:
    draft = ReplyDraft(12, "mastodon", "direct", "C1", choose_visibility=True)
    view = reply_view(draft)
    assert check_view(view) == []
    dumped = json.dumps(view)
    assert "up to 500 characters" in dumped and VIS_BLOCK in dumped
    radios = view["blocks"][-1]["element"]
    assert radios["initial_option"]["value"] == "direct"  # a private mention is answered privately
    assert VIS_BLOCK not in json.dumps(reply_view(ReplyDraft(12, "bluesky", "public", "C1")))


def test_editor_round_trip_to_preview() -> None:
    view = reply_view(ReplyDraft(12, "mastodon", "public", "C1", choose_visibility=True))
    draft, errors = read_reply(submitted(view, "  Hello <!here>  ", "unlisted"))
    assert errors == {} and draft is not None
    assert (draft.text, draft.visibility, draft.channel) == ("Hello <!here>", "unlisted", "C1")
    preview = preview_view(draft)
    assert check_view(preview) == []
    assert "&lt;!here&gt;" in json.dumps(preview) and parse_metadata(preview["private_metadata"]) == draft


def test_editor_rejects_in_the_modal() -> None:
    view = reply_view(ReplyDraft(3, "bluesky", "public", "C1"))
    assert read_reply(submitted(view, FAMILY * 301))[1][TEXT_BLOCK].startswith("301 characters")
    assert read_reply(submitted(view, ""))[1] == {TEXT_BLOCK: "Write the reply first."}
    stale = {**view, "private_metadata": "not json"}
    assert "out of date" in read_reply(submitted(stale, "hi"))[1][TEXT_BLOCK]
    zalgo = "a" + "\u0301" * 2990  # one grapheme, but too big to carry to the preview
    assert (
        "too long"
        in read_reply(submitted(reply_view(ReplyDraft(3, "bluesky", "public", "C1")), zalgo))[1][TEXT_BLOCK]
    )


def test_reassign_needs_exactly_one_choice() -> None:
    view = reassign_view(8, channel="C1")
    assert check_view(view) == []

    def with_values(role: str | None, user: str | None) -> dict[str, Any]:
        values = {ROLE_BLOCK: {"role": {"value": role}}, PERSON_BLOCK: {"person": {"selected_user": user}}}
        return {**view, "state": {"values": values}}

    assert read_reassign(with_values(None, None))[0] is None
    assert read_reassign(with_values("tech", "U1"))[0] is None
    choice, _ = read_reassign(with_values(" tech ", None))
    assert choice is not None and (choice.mention_id, choice.role, choice.person) == (8, "tech", None)
    choice, _ = read_reassign(with_values(None, "U0BOB"))
    assert choice is not None and choice.person == "<@U0BOB>"


def test_reply_action_carries_the_text() -> None:
    reply = reply_action(ReplyDraft(5, "mastodon", "public", "C1", "Hi"), StaffRef("slack", "U1", "a"))
    assert (reply.mention_id, reply.text) == (5, "Hi")


def test_pacer_trickle_goes_straight_through() -> None:
    pacer = Pacer(1.0)
    assert pacer.admit("C", "a", 0.0).go
    later = pacer.admit("C", "b", 5.0)
    assert later.go and later.wait == 0.0


def test_pacer_burst_reserves_slots_in_order() -> None:
    pacer = Pacer(1.0)
    assert pacer.admit("C", "k0", 0.0).go
    waits = [pacer.admit("C", f"k{n}", 0.01).wait for n in range(1, 6)]
    assert waits == pytest.approx([0.99, 1.99, 2.99, 3.99, 4.99])
    assert pacer.pending("C") == ["k1", "k2", "k3", "k4", "k5"]
    assert not pacer.admit("C", "new", 0.02).go  # a newcomer queues behind the burst
    assert not pacer.admit("C", "k2", 1.0).go  # too early for its slot
    first = pacer.admit("C", "k1", 1.0)
    assert first.go and first.wait == 0.0
    assert pacer.admit("C", "k2", 2.0).go
    assert pacer.admit("D", "other", 0.0).go  # channels do not wait for each other


def test_pacer_holds_the_lane_after_a_429() -> None:
    pacer = Pacer(1.0)
    assert pacer.admit("C", "a", 0.0).go
    pacer.blocked("C", "a", 0.5, 30.0)
    assert pacer.pending("C") == ["a"]
    retry = pacer.admit("C", "a", 10.0)
    assert not retry.go and retry.wait == pytest.approx(20.5)
    assert pacer.admit("C", "a", 30.5).go


def test_pacer_drops_reservations_nobody_claims() -> None:
    pacer = Pacer(1.0, stale=60.0)
    pacer.admit("C", "a", 0.0)
    pacer.admit("C", "gone", 0.0)
    assert pacer.pending("C") == ["gone"]
    assert pacer.admit("C", "fresh", 200.0).go


def reference(name: str) -> str:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip("reference payloads not present")
    return path.read_text()


def test_reference_block_actions_is_not_ours() -> None:
    body = json.loads(parse_qs(reference("slack_interaction_block_actions_button.urlencoded"))["payload"][0])
    assert body["type"] == "block_actions"
    assert parse_click(body) is None  # value "click_me_123" is not a Patron Desk button


def test_click_on_our_card_in_the_reference_shape() -> None:
    body = json.loads(parse_qs(reference("slack_interaction_block_actions_button.urlencoded"))["payload"][0])
    from tests.slack.slack_helpers import view

    button = next(b for b in card_blocks(view(77)) if b["type"] == "actions")["elements"][0]
    body["actions"][0].update(action_id=button["action_id"], value=button["value"])
    click = parse_click(body)
    assert click is not None
    assert (click.mention_id, click.actor.user_id, click.channel) == (77, "U01NK1K9L68", "C01N9PM1D53")
    assert click.trigger_id == body["trigger_id"]


def test_reference_view_submission_double_encoded() -> None:
    raw = reference("slack_interaction_view_submission_double_encoded.urlencoded")
    body = json.loads(parse_qs(unquote(raw))["payload"][0])  # encoded twice: unquote once, then parse
    draft, errors = read_reply(body["view"])
    assert draft is None and "out of date" in errors[TEXT_BLOCK]  # someone else's modal: refused, no crash
    assert read_reassign(body["view"])[0] is None
