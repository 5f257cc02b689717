"""Settings a new librarian gets wrong: misspelt names, lower-case choices, another `.env`, a database
file in the wrong folder, a chat desk with no channel. Each one stops start-up with a line saying what
to change, or (`check`) warns."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.__main__ import cli
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.setting_names import unknown_settings
from tests.cli_runner import CliRunner

KNOWN = sorted(Settings.names())


@pytest.fixture(autouse=True)
def _elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env, and a database file lands here if anything makes one


def test_misspelt_name_in_env_file_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LIBRARY_TIMEZOME=America/Chicago\nLOG_LEVEL=INFO\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == ("unknown setting LIBRARY_TIMEZOME in .env — did you mean LIBRARY_TIMEZONE?")


def test_misspelt_and_unknown_names_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKN", "xoxb-1")
    monkeypatch.setenv("MATRIX_ROOM_FOR_STAFF", "!a:b")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert lines == [
        "unknown setting MATRIX_ROOM_FOR_STAFF in the environment: no such setting (see .env.example)",
        "unknown setting SLACK_BOT_TOKN in the environment — did you mean SLACK_BOT_TOKEN?",
    ]


def test_other_programs_variables_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "TEST_DATABASE_URL", "LOGNAME", "PATRON_DESK_FULL", "POSTGRES_PASSWORD"):
        monkeypatch.setenv(name, "x")
    assert load_settings().LIBRARY_TIMEZONE == "UTC"


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(KNOWN),
    where=st.integers(min_value=2, max_value=40),
    letter=st.sampled_from(string.ascii_uppercase),
)
def test_one_letter_off_is_caught(name: str, where: int, letter: str) -> None:
    where = min(where, len(name) - 1)
    typo = name[:where] + letter + name[where + 1 :]
    if typo in KNOWN:
        return
    found = unknown_settings([typo], "in .env")
    assert len(found) == 1 and found[0].startswith(f"unknown setting {typo} in .env — did you mean ")


@given(name=st.sampled_from(KNOWN), lower=st.booleans(), junk=st.lists(st.text(max_size=300), max_size=5))
def test_our_names_in_any_case_pass_and_junk_names_do_not_crash(
    name: str, lower: bool, junk: list[str]
) -> None:
    assert unknown_settings([name.lower() if lower else name], "in .env") == []
    for line in unknown_settings(junk, "in the environment"):
        assert line.startswith("unknown setting ") and line.count("\n") <= sum(n.count("\n") for n in junk)


def test_choices_ignore_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "info")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    monkeypatch.setenv("CONSOLE_DESK", " On ")
    monkeypatch.setenv("WEEKLY_REPORT_AT", "Mon 09:00")
    loaded = load_settings()
    assert (loaded.LOG_LEVEL, loaded.LOG_FORMAT, loaded.CONSOLE_DESK) == ("INFO", "json", "on")
    assert loaded.WEEKLY_REPORT_AT == "mon 09:00"
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings()


def test_env_file_option(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "desk.env").write_text(
        f"LIBRARY_TIMEZONE=America/Chicago\nDATABASE_URL=sqlite:///{tmp_path}/d.db\n"
    )
    shown = CliRunner().invoke(cli, ["--env-file", str(folder / "desk.env"), "check"])
    assert shown.exit_code == 0, shown.output
    assert "settings: ok (time zone America/Chicago)" in shown.output

    (folder / "typo.env").write_text("FEEDS_POLL_SECONDS=60\n")
    typo = CliRunner().invoke(cli, ["--env-file", str(folder / "typo.env"), "check"])
    assert typo.exit_code == 2
    assert "did you mean FEED_POLL_SECONDS?" in typo.output

    missing = CliRunner().invoke(cli, ["--env-file", str(folder / "nope.env"), "check"])
    assert missing.exit_code == 2
    assert f"--env-file {folder / 'nope.env'}: no such file" in missing.output


def test_check_warns_before_a_database_file_is_made(tmp_path: Path) -> None:
    shown = CliRunner().invoke(cli, ["check"])
    target = (tmp_path / "patron-desk.db").resolve()
    assert f"database: warning: {target} does not exist yet; `run` would create it" in shown.output
    assert not target.exists()  # check itself made nothing
    assert shown.exit_code == 0  # the folder exists: `run` would work, only the place may be wrong


def test_check_fails_when_the_database_folder_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/no/such/folder/desk.db")
    shown = CliRunner().invoke(cli, ["check"])
    assert shown.exit_code == 1
    assert "its folder does not exist either" in shown.output


@pytest.mark.parametrize(
    ("env", "needed"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_STAFF_CHANNEL is not"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_STAFF_CHANNEL": "C1"}, "neither SLACK_APP_TOKEN"),
        (
            {"MATRIX_HOMESERVER": "https://m.example", "MATRIX_USER_ID": "@b:m", "MATRIX_PASSWORD": "p"},
            "MATRIX_STAFF_ROOM is not",
        ),
        (
            {"MATRIX_HOMESERVER": "https://m.example", "MATRIX_STAFF_ROOM": "!r:m"},
            "MATRIX_USER_ID is not set",
        ),
        ({"BLUESKY_HANDLE": "lib.example"}, "BLUESKY_APP_PASSWORD is not set"),
    ],
)
def test_half_configured_desk_stops_run_and_check(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needed: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for command in (["check"], ["run"]):
        shown = CliRunner().invoke(cli, command)
        assert shown.exit_code == 2, shown.output
        assert "fix these settings" in shown.output and needed in shown.output


def test_a_chat_platform_used_only_as_a_source_needs_no_staff_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "x",
        "SLACK_SOURCE_CHANNELS": "C9",
    }.items():
        monkeypatch.setenv(key, value)
    loaded = load_settings()
    assert loaded.console_on  # the cards go to the console desk, and `check` says Slack posts none
    assert "source only, no cards" in CliRunner().invoke(cli, ["check"]).output


def test_route_refuses_an_unknown_platform_and_lists_the_known_ones() -> None:
    from bot.platforms import source_platforms

    shown = CliRunner().invoke(cli, ["route", "is the library open?", "--platform", "myspace"])
    assert shown.exit_code == 2
    known = ", ".join(sorted(source_platforms()))
    assert f"--platform 'myspace' is not a platform Patron Desk reads. Known: {known}." in shown.output
    assert "mastodon" in known and "console" not in known  # sources only: the console is a desk
    fine = CliRunner().invoke(cli, ["route", "is the library open?", "--platform", "bluesky"])
    assert fine.exit_code == 0 and "role:" in fine.output


def test_run_says_where_it_makes_a_new_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import _say_new_database

    _say_new_database(load_settings())
    assert f"No database at {(tmp_path / 'patron-desk.db').resolve()} yet" in capsys.readouterr().err
    (tmp_path / "patron-desk.db").touch()
    _say_new_database(load_settings())
    assert capsys.readouterr().err == ""  # an existing file: nothing to say


def test_check_in_and_user_group_names_get_a_pointer() -> None:
    from bot.setting_names import unknown_settings

    found = unknown_settings(["CHECKIN_MINUTE", "SLACK_USERGROUPS"], "in .env")
    assert found[0].endswith("did you mean CHECKIN_MINUTES?")
    assert "rules file: slack_usergroup" in found[1]
