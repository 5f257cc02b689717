"""The whole bot with the real service, store and relay, Slack as both source and desk (emulated)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.config import Settings
from bot.models import RotaCommand, StaffRef
from bot.platforms.slack.buttons import (
    CARD_EVENT,
    CLAIM,
    IGNORE,
    NOTE,
    REASSIGN,
    RELEASE,
    REPLY,
    RESOLVE,
    RESOLVE_READ,
)
from bot.platforms.slack.note_form import NOTE_BLOCK, TAGS_BLOCK, note_view
from bot.platforms.slack.reassign_form import PERSON_BLOCK, ROLE_BLOCK
from bot.platforms.slack.reply_draft import TEXT_BLOCK
from bot.platforms.slack.resolve_form import KIND_BLOCK, READ_BLOCK
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, Fault, SlackEmulator
from tests.fakes.slack_payloads import message_event
from tests.slack.slack_helpers import ALICE, BOB, COMMUNITY, STAFF, make_client, wait_for

PATRON = "U0PATRON1"
RACERS = [f"U0RACER{n:02d}" for n in range(10)]
RULES = f"""
default_role = "reference"

[roles.reference]
sla_minutes = 60
[roles.tech]
sla_minutes = 60

[[rules]]
name = "wifi"
role = "tech"
keywords = ["wifi"]

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "{ALICE}"

