"""Invariant 8 (core part): patron text, handles and links never reach the logs, even on error paths."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import PatronDesk
from bot.models import Mention, Reply
from tests.fakes.recording import FakeSource, RecordingDesk, Refused
from tests.waiting import until

from .helpers import staff
from .test_app import settings

CANARY = "CANARY-7f3a9c"


def hostile(n: int) -> Mention:
    return Mention(
        source="fake",
        external_id=f"{CANARY}-id-{n}",
        text=f"renew {CANARY} my secret address is 1 Elm St",
        created_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
        url=f"https://social.example/{CANARY}",
        author_handle=f"@{CANARY}@social.example",
        author_name=f"{CANARY} Person",
        content_warning=CANARY,
        reply_ref=CANARY,
    )


async def test_no_patron_text_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    desk = RecordingDesk(fail_next=2)  # the desk is down at first: error paths log too
    source = FakeSource(items=[(hostile(1), None), (hostile(2), None)], fail_reply=Refused(f"no {CANARY}"))
    async with PatronDesk(settings(tmp_path), sources=[source], desks=[desk]) as app:
        app.relay.policy.cap = 0.01  # retry at once; this test is about logs, not timing
        await until(lambda: len(desk.posts) == 2, within=30)
        # confirmed: the post holds a street address, and this test is about the logs, not the guard
        await app.service.handle(Reply(1, staff(1), f"Reply mentioning {CANARY}", confirmed=True))
        await until(lambda: any("was not published" in t for _, t in desk.told), within=30)
    logged = "\n".join(record.getMessage() + str(record.args) for record in caplog.records)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert logged.count(CANARY) == 0
