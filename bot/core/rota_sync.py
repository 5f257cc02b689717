"""Supervised parts that keep the rota's outside sources fresh: LibCal opening hours and role calendars.

Each keeps the last good data when its source is down or sends something unreadable, and tells the
staff channel once a day while that lasts (never the document's content). Opening hours, the zone
and the staff list are given to them, so a branch with its own hours and zone can run its own copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.rota_fetch import FetchError, fetch
from bot.rota.branches import Branch
from bot.rota.hours import Hours, Opening
from bot.rota.ical import CalendarError, read_calendar
from bot.rota.libcal import HoursError, parse_libcal
from bot.store import audit
from bot.store.rota_calendar import drop_calendars, sync_calendar

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.service import DeskService

log = logging.getLogger(__name__)
Fetch = Callable[[str], Awaitable[bytes]]
HOURS_EVERY = timedelta(days=1)
CALENDAR_EVERY = timedelta(minutes=30)
RETRY = timedelta(hours=1)
CALENDAR_DAYS = 56  # how far ahead a role's calendar is read
CALENDAR_PAST = 7  # and how far back (the feeds show last week too)


async def _tell_once(service: DeskService, key: str, text: str) -> None:
    """Announce ``text`` to the staff channel unless ``key`` was told already (any process)."""
    now = service.clock()
    async with service.db.transaction() as session:
        if await audit.mark(session, kind="rota_notice", key=key[:200], now=now):
            await service.announce(session, text, now=now)


def _digest(items: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join(items).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class HoursRefresher:
    """Opening hours from a LibCal hours URL, with the weekly hours as the fallback.

    Args:
        service: where the hours go (``service.dated_hours``) and whose clock and channel are used.
        url: LibCal's hours JSON.
        location: the LibCal location (``lid`` or name); the first one when empty.
        weekly: the static opening hours, used for every day LibCal does not give.
        fetch: reads the URL (a loopback server in tests).
        branch: the branch these hours are for (they go to ``service.branch_hours``); None: the library.
    """

    def __init__(
        self,
        service: DeskService,
        *,
        url: str,
        location: str,
        weekly: tuple[Opening, ...],
        fetch: Fetch = fetch,
        branch: Branch | None = None,
    ) -> None:
        self.service = service
        self.branch = branch
        self.url = url
        self.location = location or None
        self.weekly = weekly
        self.fetch = fetch
        self.last_good: Hours | None = None

    async def refresh_once(self) -> bool:
        """Read LibCal once; True when the hours were replaced, False when the last good ones stay."""
        zone = self.branch.zone if self.branch else self.service.rota.zone
        where, of = (f"{self.branch.key}:", f" of {self.branch.label}") if self.branch else ("", "")
        fallback = "the branch's opening_hours" if self.branch else "OPENING_HOURS"
        today = self.service.clock().astimezone(zone).date()
        try:
            found = parse_libcal(await self.fetch(self.url), today=today, location=self.location)
        except (FetchError, HoursError) as exc:
            log.warning("LibCal hours: %s; keeping the last good opening hours", exc)
            await _tell_once(
                self.service,
                f"libcal:{where}{today.isoformat()}",
                f"Opening hours{of} could not be read from LibCal ({exc}). Patron Desk keeps the last "
                f"hours it read (or {fallback}) and tries again within the hour.",
            )
            return False
        # days LibCal knew before and no longer lists (past days) are dropped; the rest is replaced
        self.last_good = Hours(self.weekly, dict(found.dated), dict(found.notes))
        if self.branch is not None:
            self.service.branch_hours[self.branch.key] = self.last_good
        else:
            self.service.dated_hours = self.last_good
        log.info("LibCal hours: %d dated day(s) read", len(found.dated))
        return True

    async def run(self) -> None:
        """Refresh now, then daily (hourly while LibCal fails)."""
        while True:
            ok = await self.refresh_once()
            await asyncio.sleep((HOURS_EVERY if ok else RETRY).total_seconds())


class CalendarSync:
    """Every role with ``calendar = ...`` gets that calendar's shifts as marked rota entries.

    Args:
        service: the rota's owner (database, rules, clock, staff channel).
        fetch: reads a calendar URL or file.
        days: how many days ahead to read.
        zone: the wall clock the shifts are written in (when None: each role's, its branch's or the rota's).
    """

    def __init__(
        self,
        service: DeskService,
        *,
        fetch: Fetch = fetch,
        days: int = CALENDAR_DAYS,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.service = service
        self.fetch = fetch
        self.days = days
        self.zone = zone

    def roles(self) -> dict[str, str]:
        """Role -> calendar, for the roles that follow one."""
        return {key: spec.calendar for key, spec in self.service.rules.roles.items() if spec.calendar}

    async def sync_role(self, role: str, source: str, today: date) -> str:
        """Read one role's calendar and store its shifts; a line saying what happened."""
        zone = self.zone or self.service.rota.zone_of(role)  # a role at a branch: the branch's wall clock
        try:
            read = read_calendar(
                await self.fetch(source),
                staff=self.service.rules.staff,
                zone=zone,
                start=today,
                days=self.days,
            )
        except (FetchError, CalendarError) as exc:
            log.warning("calendar of role %s: %s; keeping its last shifts", role, exc)
            await _tell_once(
                self.service,
                f"calendar:{role}:{today.isoformat()}",
                f"The {role} calendar could not be read ({exc}). Its last shifts stay on the rota; "
                "Patron Desk tries again in half an hour.",
            )
            return f"{role}: not read ({exc})"
        wanted = [(s.person, s.start, s.end) for s in read.shifts]
        async with self.service.db.transaction() as session:
            added, removed = await sync_calendar(session, role=role, shifts=wanted)
            if added or removed:
                await self.service.reload_rota(session)
        if read.unknown:
            names = "; ".join(read.unknown[:5]) + (" ..." if len(read.unknown) > 5 else "")
            await _tell_once(
                self.service,
                f"calendar-unknown:{role}:{today.isoformat()}:{_digest(read.unknown)}",
                f"The {role} calendar has events that name nobody on the staff list, so they were left "
                f"out: {names}. Add the person to [[staff]] (with their email) or fix the event.",
            )
        return (
            f"{role}: {len(read.shifts)} shift(s), {added} new, {removed} gone, {len(read.unknown)} unknown"
        )

    async def sync_all(self) -> list[str]:
        """Sync every role once (roles that stopped following a calendar lose its entries)."""
        today = self.service.clock().astimezone(self.service.rota.zone).date()
        roles = self.roles()
        async with self.service.db.transaction() as session:
            if await drop_calendars(session, keep=roles):
                await self.service.reload_rota(session)
        return [await self.sync_role(role, source, today) for role, source in sorted(roles.items())]

    async def run(self) -> None:
        """Sync now and then every half hour."""
        while True:
            await self.sync_all()
            await asyncio.sleep(CALENDAR_EVERY.total_seconds())


def rota_parts(
    service: DeskService, settings: Settings
) -> dict[str, tuple[Callable[[], Coroutine[Any, Any, None]], bool]]:
    """The supervised parts the settings and rules ask for, each with whether it writes the shared
    rota (then one process runs it): LibCal hours (each process keeps its own), role calendars."""
    parts: dict[str, tuple[Callable[[], Coroutine[Any, Any, None]], bool]] = {}
    if settings.LIBCAL_HOURS_URL:
        hours = HoursRefresher(
            service,
            url=settings.LIBCAL_HOURS_URL,
            location=settings.LIBCAL_LOCATION,
            weekly=service.opening_hours,
        )
        parts["rota:hours"] = (hours.run, False)
    for refresher in branch_refreshers(service):
        assert refresher.branch is not None
        parts[f"rota:hours:{refresher.branch.key}"] = (refresher.run, False)
    if any(spec.calendar for spec in service.rules.roles.values()):
        parts["rota:calendars"] = (CalendarSync(service).run, True)
    return parts


def branch_refreshers(service: DeskService, *, fetch: Fetch = fetch) -> list[HoursRefresher]:
    """One LibCal reader per branch with an ``hours_url`` (its weekly hours as the fallback)."""
    return [
        HoursRefresher(service, url=b.hours_url, location=b.location, weekly=b.weekly, fetch=fetch, branch=b)
        for b in service.rules.branches.values()
        if b.hours_url
    ]
