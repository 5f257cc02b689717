"""ANSWERS_FILE is read again when it changes (checked on use): a good edit counts from the next use,
a bad one keeps the answers read before, is logged once and shown to staff until it is fixed."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import PatronDesk
from bot.config import Settings
from bot.core.answers_file import AnswersFile
from bot.core.service import DeskService
from bot.models import DeskQuery, Reply, StaffRef
from bot.setting_checks import read_answers
from bot.store.db import Database
from tests.core.helpers import RULES, make_service, mention
from tests.fakes.recording import FakeSource, RecordingDesk

ME = StaffRef("console", "console", "console")
FIRST = '[answers.renewals]\ntext = "Renew at the desk."\n'
SECOND = FIRST + '[answers.hours]\ntext = "Open {today_hours}."\n'
BROKEN = SECOND + '[answers.oops]\ntext = "Hello {no_such_thing}"\n'


def edit(path: Path, text: str, step: int) -> None:
    """Write and move the modification time on by ``step`` seconds (no waiting on the clock)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    later = before + step * 1_000_000_000
    os.utime(path, ns=(later, later))


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[DeskService]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/answers.db")
    await db.migrate()
    svc = await make_service(db, desks=("console",))
    await svc.ingest("fake", mention(1, "Are you open today?"), None)
    yield svc
    await db.aclose()


async def test_edits_count_from_the_next_use_and_a_bad_edit_keeps_the_last_good_answers(
    service: DeskService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "answers.toml"
    edit(path, FIRST, 0)
    service.answers_file = AnswersFile(path, read_answers)
    listing = await service.handle(DeskQuery(ME, "answers"))
    assert listing.choices == ("renewals",)

    edit(path, SECOND, 1)
    assert (await service.handle(DeskQuery(ME, "answers"))).choices == ("hours", "renewals")

    caplog.set_level(logging.INFO, logger="bot.core.answers_file")
    edit(path, BROKEN, 2)
    listing = await service.handle(DeskQuery(ME, "answers"))
    assert listing.choices == ("hours", "renewals")  # the answers read before, still usable
    assert listing.message.startswith("⚠️ The saved answers file has an error, so the 2 answers")
    assert "no_such_thing" in listing.message
    unknown = await service.handle(DeskQuery(ME, "answers 1 /oops"))
    assert not unknown.ok and "has an error" in unknown.message
    filled = await service.handle(DeskQuery(ME, "answers 1 /renewals"))
    assert filled.ok and filled.message == "Renew at the desk."
    await service.handle(DeskQuery(ME, "answers"))  # no change since: not logged again
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "2 saved answers read before stay in use" in errors[0].getMessage()

    path.unlink()  # removed: still the last good answers, still the warning
    listing = await service.handle(DeskQuery(ME, "answers"))
    assert listing.choices == ("hours", "renewals") and "cannot read" in listing.message

    edit(path, FIRST, 3)  # fixed: read again, the warning gone
    listing = await service.handle(DeskQuery(ME, "answers"))
    assert listing.choices == ("renewals",) and "⚠️" not in listing.message
    sent = await service.handle(Reply(1, ME, "/hours"))
    assert not sent.ok and "there is no saved answer '/hours'" in sent.message


def test_a_broken_file_at_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_text(BROKEN)
    with pytest.raises(ValueError, match="no_such_thing"):
        AnswersFile(path, read_answers)


async def test_the_app_reads_the_file_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    edit(path, FIRST, 0)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    config = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        ANSWERS_FILE=path,
    )
    async with PatronDesk(config, sources=[FakeSource(items=[])], desks=[RecordingDesk()]) as app:
        assert (await app.service.handle(DeskQuery(ME, "answers"))).choices == ("renewals",)
        edit(path, SECOND, 1)
        assert (await app.service.handle(DeskQuery(ME, "answers"))).choices == ("hours", "renewals")
