"""Invariant 9, the process's side: a part that fails is restarted with backoff and shown in /healthz and
/metrics; the process keeps running; a part whose settings are refused stays off; cancellation stops all.

Waits between restarts go through an injected sleep that the test releases: no real seconds, no timing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from bot import metrics
from bot.app import PatronDesk
from bot.backoff import Backoff
from bot.core.base import OnAction
from bot.errors import AdapterConfigError
from bot.metrics import Health
from bot.models import Mention
from bot.supervisor import Supervisor
from tests.fakes.recording import FakeSource, RecordingDesk
from tests.waiting import until

from .helpers import mention
from .test_app import settings

MARK = "PATRON-WORDS-IN-AN-ERROR"
POLICY = Backoff(base=1.0, cap=8.0, rng=random.Random(7))


class Pauses:
    """The supervisor's sleep: records each wait and holds it until the test says go."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.go = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.go.wait()


@dataclass
class FlakyDesk(RecordingDesk):
    """A desk whose serve raises ``fail`` times (with patron words in the message), then serves."""

    fail: int = 0
    kind: type[Exception] = RuntimeError
    serving: int = 0
    stopped: bool = False

    async def serve(self, on_action: OnAction) -> None:
        self.serving += 1
        if self.fail:
            self.fail -= 1
            raise self.kind(MARK)
        try:
            await super().serve(on_action)
        finally:
            self.stopped = True


@dataclass
class FlakySource(FakeSource):
    """A pull source whose mentions() raises ``fail`` times before it yields anything."""

    fail: int = 0

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        if self.fail:
            self.fail -= 1
            raise RuntimeError(MARK)
        async for item in super().mentions(cursor):
            yield item


def restarts(part: str) -> float:
    return metrics.REGISTRY.get_sample_value("patron_desk_part_restarts_total", {"part": part}) or 0.0


async def get(app: PatronDesk, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{app.http_port}{path}")


def app_with(tmp_path: Path, pauses: Pauses, **parts: Any) -> PatronDesk:
    return PatronDesk(settings(tmp_path), restart_policy=POLICY, restart_sleep=pauses.sleep, **parts)


async def test_failed_parts_restart_with_backoff_and_the_process_keeps_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pauses, desk = Pauses(), FlakyDesk(fail=2)
    source = FlakySource(items=[(mention(1), None)], fail=1)
    before = restarts("desk:test"), restarts("source:fake")
    async with app_with(tmp_path, pauses, sources=[source], desks=[desk]) as app:
        await until(lambda: len(pauses.waits) == 2)  # both failed at once and wait to restart
        during = await get(app, "/healthz")
        pauses.go.set()
        await until(lambda: desk.serving == 3 and len(desk.posts) == 1)
        after = await get(app, "/healthz")
        page = (await get(app, "/metrics")).text
        assert not app.main_task.done()
    assert during.status_code == 503
    assert during.json()["parts"]["desk:test"] == "restarting after RuntimeError"
    assert during.json()["parts"]["source:fake"] == "restarting after RuntimeError"
    assert after.status_code == 200
    assert after.json()["restarts"] == {"desk:test": 2, "source:fake": 1}
    assert (restarts("desk:test") - before[0], restarts("source:fake") - before[1]) == (2, 1)
    assert 'patron_desk_part_restarts_total{part="desk:test"}' in page
    assert len(pauses.waits) == 3 and all(0 <= wait <= POLICY.ceiling(1) for wait in pauses.waits)
    assert app.main_task.cancelled() and desk.stopped
    assert MARK not in caplog.text and "RuntimeError" in caplog.text


async def test_a_part_whose_settings_are_refused_stays_off(tmp_path: Path) -> None:
    pauses, desk = Pauses(), FlakyDesk(fail=1, kind=AdapterConfigError)
    source = FakeSource(items=[(mention(1), None)])
    async with app_with(tmp_path, pauses, sources=[source], desks=[desk]) as app:
        await until(lambda: app.health.parts.get("desk:test") == "off: settings refused")
        await until(lambda: len(desk.posts) == 1)  # the other parts carry on
        health = await get(app, "/healthz")
        assert not app.main_task.done()
    assert (desk.serving, pauses.waits) == (1, [])
    assert health.status_code == 503 and health.json()["parts"]["source:fake"] == "ok"


async def test_cancellation_stops_every_part_even_one_waiting_to_restart(tmp_path: Path) -> None:
    pauses, waiting, serving = Pauses(), FlakyDesk(desk="waiting", fail=1), FlakyDesk(desk="serving")
    async with app_with(tmp_path, pauses, desks=[waiting, serving]) as app:
        await until(lambda: pauses.waits and serving.serving == 1)
    assert app.main_task.cancelled()
    assert serving.stopped and waiting.serving == 1  # never restarted after the stop


async def test_supervisor_parts_ending_by_themselves_and_groups() -> None:
    health = Health()

    async def never(seconds: float) -> None:
        raise AssertionError("neither part may be restarted")

    parts = Supervisor(health, policy=POLICY, sleep=never)

    async def ends() -> None:
        return None

    async def refused_in_a_group() -> None:  # like a desk that runs its own task group
        raise ExceptionGroup("parts", [AdapterConfigError(MARK)])

    await parts.keep("ends", ends)
    await parts.keep("group", refused_in_a_group)
    assert health.parts == {"ends": "stopped", "group": "off: settings refused"}
    assert health.restarts == {}


async def test_a_lost_database_connection_is_a_retry_of_the_source_not_a_restart(tmp_path: Path) -> None:
    pauses, desk = Pauses(), RecordingDesk()
    app = app_with(tmp_path, pauses, sources=[FakeSource(items=[(mention(1), None)])], desks=[desk])
    write, failures = app.db.write, [OperationalError("INSERT", {}, Exception("connection lost"))]

    async def write_or_lose(work: Any) -> Any:  # the first ingest meets a database restart
        if failures:
            raise failures.pop()
        return await write(work)

    app.db.write = write_or_lose  # type: ignore[method-assign]
    async with app:
        await until(lambda: len(desk.posts) == 1)  # the pump waited (its own backoff) and went on
        assert app.health.parts["source:fake"] == "ok" and not app.main_task.done()
    assert (app.health.restarts, pauses.waits) == ({}, [])