[[staff]]
key = "bob"
name = "Bob Binder"
slack_user_id = "{BOB}"
"""


def settings_for(tmp_path: Path, emu: SlackEmulator) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    emu.add_user(PATRON, "pat", "Pat Ron")
    emu.usergroups["S0STAFF"] = RACERS  # staff besides the rules file's (DESIGN.md §6.10)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/e2e.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        SLACK_SOURCE_CHANNELS=COMMUNITY,  # type: ignore[arg-type]
        SLACK_STAFF_GROUP="S0STAFF",
    )


@pytest.fixture
async def app(tmp_path: Path, emu: SlackEmulator) -> AsyncIterator[PatronDesk]:
    desk = PatronDesk(settings_for(tmp_path, emu))
    desk.clients["slack"] = make_client(emu, pace=0.02)  # the app's own factory, with a test pace
    async with desk:
        await emu.connected()
        yield desk


def cards(emu: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emu.top_level(STAFF) if (m.get("metadata") or {}).get("event_type") == CARD_EVENT]


def card_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def buttons(message: dict[str, Any]) -> list[str]:
    return [el["action_id"] for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]]


async def patron_says(emu: SlackEmulator, text: str, ts: str) -> dict[str, Any]:
    ack = await emu.post_event(message_event(COMMUNITY, PATRON, text, ts=ts))
    assert ack.keys() == {"envelope_id"}
    await wait_for(lambda: any(ts.replace(".", "") in card_text(c) for c in cards(emu)))
    return next(c for c in cards(emu) if ts.replace(".", "") in card_text(c))


async def settled(app: PatronDesk, emu: SlackEmulator, ts: str, needle: str) -> dict[str, Any]:
    await app.wait_idle()
    await wait_for(lambda: needle in card_text(emu.message(STAFF, ts)))
    return emu.message(STAFF, ts)


async def reply_through_modal(emu: SlackEmulator, user: str, card_ts: str, text: str) -> None:
    before = set(emu.views)
    await emu.click(user, STAFF, card_ts, REPLY)
    await wait_for(lambda: set(emu.views) - before)
    editor = emu.views[(set(emu.views) - before).pop()]
    ack = await emu.submit(user, editor, {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}}})
    assert ack["payload"]["response_action"] == "push"
    preview = emu.store_view(ack["payload"]["view"], root=editor["id"])
    assert (await emu.submit(user, preview, {}))["payload"] == {"response_action": "clear"}


async def test_mention_claim_race_reply_resolve(app: PatronDesk, emu: SlackEmulator) -> None:
    card = await patron_says(emu, "Hello <@U0BOTUSER1>, can I renew <!channel> online?", "1700000100.000100")
    assert buttons(card) == [CLAIM, REPLY, REASSIGN, IGNORE, NOTE]
    assert "&lt;!channel&gt;" not in card_text(card) and "@\u200bchannel" in card_text(card)

    racers = RACERS
    await asyncio.gather(*(emu.click(user, STAFF, card["ts"], CLAIM) for user in racers))
    await wait_for(lambda: len([e for e in emu.ephemerals if e["user"] in racers]) == 10)
    lost = [e for e in emu.ephemerals if "already claimed by" in e["text"]]
    won = [e for e in emu.ephemerals if e["text"].startswith("Claimed")]
    assert len(lost) == 9 and len(won) == 1
    winner = won[0]["user"]
    card = await settled(app, emu, card["ts"], "Claimed by")
    assert card["edits"] == 1  # one winner, one card update
    snoozes = ["pd_snooze", "pd_snooze_2h", "pd_snooze_morning", "pd_snooze_at"]
    assert buttons(card) == [REPLY, RESOLVE, RESOLVE_READ, *snoozes, RELEASE, REASSIGN, IGNORE, NOTE]

    await reply_through_modal(emu, winner, card["ts"], "Yes: sign in at library.example & choose Renew.")
    await wait_for(lambda: len(thread_replies(emu)) == 1)
    card = await settled(app, emu, card["ts"], "see the published reply")
    replies = thread_replies(emu)
    assert len(replies) == 1 and replies[0]["text"] == "Yes: sign in at library.example &amp; choose Renew."

    await emu.click(winner, STAFF, card["ts"], RESOLVE)
    card = await settled(app, emu, card["ts"], "Resolved")
    assert buttons(card) == [NOTE]  # tags and notes stay editable on a closed card
    assert len(thread_replies(emu)) == 1  # the reply reached the patron exactly once


def thread_replies(emu: SlackEmulator, parent: str = "1700000100.000100") -> list[dict[str, Any]]:
    return [m for m in emu.channels[COMMUNITY] if m.get("thread_ts") == parent and m["ts"] != parent]


async def test_release_reassign_ignore_change_the_card(app: PatronDesk, emu: SlackEmulator) -> None:
    card = await patron_says(emu, "the printer is jammed", "1700000200.000100")
    ts = card["ts"]
    await emu.click(ALICE, STAFF, ts, CLAIM)
    assert "Claimed by" in card_text(await settled(app, emu, ts, "Claimed by"))
    await emu.click(ALICE, STAFF, ts, RELEASE)
    card = await settled(app, emu, ts, "waiting for someone")
    assert CLAIM in buttons(card)

    await emu.click(ALICE, STAFF, ts, REASSIGN)
    await wait_for(lambda: emu.views)
    form = list(emu.views.values())[-1]
    await emu.submit(ALICE, form, {ROLE_BLOCK: {"role": {"value": "tech"}}})
    card = await settled(app, emu, ts, "role *tech*")

    before = set(emu.views)
    await emu.click(ALICE, STAFF, ts, REASSIGN)
    await wait_for(lambda: set(emu.views) - before)
    form = emu.views[(set(emu.views) - before).pop()]
    await emu.submit(ALICE, form, {PERSON_BLOCK: {"person": {"selected_user": BOB}}})
    card = await settled(app, emu, ts, f"Claimed by <@{BOB}>")

    await emu.click(BOB, STAFF, ts, IGNORE)
    card = await settled(app, emu, ts, "Ignored")
    assert buttons(card) == [NOTE]  # notes and tags stay on a closed card
    assert thread_replies(emu, "1700000200.000100") == []  # nothing ever reached the patron


async def test_staff_thread_never_reaches_the_patron(app: PatronDesk, emu: SlackEmulator) -> None:
    card = await patron_says(emu, "is the library open on sunday", "1700000300.000100")
    await emu.post_event(
        message_event(STAFF, ALICE, "I think so, checking", ts="1700000300.000200", thread_ts=card["ts"])
    )
    await app.wait_idle()
    assert len(cards(emu)) == 1 and thread_replies(emu, "1700000300.000100") == []


async def test_rota_edit_for_a_manager_refused_for_others(app: PatronDesk, emu: SlackEmulator) -> None:
    async def rota(text: str) -> str:
        result = await app.service.handle(RotaCommand(StaffRef("slack", ALICE, "alice"), text))
        return "\n".join([result.message, *result.extra])

    before = await rota("show")
    await emu.command(BOB, "/rota", "add @bob tech mon-fri 09:00-17:00", STAFF)
    await wait_for(lambda: len(emu.responses) == 1)
    assert (
        "Only rota managers" in emu.responses[0]["text"] and emu.responses[0]["response_type"] == "ephemeral"
    )
    assert await rota("show") == before  # refused: nothing changed

    await emu.command(ALICE, "/rota", "add @bob tech mon-fri 09:00-17:00", STAFF)
    await wait_for(lambda: len(emu.responses) == 2)
    assert "Only rota managers" not in emu.responses[1]["text"]
    after = await rota("show")
    assert after != before and "Bob" in after

    await emu.command(BOB, "/desk", "", STAFF)
    await wait_for(lambda: len(emu.responses) == 3)


async def test_a_429_storm_delays_cards_but_loses_none(app: PatronDesk, emu: SlackEmulator) -> None:
    emu.fail("chat.postMessage", *[Fault("ratelimit", retry_after="0") for _ in range(4)])
    for n in range(3):
        await emu.post_event(message_event(COMMUNITY, PATRON, f"question {n}", ts=f"1700000400.00010{n}"))
    await wait_for(lambda: len(cards(emu)) == 3, within=60)
    await app.wait_idle(within=60)
    keys = [c["metadata"]["event_payload"]["dedupe_key"] for c in cards(emu)]
    assert len(keys) == len(set(keys)) == 3


async def test_patron_text_never_reaches_the_logs(
    app: PatronDesk, emu: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Zanzibar-Quokka-7731"
    card = await patron_says(emu, f"my library card number is {secret}", "1700000500.000100")
    await emu.click(ALICE, STAFF, card["ts"], CLAIM)
    await reply_through_modal(emu, ALICE, card["ts"], f"Thanks, noted {secret}")
    await wait_for(lambda: len(thread_replies(emu, "1700000500.000100")) == 1)
    await app.wait_idle()
    assert caplog.records  # the run did log (ids, counts) ...
    assert secret not in caplog.text  # ... but never the patron's words or the reply
    assert "@pat" not in caplog.text and PATRON not in caplog.text


async def test_the_app_builds_the_slack_parts_from_settings(tmp_path: Path, emu: SlackEmulator) -> None:
    async with PatronDesk(settings_for(tmp_path, emu)) as app:  # make_client, build() of desk and source
        await emu.connected()
        assert sorted(app.desks) == ["slack"] and "slack" in app.sources
        card = await patron_says(emu, "do you lend telescopes?", "1700000600.000100")
        assert buttons(card) == [CLAIM, REPLY, REASSIGN, IGNORE, NOTE]
    assert emu.count("apps.connections.open") == 1  # one connection shared by desk and source


async def test_card_names_the_bot_form_shows_the_question_resolved_card_keeps_the_reply(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    card = await patron_says(
        emu, "Hi <@U0BOTUSER1>! Is the makerspace open <!here> on Sunday?", "1700000300.000100"
    )
    assert "Hi @patron-desk!" in card_text(card) and "U0BOTUSER1" not in card_text(card)

    before = set(emu.views)
    await emu.click(ALICE, STAFF, card["ts"], REPLY)
    await wait_for(lambda: set(emu.views) - before)
    editor = json.dumps(emu.views[(set(emu.views) - before).pop()]["blocks"], ensure_ascii=False)
    assert "*Pat Ron (@pat)* wrote:" in editor
    assert "\\n> Hi @patron-desk! Is the makerspace open" in editor  # JSON: a quoted line
    assert "<!here>" not in editor  # the patron's words never ping, in the form either

    await reply_through_modal(emu, ALICE, card["ts"], "Yes, 12:00-17:00 on Sundays.")
    await settled(app, emu, card["ts"], "see the published reply")
    await emu.click(ALICE, STAFF, card["ts"], RESOLVE)
    resolved = await settled(app, emu, card["ts"], "Resolved")
    assert "Yes, 12:00-17:00 on Sundays." in card_text(resolved)
    assert "💬 Reply by Alice Archer" in card_text(resolved)


async def test_a_new_staff_member_is_named_by_their_slack_display_name(
    app: PatronDesk, emu: SlackEmulator
) -> None:
    """A staff-group member not in the rules file claims: the row made for them carries "Rae Racer"
    (users.info), not the login name the click payload gives ("u0racer00")."""
    emu.add_user(RACERS[0], "Rae Racer")
    card = await patron_says(emu, "Where do I return a laptop?", "1700000400.000100")
    await emu.click(RACERS[0], STAFF, card["ts"], CLAIM)
    await settled(app, emu, card["ts"], "Claimed by")
    view = await app.service.view(1)
    assert view.assignee == "Rae Racer"


async def open_form(emu: SlackEmulator, user: str, ts: str, action_id: str) -> dict[str, Any]:
    before = set(emu.views)
    await emu.click(user, STAFF, ts, action_id)
    await wait_for(lambda: set(emu.views) - before)
    return emu.views[(set(emu.views) - before).pop()]


def staff_thread(emu: SlackEmulator, card_ts: str) -> list[str]:
    return [m["text"] for m in emu.channels[STAFF] if m.get("thread_ts") == card_ts and m["ts"] != card_ts]


async def test_notes_tags_read_and_history_on_slack(app: PatronDesk, emu: SlackEmulator) -> None:
    """Issue 16 on the emulator: a note and tags from the form, Resolve with READ, one history line per
    event in the card's thread, the card one message edited in place, and nothing sent to the patron."""
    card = await patron_says(emu, "where is the quiet study room", "1700000500.000100")
    ts = card["ts"]
    form = await open_form(emu, ALICE, ts, NOTE)
    tags = form["blocks"][-1]["element"]["options"]
    assert [o["value"] for o in tags] == ["question", "praise", "complaint", "event", "account", "spam"]
    too_long = {NOTE_BLOCK: {"text": {"type": "plain_text_input", "value": "x" * 1001}}}
    ack = await emu.submit(ALICE, form, too_long)
    assert (
        ack["payload"]["response_action"] == "errors"
        and "limit is 1000" in ack["payload"]["errors"][NOTE_BLOCK]
    )
    chosen = {
        "type": "multi_static_select",
        "selected_options": [{"value": "question"}, {"value": "<!here>"}],
    }
    values = {
        NOTE_BLOCK: {"text": {"type": "plain_text_input", "value": "Asked at the desk too <!channel>"}},
        TAGS_BLOCK: {"tags": chosen},
    }
    assert (await emu.submit(ALICE, form, values))["payload"] == {"response_action": "clear"}
    card = await settled(app, emu, ts, "Internal notes: 1")
    text = card_text(card)
    assert "`question`" in text and "Asked at the desk too" in text and "<!channel>" not in text
    await wait_for(lambda: any("Unknown tag" in e["text"] for e in emu.ephemerals))  # the forged option

    await emu.click(ALICE, STAFF, ts, CLAIM)
    await settled(app, emu, ts, "Claimed by")
    form = await open_form(emu, ALICE, ts, RESOLVE_READ)
    forged = {READ_BLOCK: {"read": {"type": "static_select", "selected_option": {"value": "9"}}}}
    assert (await emu.submit(ALICE, form, forged))["payload"]["response_action"] == "errors"
    values = {
        READ_BLOCK: {"read": {"type": "static_select", "selected_option": {"value": "2"}}},
        KIND_BLOCK: {"kind": {"type": "radio_buttons", "selected_option": {"value": "directional"}}},
    }
    assert (await emu.submit(ALICE, form, values))["payload"] == {"response_action": "clear"}
    card = await settled(app, emu, ts, "READ 2 · directional")
    await app.wait_idle()
    lines = staff_thread(emu, ts)
    assert lines == [
        "🏷️ Tagged question by Alice Archer.",
        "📝 Note by Alice Archer.",
        "✋ Claimed by Alice Archer.",
        "✅ Resolved by Alice Archer. READ 2. Directional.",
    ]
    assert not any("<@" in line or "<!" in line for line in lines)  # nobody pinged
    assert len(cards(emu)) == 1 and emu.message(STAFF, ts)["edits"] >= 3  # one card, edited in place
    assert thread_replies(emu, "1700000500.000100") == []  # nothing reached the patron


async def test_a_stranger_cannot_note_or_tag(app: PatronDesk, emu: SlackEmulator) -> None:
    card = await patron_says(emu, "do you have wifi", "1700000600.000100")
    emu.add_user("U0STRANGE", "mallory", "Mallory")
    await emu.click("U0STRANGE", STAFF, card["ts"], NOTE)
    await wait_for(lambda: any(e["user"] == "U0STRANGE" for e in emu.ephemerals))
    assert "Only library staff" in next(e["text"] for e in emu.ephemerals if e["user"] == "U0STRANGE")
    form = emu.store_view(note_view(1, channel=STAFF, tags=("spam",), current=()))  # submitted unopened
    values = {
        NOTE_BLOCK: {"text": {"type": "plain_text_input", "value": "pwned"}},
        TAGS_BLOCK: {"tags": {"type": "multi_static_select", "selected_options": [{"value": "spam"}]}},
    }
    await emu.submit("U0STRANGE", form, values)
    await wait_for(lambda: sum(e["user"] == "U0STRANGE" for e in emu.ephemerals) == 2)
    await app.wait_idle()
    view = await app.service.view(1)
    assert view.note_count == 0 and view.tags == () and staff_thread(emu, card["ts"]) == []
