"""Button values that name no card (tampered, out of range, not JSON) are refused in words.

Issue 10, finding 9: `{"m": 2**70}` reached the database and answered "Something went wrong".
"""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.models import MAX_ID
from bot.platforms.slack.buttons import CLAIM, REASSIGN, REPLY, parse_button_value
from tests.fakes.slack import SlackEmulator
from tests.slack.slack_helpers import ALICE, STAFF, Served, view, wait_for

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["m", "p", "v"]), inner),
    max_leaves=8,
)


values = st.one_of(
    json_values.map(json.dumps), st.dictionaries(st.just("m"), json_values).map(json.dumps), st.text()
)


@settings(max_examples=300, deadline=None)
@given(values)
@example(json.dumps({"m": 2**70}))
def test_any_value_is_ours_or_refused(value: str) -> None:
    data = parse_button_value(value)
    assert data is None or (type(data["m"]) is int and 0 < data["m"] <= MAX_ID)


def test_values_that_name_no_card() -> None:
    for bad in (
        json.dumps({"m": 2**70}),
        json.dumps({"m": MAX_ID + 1}),
        '{"m": "1"}',
        '{"m": 1.0}',
        '{"m": true}',
        '{"m": 0}',
        "[1]",
        "not json",
        "[" * 1500 + "]" * 1500,  # deeper than the JSON parser's recursion limit
        '{"m": ' + "9" * 5000 + "}",  # more digits than int() reads
        None,
    ):
        assert parse_button_value(bad) is None, bad
    assert parse_button_value(json.dumps({"m": MAX_ID})) == {"m": MAX_ID}


async def test_tampered_button_is_answered_and_changes_nothing(served: Served, emu: SlackEmulator) -> None:
    ref = await served.desk.post_card(view(4), channel=STAFF, dedupe_key="k4")
    for action_id, value in ((CLAIM, {"m": 2**70}), (REPLY, {"m": -3}), (REASSIGN, "{oops")):
        payload = emu.click_payload(ALICE, STAFF, ref.message_id, action_id)
        payload["actions"][0]["value"] = value if isinstance(value, str) else json.dumps(value)
        ack = await emu.send("interactive", payload)
        assert ack.keys() == {"envelope_id"}  # acked like any click
    await wait_for(lambda: len(emu.ephemerals) == 3)
    await served.desk.idle()
    assert served.service.actions == []  # nothing reached the service
    assert not emu.views  # no form opened
    assert all(e["user"] == ALICE and "nothing was changed" in e["text"] for e in emu.ephemerals)
