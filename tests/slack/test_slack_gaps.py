"""Issue 16's Slack gaps on the emulator with the whole bot: tags edited on a resolved card, a
Reject with a reason, a snooze to a time the staff member picks."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.app import PatronDesk
from bot.models import Status
from bot.platforms.slack.buttons import CLAIM, NOTE, RESOLVE, SNOOZE, SNOOZE_AT
from bot.platforms.slack.note_form import TAGS_BLOCK
from bot.platforms.slack.set_aside_forms import (
    DATE_BLOCK,
    REASON_BLOCK,
    TIME_BLOCK,
    WHEN_BLOCK,
    CardChoice,
    read_reject,
    read_snooze,
    reject_view,
    snooze_view,
)
from tests.fakes.slack import SlackEmulator
from tests.fakes.slack_blockkit import check_view
from tests.fakes.slack_payloads import message_event
from tests.slack.slack_helpers import ALICE, COMMUNITY, STAFF, wait_for
from tests.slack.test_slack_e2e import (
    PATRON,
    app,
    card_text,
    cards,
    open_form,
    patron_says,
    settled,
    thread_replies,
)

__all__ = ["app"]  # the fixture: the whole bot on the emulator


def tags(*chosen: str) -> dict[str, Any]:
    options = [{"value": tag} for tag in chosen]
    return {TAGS_BLOCK: {"tags": {"type": "multi_static_select", "selected_options": options}}}


async def test_tags_are_edited_on_a_resolved_card(app: PatronDesk, emu: SlackEmulator) -> None:
    parent = "1700001000.000100"
    card = await patron_says(emu, "Thanks for the great storytime!", parent)
    ts = card["ts"]
    await emu.click(ALICE, STAFF, ts, CLAIM)
    await settled(app, emu, ts, "Claimed by")
    await emu.click(ALICE, STAFF, ts, RESOLVE)
    await settled(app, emu, ts, "Resolved by")
    form = await open_form(emu, ALICE, ts, NOTE)  # the closed card still has Note & tags
    assert (await emu.submit(ALICE, form, tags("praise", "event")))["payload"] == {"response_action": "clear"}
    card = await settled(app, emu, ts, "`praise`")
    assert "`event`" in card_text(card) and "Resolved by" in card_text(card)
    form = await open_form(emu, ALICE, ts, NOTE)  # and tags come off again
    await emu.submit(ALICE, form, tags("praise"))
    await wait_for(lambda: "`event`" not in card_text(emu.message(STAFF, ts)))
    await app.wait_idle()
    view = await app.service.view(1)
    assert view.tags == ("praise",) and view.status is Status.RESOLVED
    assert thread_replies(emu, parent) == []


def typed(text: str) -> dict[str, Any]:
    return {WHEN_BLOCK: {"when": {"type": "plain_text_input", "value": text}}}


def picked(day: str, clock: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {DATE_BLOCK: {"date": {"type": "datepicker", "selected_date": day}}}
    if clock:
        values[TIME_BLOCK] = {"time": {"type": "timepicker", "selected_time": clock}}
    return values


async def test_snooze_until_a_picked_or_typed_time(app: PatronDesk, emu: SlackEmulator) -> None:
    card = await patron_says(emu, "When is the genealogy club?", "1700001100.000100")
    ts = card["ts"]
    await emu.click(ALICE, STAFF, ts, CLAIM)
    await settled(app, emu, ts, "Claimed by")
    form = await open_form(emu, ALICE, ts, SNOOZE_AT)

    async def refused(values: dict[str, Any]) -> dict[str, str]:
        payload = (await emu.submit(ALICE, form, values))["payload"]
        assert payload["response_action"] == "errors"
        return dict(payload["errors"])

    assert "Pick a day or a time" in (await refused({}))[WHEN_BLOCK]
    assert "not both" in (await refused(typed("3d") | picked("2030-01-01")))[WHEN_BLOCK]
    assert "Cannot read 'next blue moon'" in (await refused(typed("next blue moon")))[WHEN_BLOCK]
    assert "already passed" in (await refused(picked("2001-01-01", "10:00")))[DATE_BLOCK]
    assert "Pick the day and the time again" in (await refused(picked("soon")))[DATE_BLOCK]
    assert (await app.service.view(1)).status is Status.CLAIMED  # nothing changed meanwhile

    zone = app.service.rota.zone
    day = datetime.now(zone).date() + timedelta(days=10)
    done = await emu.submit(ALICE, form, picked(day.isoformat(), "14:30"))
    assert done["payload"] == {"response_action": "clear"}
    await settled(app, emu, ts, "Snoozed until")
    view = await app.service.view(1)
    assert view.status is Status.SNOOZED and view.snoozed_until is not None
    assert view.snoozed_until.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, time(14, 30))
    await wait_for(lambda: any("Snoozed until" in e["text"] for e in emu.ephemerals if e["user"] == ALICE))


def test_the_small_forms_read_only_what_they_were_opened_for() -> None:
    form = reject_view(7, channel=STAFF)
    assert check_view(form) == [] and check_view(snooze_view(7, channel=STAFF)) == []

    def submitted(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        return view | {"state": {"values": values}}

    reason = {REASON_BLOCK: {"reason": {"value": "  be kinder  "}}}
    assert read_reject(submitted(form, reason))[0] == CardChoice(7, STAFF, "be kinder")
    assert read_reject(submitted(form, {}))[0] == CardChoice(7, STAFF, "")  # the reason is optional
    too_long = {REASON_BLOCK: {"reason": {"value": "x" * 501}}}
    assert "limit is 500" in read_reject(submitted(form, too_long))[1][REASON_BLOCK]
    forged = submitted(form | {"private_metadata": '{"m": true, "c": ""}'}, reason)
    assert read_reject(forged)[0] is None
    snooze = snooze_view(7, channel=STAFF)
    assert read_snooze(submitted(snooze, picked("2030-01-02")))[0] == CardChoice(
        7, STAFF, "2030-01-02 09:00", DATE_BLOCK
    )
    only_time = {TIME_BLOCK: {"time": {"selected_time": "16:00"}}}
    assert read_snooze(submitted(snooze, only_time))[0] == CardChoice(7, STAFF, "16:00", DATE_BLOCK)
    assert read_snooze(submitted(snooze, typed("  friday   14:00 ")))[0] == CardChoice(
        7, STAFF, "friday 14:00", WHEN_BLOCK
    )


ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)
BLOCKS = st.sampled_from([REASON_BLOCK, DATE_BLOCK, TIME_BLOCK, WHEN_BLOCK, "other"])
ACTIONS = st.dictionaries(
    st.sampled_from(["reason", "date", "time", "when"]),
    st.dictionaries(st.sampled_from(["value", "selected_date", "selected_time"]), ANY, max_size=2),
    max_size=2,
)


@given(st.dictionaries(BLOCKS, ACTIONS | ANY, max_size=4), ANY)
def test_forged_submissions_get_an_error_or_a_checked_choice(values: dict[str, Any], meta: Any) -> None:
    for form, read in (
        (reject_view(7, channel=STAFF), read_reject),
        (snooze_view(7, channel=STAFF), read_snooze),
    ):
        for private in (form["private_metadata"], meta if isinstance(meta, str) else str(meta)):
            view = form | {"state": {"values": values}, "private_metadata": private}
            choice, errors = read(view)
            assert (choice is None) == bool(errors)
            if choice is not None:
                assert choice.mention_id == 7 and len(choice.text) <= 500


async def test_the_patrons_follow_up_in_their_thread_wakes_a_snoozed_mention(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    parent = "1700001200.000100"
    card = await patron_says(emu, "Can I book the meeting room?", parent)
    ts = card["ts"]
    await emu.click(ALICE, STAFF, ts, CLAIM)
    await settled(app, emu, ts, "Claimed by")
    await emu.click(ALICE, STAFF, ts, SNOOZE)  # Wait for patron
    await settled(app, emu, ts, "Snoozed until the patron answers")
    said = message_event(
        COMMUNITY, PATRON, "For 6 people on Friday", ts="1700001201.000100", thread_ts=parent
    )
    await emu.post_event(said)
    card = await settled(app, emu, ts, "Claimed by")
    assert "For 6 people on Friday" in card_text(card)
    view = await app.service.view(1)
    assert view.status is Status.CLAIMED and view.assignee == "Alice Archer"
    emu.add_user("U0OTHER01", "other")
    other = message_event(COMMUNITY, "U0OTHER01", "me too!", ts="1700001202.000100", thread_ts=parent)
    await emu.post_event(other)  # someone else in the patron's thread: a card of their own
    await wait_for(lambda: len(cards(emu)) == 2)
    await app.wait_idle()
    assert (await app.service.view(1)).status is Status.CLAIMED
