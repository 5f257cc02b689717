"""With branches, the Slack card's header says which branch the role is at (as the Matrix and console
cards do), and the Snooze until… form says whose time it reads."""

from __future__ import annotations

import json

from bot.platforms.slack.cards import card_blocks
from bot.platforms.slack.set_aside_forms import snooze_view
from tests.fakes.slack_blockkit import check_blocks
from tests.slack.slack_helpers import view
from tests.slack.test_slack_cards import assert_safe


def header(blocks: list[dict[str, object]]) -> str:
    first = blocks[0]
    assert first["type"] == "header"
    return str(first["text"]["text"])  # type: ignore[index]


def test_the_header_names_the_branch_only_when_there_is_one() -> None:
    at_harbor = card_blocks(view(3, role="nyc", branch="Harbor Branch"))
    assert header(at_harbor).endswith("#3 · Mastodon · nyc at Harbor Branch")
    assert check_blocks(at_harbor) == []
    assert " at " not in header(card_blocks(view(3, role="nyc")))  # no branches: as before


def test_a_hostile_branch_name_cannot_ping_from_the_header_or_the_form() -> None:
    blocks = card_blocks(view(3, branch="<!channel> @here <@U123> " + "x" * 300))
    assert_safe(blocks)  # the header is plain text, cut to Slack's limit
    assert len(header(blocks)) <= 150
    form = json.dumps(snooze_view(3, channel="C1", branch="<!here> Harbor"))
    assert "<!here>" not in form and "Harbor time" in form
    assert "the library's time" in json.dumps(snooze_view(3, channel="C1"))
