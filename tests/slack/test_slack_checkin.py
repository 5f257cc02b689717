"""Shift check-in and duty user groups end to end: the real app, store and relay, the emulated Slack,
a controllable clock. No answer -> the backup is asked -> the staff channel is asked -> `/rota take`
fills the gap, each step once; a stranger's click is refused; the reference desk's user group follows
who holds reference, waits out a 429, and `check --connect` says when usergroups:write is missing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import PatronDesk
from bot.config import Settings
from bot.errors import AdapterConfigError
from bot.platforms.slack.checkin import COVER, HERE, parse_checkin_click
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, Fault, SlackEmulator
from tests.slack.slack_helpers import ALICE, BOB, CAROL, STAFF, make_client, wait_for

DAVE, ERIN = "U0DAVE001", "U0ERIN001"
GROUP = "S0REFDESK1"
RULES = f"""
default_role = "reference"
[roles.reference]
backup = "circulation"
slack_usergroup = "reference-desk"
[roles.circulation]
{
    "".join(
        f'''
[[staff]]
key = "{key}"
name = "{key.title()}"
slack_user_id = "{uid}"
manager = {"true" if key == "alice" else "false"}
'''
        for key, uid in (("alice", ALICE), ("bob", BOB), ("carol", CAROL), ("dave", DAVE), ("erin", ERIN))
    )
}
"""
ROTA = """person,role,days,start,end
bob,reference,mon-fri,09:00,17:00
carol,circulation,mon-fri,08:00,17:00
dave,reference,sat,10:00,14:00
"""
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clock() -> Clock:
    return Clock(MONDAY_9)


@pytest.fixture
async def app(tmp_path: Path, emu: SlackEmulator, clock: Clock) -> AsyncIterator[PatronDesk]:
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "rota.csv").write_text(ROTA)
    emu.add_user(DAVE, "dave", "Dave Dewey")
    emu.add_user(ERIN, "erin", "Erin Ellis")
    emu.add_usergroup(GROUP, "reference-desk", [ALICE])
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/checkin.db",
        RULES_FILE=tmp_path / "rules.toml",
        ROTA_FILE=tmp_path / "rota.csv",
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        CHECKIN_MINUTES=10,
        TIMER_SECONDS=3600,  # the test ticks the timers itself
    )
    desk = PatronDesk(settings, clock=clock)
    desk.clients["slack"] = make_client(emu, pace=0.02)
    async with desk:
        await emu.connected()
        yield desk


async def tick(app: PatronDesk, clock: Clock, minutes: float = 0) -> None:
    clock.now += timedelta(minutes=minutes)
    await app.timers.tick()
    await app.wait_idle()


def staff_posts(emu: SlackEmulator, needle: str) -> list[str]:
    return [m["text"] for m in emu.top_level(STAFF) if needle in m["text"]]


def ephemerals(emu: SlackEmulator, needle: str) -> list[str]:
    return [e["user"] for e in emu.ephemerals if needle in e["text"]]


def answers(emu: SlackEmulator) -> list[dict[str, Any]]:
    return list(emu.responses)


async def test_no_answer_backup_channel_take_each_once(
    app: PatronDesk, emu: SlackEmulator, clock: Clock
) -> None:
    await tick(app, clock)
    await tick(app, clock)
    dm = emu.dm(BOB)
    asked = [m for m in emu.channels[dm] if m.get("blocks")]
    assert len(asked) == 1  # asked once, in Bob's direct message, with both buttons
    assert [el["action_id"] for el in asked[0]["blocks"][1]["elements"]] == [HERE, COVER]
    await wait_for(lambda: emu.usergroups[GROUP] == [BOB])  # the reference desk group follows the rota

    await emu.click(CAROL, dm, asked[0]["ts"], HERE)  # a stranger's click (however they got it)
    await wait_for(lambda: answers(emu))
    refused = answers(emu)[-1]
    assert refused["response_type"] == "ephemeral" and "only they can answer" in refused["text"]

    await tick(app, clock, 10)
    await tick(app, clock)
    await wait_for(lambda: ephemerals(emu, "can you cover"))
    assert ephemerals(emu, "can you cover") == [CAROL]
    await tick(app, clock, 10)
    await tick(app, clock, 1)
    await wait_for(lambda: staff_posts(emu, "needs cover"))
    assert len(staff_posts(emu, "needs cover")) == 1
    await wait_for(lambda: ephemerals(emu, "the staff channel was asked"))
    assert ephemerals(emu, "the staff channel was asked") == [ALICE]

    found = re.search(r"`take (\d+)`", staff_posts(emu, "needs cover")[0])
    assert found is not None
    checkin_id = found.group(1)
    await emu.command(ERIN, "/rota", f"take {checkin_id}", STAFF)
    await wait_for(lambda: len(answers(emu)) == 2)
    assert "Only someone who works reference" in answers(emu)[-1]["text"]
    await emu.command(DAVE, "/rota", f"take {checkin_id}", STAFF)
    await wait_for(lambda: len(answers(emu)) == 3)
    assert "you cover reference until 17:00 instead of Bob" in answers(emu)[-1]["text"]
    await tick(app, clock, 1)
    await wait_for(lambda: emu.usergroups[GROUP] == [DAVE])
    await tick(app, clock, 30)
    assert len(staff_posts(emu, "needs cover")) == 1 and len(staff_posts(emu, "is covered")) == 1
    assert ephemerals(emu, "can you cover") == [CAROL]
    assert len([m for m in emu.channels[emu.dm(DAVE)] if m.get("blocks")]) == 0  # a taker is not asked


async def test_on_desk_click_replaces_the_buttons(app: PatronDesk, emu: SlackEmulator, clock: Clock) -> None:
    await tick(app, clock)
    asked = next(m for m in emu.channels[emu.dm(BOB)] if m.get("blocks"))
    await emu.click(BOB, emu.dm(BOB), asked["ts"], HERE)
    await wait_for(lambda: answers(emu))
    assert answers(emu)[-1]["replace_original"] is True and "checked in" in answers(emu)[-1]["text"]
    await tick(app, clock, 30)
    assert ephemerals(emu, "can you cover") == [] and staff_posts(emu, "needs cover") == []


async def test_duty_group_waits_out_a_429_and_check_says_the_scope_is_missing(
    app: PatronDesk, emu: SlackEmulator, clock: Clock
) -> None:
    emu.fail("usergroups.users.update", Fault("ratelimit", retry_after="1"))
    await app.timers.tick()  # (not idle until the 429's wait is over)
    await wait_for(lambda: emu.count("usergroups.users.update") == 1)
    assert emu.usergroups[GROUP] == [ALICE]  # refused with 429: the group is as it was
    clock.now += timedelta(seconds=2)  # past Retry-After on the service's clock
    await wait_for(lambda: emu.usergroups[GROUP] == [BOB])
    assert emu.count("usergroups.users.update") == 2
    desk = app.desks["slack"]
    assert "can post cards" in await desk.check()  # type: ignore[attr-defined]
    emu.scopes.discard("usergroups:write")
    with pytest.raises(AdapterConfigError, match="usergroups:write"):
        await desk.check()  # type: ignore[attr-defined]


async def test_emulated_usergroup_errors_are_slacks() -> None:
    emu = await SlackEmulator().start()
    try:
        emu.add_user(BOB, "bob")
        emu.add_usergroup(GROUP, "reference-desk", [BOB])
        client = make_client(emu)
        from bot.errors import PermanentError

        for args, error in (
            ({"usergroup": "S0NOSUCH01", "users": BOB}, "no_such_subteam"),
            ({"usergroup": GROUP, "users": "U0NOBODY01"}, "invalid_users"),
            ({"usergroup": GROUP, "users": ""}, "no_users_provided"),
        ):
            with pytest.raises(PermanentError, match=error):
                await client.call("usergroups_users_update", **args)
        listed = await client.call("usergroups_list", include_users=True)
        assert listed["usergroups"][0]["handle"] == "reference-desk" and listed["usergroups"][0]["users"] == [
            BOB
        ]
        emu.scopes.discard("usergroups:write")
        with pytest.raises(PermanentError, match="missing_scope"):
            await client.call("usergroups_users_update", usergroup=GROUP, users=BOB)
        await client.aclose()
    finally:
        await emu.close()


async def test_group_errors_are_logged_with_what_to_do(caplog: pytest.LogCaptureFixture) -> None:
    from bot.errors import PermanentError
    from bot.platforms.slack.usergroups import DutyGroups

    emu = await SlackEmulator().start()
    try:
        emu.add_user(BOB, "bob")
        emu.add_usergroup(GROUP, "reference-desk", [])
        client = make_client(emu)
        groups = DutyGroups(client)
        emu.group_edits = "admins"
        with caplog.at_level("ERROR"), pytest.raises(PermanentError):
            await groups.set("reference-desk", [BOB])
        assert "permission_denied" in caplog.text and "allow everyone" in caplog.text
        with pytest.raises(PermanentError):
            await groups.set("no-such-desk", [BOB])
        assert "no such user group" in caplog.text
        emu.group_edits = "everyone"
        await groups.set("@reference-desk", [BOB])
        assert emu.usergroups[GROUP] == [BOB]
        assert emu.count("usergroups.list") == 2  # the handle was looked up once; the unknown one once more
        await client.aclose()
    finally:
        await emu.close()


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_a_check_in_click_of_any_shape_is_read_or_refused_never_raised(value: object) -> None:
    import json

    for body in (
        value,
        {"user": {"id": BOB}, "actions": [{"action_id": HERE, "value": json.dumps(value)}]},
        {"user": value, "actions": value},
    ):
        found = parse_checkin_click(body if isinstance(body, dict) else {"actions": body})
        assert found is None or (found[0] == BOB and found[1] > 0)


def test_a_check_in_reaction_is_read_only_from_an_annotation() -> None:
    from bot.platforms.matrix.commands import parse_checkin_reaction

    def reaction(key: object) -> dict[str, object]:
        rel = {"rel_type": "m.annotation", "event_id": "$q", "key": key}
        return {"type": "m.reaction", "content": {"m.relates_to": rel}}

    assert parse_checkin_reaction(reaction("✅")) == ("$q", True)
    assert parse_checkin_reaction(reaction("🆘\ufe0f")) == ("$q", False)
    assert parse_checkin_reaction(reaction("✋")) is None
    assert parse_checkin_reaction(reaction(7)) is None
    assert parse_checkin_reaction({"type": "m.room.message", "content": {"body": "✅"}}) is None
