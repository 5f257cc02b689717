"""Operations: /healthz says each part's state, /metrics counts without patron text."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.app import PatronDesk
from bot.models import Claim
from tests.fakes.recording import FakeSource, RecordingDesk
from tests.waiting import until

from .helpers import mention, staff
from .test_app import settings


async def test_healthz_and_metrics(tmp_path: Path) -> None:
    desk, source = RecordingDesk(), FakeSource(items=[(mention(1, "SECRET-TEXT renew"), None)])
    config = settings(tmp_path).replace(HTTP_PORT=0)
    async with PatronDesk(config, sources=[source], desks=[desk]) as app:
        await until(lambda: len(desk.posts) == 1)
        await app.service.handle(Claim(1, staff(1)))
        await app.wait_idle()
        base = f"http://127.0.0.1:{app.http_port}"
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{base}/healthz")
            page = (await client.get(f"{base}/metrics")).text
        assert health.status_code == 200
        body = health.json()
        parts = ("desk:test", "source:fake", "relay:fake", "relay:test", "timers")
        assert body["status"] == "ok" and body["parts"] == dict.fromkeys(parts, "ok")
        assert body["outbox"] == {"pending": 0, "oldest_seconds": 0.0, "failed": 0}
        assert 'patron_desk_mentions_ingested_total{source="fake"}' in page
        assert 'patron_desk_staff_actions_total{action="claim",outcome="won"}' in page
        assert "patron_desk_outbox_depth 0.0" in page
        assert "SECRET-TEXT" not in page
        app.health.set("source:fake", "retrying after RateLimited")
        async with httpx.AsyncClient() as client:
            degraded = await client.get(f"{base}/healthz")
        assert degraded.status_code == 503 and degraded.json()["status"] == "degraded"
