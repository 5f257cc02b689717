"""LibCal hours and role calendars kept fresh (last good data kept, staff told once), and the
read-only shifts feeds served over the app's HTTP server with an unguessable token."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot import http
from bot.app import PatronDesk
from bot.config import Settings
from bot.core.rota_feed import Feeds, feed_token
from bot.core.rota_sync import CalendarSync, HoursRefresher
from bot.core.service import DeskService
from bot.models import RotaCommand, StaffRef
from bot.platforms import source_platforms
from bot.rota.hours import parse_opening_hours
from bot.rota.ical import read_calendar
from bot.rota.rota import Rota
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from bot.store.rota_repo import add_weekly, load_rota, sync_roles, sync_staff
from bot.store.rota_tables import ShiftRow
from tests.fakes.loopback import LoopbackServer
from tests.fakes.recording import RecordingDesk
from tests.waiting import until

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday
RULES = """
default_role = "reference"

[roles.reference]
calendar = "{calendar}"
no_cover = "sat-sun 00:00-24:00"

[[staff]]
key = "alice"
name = "Alice Archer"
email = "alice@lib.example"
slack_user_id = "UALICE1"
manager = true

[[staff]]
key = "bob"
name = "Bob Baker"
"""
ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//t//EN\r
BEGIN:VEVENT\r
UID:a@t\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Desk\r
ATTENDEE:mailto:alice@lib.example\r
DTSTART;TZID=Europe/London:20260302T090000\r
DTEND;TZID=Europe/London:20260302T130000\r
RRULE:FREQ=DAILY;COUNT=5\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:z@t\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Desk - Zed\r
DTSTART:20260303T140000Z\r
DTEND:20260303T150000Z\r
END:VEVENT\r
END:VCALENDAR\r
"""
LIBCAL = {
    "locations": [
        {
            "lid": 7,
            "name": "Main",
            "weeks": [
                {
                    "Monday": {
                        "date": "2026-03-02",
                        "times": {"status": "open", "hours": [{"from": "9am", "to": "1pm"}]},
                    },
                    "Tuesday": {"date": "2026-03-03", "times": {"status": "closed"}},
                }
            ],
        }
    ]
}


class HoursServer(LoopbackServer):
    """LibCal's hours endpoint, answering whatever ``body``/``status`` say."""

    def __init__(self) -> None:
        super().__init__()
        self.body = json.dumps(LIBCAL).encode()
        self.status = 200
        self.hits = 0

    def web_routes(self) -> list[web.RouteDef]:
        async def hours(_: web.Request) -> web.Response:
            self.hits += 1
            return web.Response(body=self.body, status=self.status, content_type="application/json")

        return [web.get("/api_hours_grid.php", hours)]


async def service_with(db: Database, calendar: Path) -> DeskService:
    rules = load_rules(RULES.format(calendar=calendar), platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    service = DeskService(
        db,
        rules=rules,
        rota=Rota(zone=LONDON),
        desks=("test",),
        clock=lambda: NOW,
        opening_hours=parse_opening_hours("mon-fri 09:00-17:00"),
    )
    await service.start()
    return service


async def announcements(db: Database) -> int:
    async with db.transaction() as session:
        stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "announce")
        return int((await session.execute(stmt)).scalar_one())


async def test_libcal_hours_refresh_keep_the_last_good_and_tell_once(
    database: Database, tmp_path: Path
) -> None:
    service = await service_with(database, tmp_path / "none.ics")
    async with HoursServer() as server:
        refresher = HoursRefresher(
            service, url=f"{server.origin}/api_hours_grid.php", location="7", weekly=service.opening_hours
        )
        assert await refresher.refresh_once()
        hours = service.dated_hours
        assert hours is not None and hours.on(date(2026, 3, 3)) == []  # LibCal: closed
        gaps = (await service.handle(RotaCommand(StaffRef("slack", "UALICE1", "Alice"), "gaps"))).message
        assert "Mon 02 Mar 09:00–13:00" in gaps  # LibCal's Monday, not OPENING_HOURS' 09:00-17:00
        assert "Tue 03 Mar" not in gaps and "Sat" not in gaps  # closed; no cover needed at weekends
        server.body = b'{"locations": [{"lid": 7, "weeks": "oops"}]}'
        assert not await refresher.refresh_once()
        server.status, server.body = 503, b"down"
        assert not await refresher.refresh_once()
    assert not await refresher.refresh_once()  # server gone
    assert service.dated_hours is hours  # the last good hours stay
    assert await announcements(database) == 1  # staff told once


