"""The rota commands as values: one frozen dataclass per verb and the ``Command`` union."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


def _window(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    first = datetime.combine(day, start)
    last = datetime.combine(day, end)
    return first, last if last > first else last + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Now:
    """Who is on duty for each role right now."""


@dataclass(frozen=True, slots=True)
class Show:
    """The week starting on Monday ``week`` for one role or all."""

    role: str | None
    week: date


@dataclass(frozen=True, slots=True)
class Add:
    """A weekly shift."""

    who: str
    role: str
    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Remove:
    """Delete a rota entry (shift, override or closure) by id."""

    id: int


@dataclass(frozen=True, slots=True)
class Cover:
    """An override on ``day``: add ``who``, or (with ``for_who``) put ``who`` on instead of them."""

    who: str
    role: str
    day: date
    start: time
    end: time
    for_who: str | None = None

    def window(self) -> tuple[datetime, datetime]:
        """Naive local ``[start, end)``; the end is on the next day when the range crosses midnight."""
        return _window(self.day, self.start, self.end)


@dataclass(frozen=True, slots=True)
class Off:
    """A remove override: ``who`` is off ``role`` in the window."""

    who: str
    role: str
    day: date
    start: time
    end: time

    def window(self) -> tuple[datetime, datetime]:
        """Naive local ``[start, end)``; the end is on the next day when the range crosses midnight."""
        return _window(self.day, self.start, self.end)


@dataclass(frozen=True, slots=True)
class Close:
    """The library (or, with ``branch``, that branch's roles only) is closed all day."""

    day: date
    reason: str = ""
    branch: str = ""  # a branch key from the rules file ("" = every branch)


@dataclass(frozen=True, slots=True)
class Roles:
    """List the roles."""


@dataclass(frozen=True, slots=True)
class Gaps:
    """Opening hours in the next two weeks when a role has nobody (nor a backup) on duty."""


@dataclass(frozen=True, slots=True)
class Feed:
    """The address of the caller's own shifts feed, or of one role's."""

    role: str | None = None


@dataclass(frozen=True, slots=True)
class Help:
    """The command list, or one command in detail."""

    verb: str | None = None


@dataclass(frozen=True, slots=True)
class Take:
    """Cover the rest of a shift whose person is not on desk: a check-in's number, a role, or the only one."""

    which: str = ""


Command = Now | Show | Add | Remove | Cover | Off | Close | Roles | Gaps | Feed | Help | Take
