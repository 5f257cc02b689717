"""The rota as an iCalendar feed ("my desk shifts"): one person's shifts, or one role's (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from bot.rota.rota import Rota

PRODID = "-//Patron Desk//rota feed//EN"


def _uid(role: str, person: str, start: datetime) -> str:
    digest = hashlib.sha256(f"{role}\x00{person}\x00{start.isoformat()}".encode()).hexdigest()[:32]
    return f"{digest}@patron-desk"


def duty_spans(
    rota: Rota, roles: Iterable[str], start: datetime, end: datetime, *, person: str | None = None
) -> list[tuple[str, str, datetime, datetime]]:
    """``(role, person, from, to)`` (aware UTC) for each unbroken stretch someone holds a role."""
    out: list[tuple[str, str, datetime, datetime]] = []
    for role in sorted(roles):
        open_since: dict[str, datetime] = {}
        for a, _, people in rota.coverage(role, start, end):
            for who in list(open_since):
                if who not in people:
                    out.append((role, who, open_since.pop(who), a))
            for who in people:
                if person in (None, who):
                    open_since.setdefault(who, a)
        out += [(role, who, since, end.astimezone(UTC)) for who, since in open_since.items()]
    return sorted(out, key=lambda span: (span[2], span[0], span[1]))


def rota_feed(
    rota: Rota,
    *,
    roles: Iterable[str],
    start: datetime,
    days: int,
    stamp: datetime,
    names: Mapping[str, str],
    title: str,
    person: str | None = None,
) -> bytes:
    """An iCalendar document of the rota from aware ``start`` for ``days`` days.

    Each event is one stretch on duty, titled `reference desk: Alice Archer`, in UTC.

    Args:
        rota: the rota.
        roles: the roles to include.
        start: the first instant (aware).
        days: how many days.
        stamp: DTSTAMP for every event (the caller's clock).
        names: staff key -> display name.
        title: the calendar's name (X-WR-CALNAME).
        person: only this person's shifts (a personal feed), or everyone's.
    """
    import icalendar  # here: about 3 MiB once loaded, and only a feed request needs it

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", title)
    end = start + timedelta(days=days)
    for role, who, a, b in duty_spans(rota, roles, start, end, person=person):
        event = icalendar.Event()
        event.add("uid", _uid(role, who, a))
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("dtstart", a.astimezone(UTC))
        event.add("dtend", b.astimezone(UTC))
        event.add("summary", f"{role} desk: {names.get(who, who)}")
        event.add("categories", [role])
        cal.add_component(event)
    return cal.to_ical()
