"""`patron-desk rota import [--replace] [--dry-run]`, `rota gaps` and `check`, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import cli
from tests.cli_runner import CliRunner

RULES = """
default_role = "reference"

[roles.reference]
no_cover = "sat-sun 00:00-24:00"
[roles.tech]
no_cover = "sat-sun 00:00-24:00"

[[staff]]
key = "alice"
name = "Alice Archer"
[[staff]]
key = "chidi"
name = "Chidi Okafor"
"""
CSV = "person,role,days,start,end\nalice,reference,mon-fri,09:00,17:00\nchidi,tech,mon-fri,10:00,16:00\n"


def test_import_replace_gaps_and_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "rota.csv").write_text(CSV)
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/desk.db",
        "RULES_FILE": "rules.toml",
        "ROTA_FILE": "rota.csv",
        "OPENING_HOURS": "mon-fri 09:00-17:00",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    run = CliRunner().invoke

    checked = run(cli, ["check"])
    assert "rota file vs database: the database has no rota yet" in checked.output
    gaps = run(cli, ["rota", "gaps"])  # top level now; the rota file is imported on first use
    assert gaps.exit_code == 0, gaps.output
    assert "tech: Mon " in gaps.output and "09:00–10:00, nobody on duty" in gaps.output
    assert "Sat" not in gaps.output and "reference:" not in gaps.output
    assert "rota file vs database: the same" in run(cli, ["check"]).output

    again = run(cli, ["rota", "import", "rota.csv"])
    assert again.exit_code == 0 and "The rota already matches rota.csv." in again.output  # no doubling

    (tmp_path / "rota.csv").write_text(CSV.replace("10:00,16:00", "09:00,17:00"))
    checked = run(cli, ["check"])
    assert (
        "they differ (the file changed since it was imported): 1 shift(s) only in the file, 1 only"
        in checked.output
    )
    refused = run(cli, ["rota", "import", "rota.csv"])
    assert refused.exit_code == 2 and "overlaps stored shift #2" in refused.output
    dry = run(cli, ["rota", "import", "--replace", "--dry-run", "rota.csv"])
    assert dry.exit_code == 0
    assert (
        "- #2 Chidi Okafor, tech, Mon-Fri 10:00-16:00\n+ Chidi Okafor, tech, Mon-Fri 09:00-17:00"
        in dry.output
    )
    assert "Dry run: nothing was changed." in dry.output
    applied = run(cli, ["rota", "import", "--replace", "rota.csv"])
    assert "Applied rota.csv: 1 added, 1 removed." in applied.output
    assert "rota file vs database: the same" in run(cli, ["check"]).output
    assert "No gaps" in run(cli, ["rota", "gaps"]).output

    (tmp_path / "ghost.csv").write_text(CSV + "alcie,reference,sat,10:00,12:00\n")
    ghost = run(cli, ["rota", "import", "ghost.csv"])
    assert ghost.exit_code == 2 and "alcie is not on the staff list. Did you mean @alice?" in ghost.output
    edit = run(cli, ["rota", "edit", "add", "@chidii", "tech", "sat", "10:00-12:00"])
    assert edit.exit_code == 1 and "Did you mean @chidi?" in edit.output
