"""The demo's world and files: patrons spread over the stand-ins, replies printed back, the database kept
where the banner says, logs away from the cards."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.demo.banner import banner, farewell, report_hint
from bot.demo.paths import demo_paths, fresh_database
from bot.demo.patrons import SCRIPT, assigned
from bot.demo.standin import Patron
from bot.demo.world import DemoWorld
from bot.logs import log_file_for, shares_terminal
from bot.platforms.mastodon.standin import TOKEN
from tests.waiting import until

QUICK = (
    Patron("Maya Lindqvist", "mayareads", "are you open Monday?", 0),
    Patron("Tomás Rivera", "tomasr", "can I renew online?", 0),
    Patron("Priya Nair", "priya_n", "story time on Saturday?", 0),
)


def test_the_script_asks_realistic_questions_spread_over_minutes_and_platforms() -> None:
    texts = " ".join(p.text for p in SCRIPT)
    assert "open Monday" in texts and "renew online" in texts
    delays = [p.after for p in SCRIPT]
    assert delays == sorted(delays) and delays[0] < 10 and delays[-1] >= 120
    spread = assigned(["mastodon", "bluesky"])
    assert [platform for platform, _ in spread[:4]] == ["mastodon", "bluesky", "mastodon", "bluesky"]
    assert assigned([]) == []


async def test_the_world_serves_every_stand_in_and_prints_what_the_library_publishes() -> None:
    out = io.StringIO()
    async with DemoWorld(script=QUICK, out=out, speed=1000) as world:
        assert set(world.standins) == {"mastodon", "bluesky"}
        settings = world.settings()
        assert settings["FEEDS"] == (world.feed.url,)
        assert settings["MASTODON_URL"] == world.standins["mastodon"].origin
        assert settings["BLUESKY_SERVICE"] == world.standins["bluesky"].origin
        Settings(**settings)  # every key is a real setting with a valid value
        async with httpx.AsyncClient(base_url=settings["MASTODON_URL"]) as client:
            auth = {"Authorization": f"Bearer {TOKEN}"}

            async def mentions() -> list[dict[str, object]]:
                return (await client.get("/api/v1/notifications", headers=auth)).json()

            found: list[dict[str, object]] = []
            async with asyncio.timeout(30):
                while len(found) < 2:  # Maya and Priya post on the Mastodon stand-in, Tomás on Bluesky
                    await asyncio.sleep(0.02)
                    found = await mentions()
            parent = found[0]["status"]["id"]  # type: ignore[index]
            body = {"status": "@priya_n@social.demo Yes, at 10:30.", "in_reply_to_id": parent}
            await client.post("/api/v1/statuses", json=body, headers=auth)
        await until(lambda: "published on Mastodon" in out.getvalue())
        assert "📣 published on Mastodon: @priya_n@social.demo Yes, at 10:30." in out.getvalue()
        assert any("Bluesky: http://127.0.0.1:" in line for line in world.lines())
    assert world.standins == {}


def test_the_database_is_kept_in_demo_and_started_afresh(tmp_path: Path) -> None:
    paths = demo_paths(tmp_path)
    assert paths.database == (tmp_path / "demo" / "patron-desk-demo.db").resolve()
    assert paths.database_url == f"sqlite+aiosqlite:///{paths.database}"
    fresh_database(paths)
    paths.database.write_bytes(b"old demo")
    Path(f"{paths.database}-wal").write_bytes(b"old wal")
    paths.log.write_text("old log\n")
    fresh_database(paths)
    assert not paths.database.exists() and not Path(f"{paths.database}-wal").exists()
    assert paths.log.read_text() == "old log\n"  # the log is appended to, not removed
    assert oct(paths.folder.stat().st_mode & 0o777) == "0o700"


def test_the_banner_says_where_things_are_and_how_to_run_report(tmp_path: Path) -> None:
    paths = demo_paths(tmp_path)
    hint = report_hint(paths, date(2026, 12, 7))
    assert hint.startswith(f"DATABASE_URL=sqlite+aiosqlite:///{paths.database} ")
    assert hint.endswith("patron-desk report --since 2026-12-07")
    text = banner(["  Mastodon: http://127.0.0.1:1"], paths, since=date(2026, 12, 7))
    assert "Mastodon: http://127.0.0.1:1" in text and hint in text and paths.log.name in text
    assert hint in farewell(paths, since=date(2026, 12, 7)) and str(paths.database) in farewell(
        paths, since=date(2026, 12, 7)
    )


def test_logs_go_beside_a_sqlite_database_or_here(tmp_path: Path) -> None:
    assert (
        log_file_for("sqlite+aiosqlite:///./data/desk.db", cwd=tmp_path)
        == tmp_path / "data" / "patron-desk.log"
    )
    assert log_file_for("sqlite+aiosqlite:////srv/desk/desk.db", cwd=tmp_path) == Path(
        "/srv/desk/patron-desk.log"
    )
    assert log_file_for("postgresql+asyncpg://u@h/db", cwd=tmp_path) == tmp_path / "patron-desk.log"
    assert log_file_for("sqlite+aiosqlite:///:memory:", cwd=tmp_path) == tmp_path / "patron-desk.log"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_with_the_console_desk_on_a_terminal_logs_go_to_a_file_not_between_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.__main__ import _log_away_from_cards

    assert not shares_terminal(io.StringIO(), FakeTerminal())
    out, err = FakeTerminal(), FakeTerminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    settings = Settings(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/desk.db", CONSOLE_DESK="on")
    _log_away_from_cards(settings, demo=False)
    logging.getLogger("bot.test").warning("a log line")
    assert f"Logs go to {tmp_path / 'patron-desk.log'}" in err.getvalue()
    assert "a log line" not in err.getvalue() + out.getvalue()
    assert "a log line" in (tmp_path / "patron-desk.log").read_text()


@pytest.mark.usefixtures("root_logging")
def test_without_the_console_desk_or_a_terminal_logs_stay_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.__main__ import _log_away_from_cards

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", FakeTerminal())
    monkeypatch.setattr(sys, "stderr", err)
    _log_away_from_cards(
        Settings(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/desk.db", CONSOLE_DESK="on"), demo=False
    )
    logging.getLogger("bot.test").warning("a log line")
    assert "a log line" in err.getvalue() and not (tmp_path / "patron-desk.log").exists()
