"""`check`, `rota gaps` and `report --branch` with the example branches file, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import cli
from tests.cli_runner import CliRunner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    (tmp_path / "rules.toml").write_text((EXAMPLES / "branches.toml").read_text(encoding="utf-8"))
    (tmp_path / "rota.csv").write_text((EXAMPLES / "branches-rota.csv").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/desk.db",
        "RULES_FILE": "rules.toml",
        "ROTA_FILE": "rota.csv",
        "LIBRARY_TIMEZONE": "UTC",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return CliRunner()


def test_check_lists_each_branch_with_its_zone_and_roles(run: CliRunner) -> None:
    checked = run.invoke(cli, ["check"])
    assert checked.exit_code == 0, checked.output
    assert (
        "branches: Central Library [central] (Europe/London: central-desk); "
        "Harbor Branch [harbor] (America/New_York: harbor-desk); "
        "no branch (LIBRARY_TIMEZONE, OPENING_HOURS): director"
    ) in checked.output


def test_check_says_what_to_fix_in_a_branch(run: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    text = rules.read_text().replace('branch = "harbor"', 'branch = "harbour"')
    rules.write_text(text.replace('"America/New_York"', '"America/NewYork"'))
    checked = run.invoke(cli, ["check"])
    assert checked.exit_code == 2
    assert (
        'timezone "America/NewYork" is not an IANA time zone (did you mean "America/New_York"?)'
        in checked.output
    )
    assert 'roles.harbor-desk: branch "harbour" is not defined in [branches] (did you mean "harbor"?)' in (
        checked.output
    )
    started = run.invoke(cli, ["run"])
    assert started.exit_code == 2 and 'did you mean "harbor"?' in started.output


def test_gaps_and_reports_per_branch(run: CliRunner, tmp_path: Path) -> None:
    rota = tmp_path / "rota.csv"
    rota.write_text(rota.read_text().replace("harbor-desk,mon-fri,10:00", "harbor-desk,mon-fri,11:00"))
    gaps = run.invoke(cli, ["rota", "gaps"])
    assert gaps.exit_code == 0, gaps.output
    assert "  harbor-desk at Harbor Branch: " in gaps.output  # 10:00-11:00 New York time, each weekday
    assert "10:00–11:00 EST, nobody on duty" in gaps.output or "10:00–11:00 EDT" in gaps.output
    assert "central-desk" not in gaps.output
    month = ["--since", "2026-03-01", "--until", "2026-03-31"]
    report = run.invoke(cli, ["report", *month, "--branch", "harbor"])
    assert report.exit_code == 0, report.output
    assert "branch: Harbor Branch (days and opening hours in America/New_York)" in report.output
    every = run.invoke(cli, ["report", *month])
    assert "  Harbor Branch (America/New_York): 0 mentions" in every.output
    assert "  no branch (UTC): 0 mentions" in every.output
    typo = run.invoke(cli, ["report", "--since", "2026-03-01", "--branch", "harber"])
    assert typo.exit_code == 2 and 'no branch "harber" (did you mean "harbor"?)' in typo.output


def test_check_warns_when_a_user_group_has_no_slack_desk(run: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    text = rules.read_text().replace("[roles.harbor-desk]", '[roles.harbor-desk]\nslack_usergroup = "harbor"')
    assert text != rules.read_text()
    rules.write_text(text)
    checked = run.invoke(cli, ["check"])
    assert checked.exit_code == 0, checked.output  # a warning, not a failure
    assert (
        "rules: warning: role harbor-desk sets slack_usergroup but no Slack desk is configured, so no group "
        "follows the rota; set SLACK_BOT_TOKEN (and the staff channel) or remove slack_usergroup"
    ) in checked.output
