"""`patron-desk check --connect` against the Slack emulator: it posts nothing, and says whether the bot
can post in the staff channel (a member, not archived) or what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import AdapterConfigError
from bot.platforms.slack.reach import channel_verdict
from bot.setup_check import check_setup
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackEmulator
from tests.fakes.slack_payloads import BOT_USER
from tests.slack.slack_helpers import STAFF


def settings_for(emu: SlackEmulator, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": emu.api_url,
        "SLACK_STAFF_CHANNEL": STAFF,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/desk.db",
        **extra,
    }
    return Settings(**values)


def desk_line(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("slack desk:"))


async def test_the_bot_in_the_staff_channel_can_post(emu: SlackEmulator, tmp_path: Path) -> None:
    lines, ok = await check_setup(settings_for(emu, tmp_path), connect=True)
    assert ok, lines
    assert desk_line(lines) == (
        f"slack desk: connected: bot {BOT_USER} can post cards in #staff-{STAFF.lower()} ({STAFF})"
    )
    assert emu.count("conversations.info") == 1
    assert emu.count("chat.postMessage") == 0 and emu.count("chat.postEphemeral") == 0  # posts nothing


async def test_a_bot_not_invited_is_told_to_invite_it(emu: SlackEmulator, tmp_path: Path) -> None:
    emu.bot_left.add(STAFF)
    lines, ok = await check_setup(settings_for(emu, tmp_path), connect=True)
    assert not ok
    assert "cannot connect: the bot is not a member of the staff channel" in desk_line(lines)
    assert "/invite" in desk_line(lines)


async def test_an_archived_or_unknown_channel_fails(emu: SlackEmulator, tmp_path: Path) -> None:
    emu.archived.add(STAFF)
    lines, ok = await check_setup(settings_for(emu, tmp_path), connect=True)
    assert not ok and "is archived" in desk_line(lines)
    lines, ok = await check_setup(settings_for(emu, tmp_path, SLACK_STAFF_CHANNEL="C0NOWHERE"), connect=True)
    assert not ok
    assert "SLACK_STAFF_CHANNEL C0NOWHERE cannot be read" in desk_line(lines)
    assert "channel_not_found" in desk_line(lines)


async def test_a_refused_token_fails(emu: SlackEmulator, tmp_path: Path) -> None:
    lines, ok = await check_setup(settings_for(emu, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong"), connect=True)
    assert not ok and "Slack refused SLACK_BOT_TOKEN" in desk_line(lines)


@pytest.mark.parametrize(
    "answer",
    [{}, {"channel": None}, {"channel": "C1"}, {"channel": {"is_member": "yes", "name": ["x"]}}],
)
def test_odd_answers_never_pass_as_postable(answer: dict[str, object]) -> None:
    if answer.get("channel") and isinstance(answer["channel"], dict):
        assert channel_verdict("C1", answer) == "C1"  # a truthy is_member counts; a list name is not shown
        return
    with pytest.raises(AdapterConfigError, match="not a member"):
        channel_verdict("C1", answer)


async def test_push_sources_build_and_the_webhook_says_where(
    emu: SlackEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(emu, tmp_path, SLACK_SOURCE_CHANNELS=("C0COMMUNI1",), WEBHOOK_SECRET="s" * 32)
    lines, ok = await check_setup(settings, connect=True)
    assert ok, lines
    assert not any("cannot start" in line for line in lines)  # the Slack source needs no live ingest here
    webhook = next(line for line in lines if line.startswith("webhook:") and "connected" in line)
    assert webhook.startswith("webhook: connected: ready: POST http://127.0.0.1:8080/webhook")
    assert "no ingest callback" not in caplog.text


async def test_a_duty_user_group_without_usergroups_write_is_named(
    emu: SlackEmulator, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('default_role = "reference"\n[roles.reference]\nslack_usergroup = "reference-desk"\n')
    conf = settings_for(emu, tmp_path, RULES_FILE=rules)
    lines, ok = await check_setup(conf, connect=True)
    assert ok, lines  # the scope is there: nothing to say
    assert not any("slack_usergroup but no Slack desk" in line for line in lines)
    emu.scopes.discard("usergroups:write")
    lines, ok = await check_setup(conf, connect=True)
    assert not ok
    line = desk_line(lines)
    assert "reference-desk cannot follow the rota" in line and "usergroups:write" in line
    assert emu.count("usergroups.users.update") == 0  # check changes nothing
