"""When a snooze ends, from what staff type (pure): `patron`, `2h`, `30m`, `3d`, `tomorrow 09:00`.

Times of day are wall-clock in the library's zone (the caller gives ``now`` in it); the answer is an
aware datetime, or None for "until the patron writes again".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.commands import command_args as arg
from bot.rota.timespec import parse_hhmm

USAGE = "Say until when: `snooze 3 2h`, `snooze 3 tomorrow 09:00` or `snooze 3 patron`."
PATRON_WORDS = frozenset({"patron", "reply", "answer", "them"})
_SPAN = re.compile(r"^(\d{1,4})\s*(m|min|h|d)$")
LONGEST = timedelta(days=90)
_UNITS = {
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
}


class SnoozeError(ValueError):
    """The text says no time staff can use; the message says how to write one."""


def parse_until(text: str, now: datetime) -> datetime | None:
    """The end of a snooze typed as ``text`` at ``now`` (aware, in the library's zone).

    Raises SnoozeError for anything else, for a time already past and for more than 90 days.
    """
    words = text.strip().lower().split()
    if not words or (len(words) == 1 and words[0] in PATRON_WORDS):
        return None
    if len(words) == 1 and (span := _SPAN.match(words[0])):
        until = now + int(span.group(1)) * _UNITS[span.group(2)]
    elif len(words) in (1, 2):
        try:
            day = arg.day(words[0], now.date()) if len(words) == 2 or ":" not in words[0] else now.date()
            clock = parse_hhmm(words[-1]) if ":" in words[-1] else parse_hhmm("09:00")
        except (arg.Problem, ValueError):
            raise SnoozeError(f"Cannot read {text.strip()[:40]!r}. {USAGE}") from None
        until = datetime.combine(day, clock, tzinfo=now.tzinfo)
        if len(words) == 1 and ":" in words[0] and until <= now:
            until += timedelta(days=1)  # `09:00` typed in the afternoon: tomorrow morning
    else:
        raise SnoozeError(f"Cannot read {text.strip()[:40]!r}. {USAGE}")
    if until <= now:
        raise SnoozeError("That time has already passed. " + USAGE)
    if until - now > LONGEST:
        raise SnoozeError("Snooze for 90 days at most. " + USAGE)
    return until
