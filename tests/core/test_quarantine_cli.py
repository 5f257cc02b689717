"""`patron-desk quarantine list|retry|drop` on a real SQLite file, as an operator runs them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.__main__ import cli
from bot.core import intake as intake_module
from bot.core import quarantine
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from tests.cli_runner import CliRunner

from .helpers import RULES, make_service, mention

WORDS = "my overdue book, please"  # patron text: never printed by the CLI


async def fill(url: str) -> None:
    """One item that fits now (it failed for a reason since fixed) and one the database refuses."""
    db = Database(url)
    await db.migrate()
    service = await make_service(db, desks=())
    fits = replace(mention(1, WORDS), external_id="fits-now")
    await quarantine.set_aside(service.context, "fake", fits, None, stream="default", reason="DataError")
    refused = replace(mention(2, WORDS), external_id="refused", text=f"{WORDS} \ud800")
    await service.ingest("fake", refused, "1")
    await db.aclose()


async def stored(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    db = Database(url)
    async with db.transaction() as session:
        mentions = list((await session.execute(select(MentionRow.external_id))).scalars())
        posts = [(r.kind, r.target) for r in (await session.execute(select(OutboxRow))).scalars()]
    await db.aclose()
    return mentions, posts


def test_quarantine_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/desk.db"
    (tmp_path / "rules.toml").write_text(RULES)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in {"DATABASE_URL": url, "RULES_FILE": "rules.toml", "CONSOLE_DESK": "on"}.items():
        monkeypatch.setenv(key, value)
    # ingest cleans every item (domain/sanitize); this stands for a value the boundary does not know
    monkeypatch.setattr(intake_module, "safe_mention", lambda item, *, now: item)
    asyncio.run(fill(url))
    run = CliRunner().invoke

    listed = run(cli, ["quarantine", "list"])
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0].startswith("#1  fake  fits-now  DataError  attempts 1  received ")
    assert listed.output.splitlines()[1].startswith("#2  fake  refused  UnicodeEncodeError  attempts 1")
    assert WORDS not in listed.output

    assert run(cli, ["quarantine", "retry"]).exit_code == 2  # ids or --all, never a silent "all"
    retried = run(cli, ["quarantine", "retry", "1"])
    assert (retried.exit_code, retried.output) == (0, "#1: stored as a mention\n")
    assert asyncio.run(stored(url)) == (["fits-now"], [("post_card", "console")])  # the bot cards it
    again = run(cli, ["quarantine", "retry", "--all"])
    assert (again.exit_code, again.output) == (1, "#2: still cannot be stored\n")
    assert "attempts 2" in run(cli, ["quarantine", "list"]).output

    dropped = run(cli, ["quarantine", "drop", "--all"])
    assert (dropped.exit_code, dropped.output) == (0, "Dropped 1 item(s) from quarantine.\n")
    assert run(cli, ["quarantine", "list"]).output == "Nothing is in quarantine.\n"
    assert run(cli, ["quarantine", "retry", "7"]).output == "#7: no such item\n"
