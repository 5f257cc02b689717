"""The command line with values an operator might type: each gets one line saying what to fix and exit
status 2, never a traceback; a real SQLite file behind it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.__main__ import cli
from tests.cli_runner import CliRunner

from .helpers import RULES


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules.toml").write_text(RULES)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path}/desk.db",
        "RULES_FILE": "rules.toml",
        "CONSOLE_DESK": "on",
    }.items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["quarantine", "retry", "99999999999999999999999"], "is not an item id"),
        (["quarantine", "drop", "-5"], "is not an item id"),
        (["quarantine", "retry", "12abc"], "is not an item id"),
        (["report", "--since", "0001-01-01"], "Report dates are from 1970-01-01 to 9000-12-31"),
        (["report", "--since", "2026-01-01", "--until", "9999-12-31"], "Report dates are from 1970-01-01"),
        (["report", "--since", "2026-01-01", "--csv", "/proc/no-such-folder/r.csv"], "no such folder"),
        (["report", "--since", "2026-01-01", "--chart", "."], "it is a folder"),
        (["route", "hello", "--at", "2026-01-01T10:00+99:00"], "is not a time"),
    ],
)
def test_a_wrong_value_is_one_line_and_status_2(desk: Path, args: list[str], said: str) -> None:
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code == 2, shown.output
    assert said in shown.output and "Traceback" not in shown.output


def test_quarantine_ids_may_be_written_as_listed(desk: Path) -> None:
    shown = CliRunner().invoke(cli, ["quarantine", "retry", "#1", "2"])
    assert shown.exit_code == 1 and shown.output.splitlines() == ["#1: no such item", "#2: no such item"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    since=st.dates() | st.text(max_size=12),
    until=st.none() | st.dates() | st.text(max_size=12),
)
def test_any_report_dates_give_a_report_or_a_line_saying_why(
    desk: Path, since: object, until: object
) -> None:
    args = ["report", "--since", str(since)] + ([] if until is None else ["--until", str(until)])
    if any(a.startswith("-") and a not in ("--since", "--until") for a in args[1:]):
        args = [a if a in ("report", "--since", "--until") else f"x{a}" for a in args]  # not an option
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code in (0, 2), shown.output
    assert "Traceback" not in shown.output