async def test_a_role_calendar_becomes_marked_shifts_and_unknown_people_are_reported(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "desk.ics"
    path.write_text(ICS, encoding="utf-8")
    service = await service_with(database, path)
    sync = CalendarSync(service, days=14)
    lines = await sync.sync_all()
    assert lines == ["reference: 5 shift(s), 5 new, 0 gone, 1 unknown"]
    async with database.transaction() as session:
        rows = list((await session.execute(select(ShiftRow))).scalars())
    assert {r.origin for r in rows} == {"calendar:reference"} and {r.person for r in rows} == {"alice"}
    assert service.rota.on_duty("reference", datetime(2026, 3, 2, 10, tzinfo=LONDON)) == ("alice",)
    assert await sync.sync_all() == ["reference: 5 shift(s), 0 new, 0 gone, 1 unknown"]  # stable ids
    assert await announcements(database) == 1  # "Desk - Zed" reported once, not made a person
    path.write_text("garbage", encoding="utf-8")
    assert (await sync.sync_all())[0].startswith("reference: not read")
    async with database.transaction() as session:
        assert len((await load_rota(session, LONDON)).overrides) == 5  # kept
    assert await announcements(database) == 2


async def test_feeds_are_served_with_an_unguessable_token(database: Database, tmp_path: Path) -> None:
    service = await service_with(database, tmp_path / "none.ics")
    async with database.transaction() as session:
        add_weekly(session, role="reference", person="alice", days=range(5), start=time(9), end=time(17))
    await service.refresh()
    async with database.transaction() as session:
        service.held.rota = await load_rota(session, LONDON)
    feeds = Feeds(service.context, public_url="")
    started = await http.start("127.0.0.1", 0, feeds.routes(), health=_health, metrics=_metrics)  # type: ignore[arg-type]
    assert started is not None
    runner, port = started
    try:
        path = await feed_address(database, service, "feed")
        assert path.startswith("/rota/person/alice/") and path.endswith(".ics")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ok = await client.get(path)
            assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/calendar")
            read = read_calendar(
                ok.content, staff=service.rules.staff, zone=LONDON, start=date(2026, 3, 2), days=5
            )
            assert [(s.start.hour, s.end.hour) for s in read.shifts] == [(9, 17)] * 5
            token = path.rsplit("/", 1)[-1].removesuffix(".ics")
            wrong = path.replace(token, "0" * 32)
            assert (await client.get(wrong)).status_code == 404
            assert (await client.get(path.replace("/alice/", "/bob/"))).status_code == 404  # not bob's token
            assert (await client.get(f"/rota/person/nobody/{token}.ics")).status_code == 404
            assert (await client.post(path)).status_code == 405  # read-only
            role_path = await feed_address(database, service, "feed reference")
            assert (await client.get(role_path)).status_code == 200
        key = await feeds.key()
        assert token == feed_token(key, "person", "alice") and len(token) == 32
        assert await Feeds(service.context).key() == key  # a second instance agrees on the same key
    finally:
        await runner.cleanup()


async def feed_address(
    db: Database, service: DeskService, text: str, desk: RecordingDesk | None = None
) -> str:
    """Ask for a feed as Alice: the address comes in a private notice, never in the (shared) answer.

    With a running relay (``desk`` given) the notice is read where it was delivered: the relay may
    already have finished (and removed) its outbox row."""
    answer = await service.handle(RotaCommand(StaffRef("slack", "UALICE1", "Alice"), text))
    assert answer.ok and answer.message == "I sent you the feed's address in a private message."
    if desk is not None:
        await until(lambda: bool(desk.told))
        [(who, told)] = desk.told
        assert who.user_id in ("UALICE1", "alice")  # to Alice only
        return told.rsplit(" ", 1)[-1]
    async with db.transaction() as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == "notify").order_by(OutboxRow.id.desc()).limit(1)
        row = (await session.execute(stmt)).scalar_one()
    payload = json.loads(row.payload)
    assert payload["user_id"] in ("UALICE1", "alice")  # to Alice only
    return str(payload["text"]).rsplit(" ", 1)[-1]


async def _health() -> tuple[int, dict[str, object]]:
    return 200, {}


async def _metrics() -> bytes:
    return b""


@pytest.mark.parametrize("kind", ["person", "role"])
def test_tokens_differ_per_kind_and_name(kind: str) -> None:
    key = b"k" * 32
    assert feed_token(key, kind, "alice") != feed_token(key, kind, "bob")
    assert feed_token(key, "person", "x") != feed_token(key, "role", "x")
    assert feed_token(b"other" * 8, kind, "alice") != feed_token(key, kind, "alice")


async def test_the_running_app_syncs_the_calendar_and_serves_the_feeds(tmp_path: Path) -> None:
    calendar = tmp_path / "desk.ics"
    calendar.write_text(ICS, encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(calendar=calendar))
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        LIBRARY_TIMEZONE="Europe/London",
        PUBLIC_URL="https://desk.library.example/",
    )
    desk = RecordingDesk()
    async with PatronDesk(settings, desks=[desk], sources=[], clock=lambda: NOW) as app:
        await until(lambda: len(app.service.rota.overrides) == 5)  # the "rota:calendars" part ran
        url = await feed_address(app.db, app.service, "feed", desk)
        assert url.startswith("https://desk.library.example/rota/person/alice/")
        path = url.removeprefix("https://desk.library.example")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.http_port}") as client:
            served = await client.get(path)
            assert served.status_code == 200
            read = read_calendar(
                served.content, staff=app.service.rules.staff, zone=LONDON, start=date(2026, 3, 2), days=7
            )
            assert [(s.start, s.end) for s in read.shifts][:1] == [
                (datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 13))
            ]
            assert (await client.get(path.replace(path[-10:], "0000000.ics"))).status_code == 404
