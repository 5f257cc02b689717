"""Arguments of the rota commands: people, roles, dates, weeks, day sets and time ranges."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time, timedelta
from typing import TypeVar

from bot.models import MAX_ID
from bot.rota.timespec import DAY_NUMBERS, parse_days, parse_range, suggest

T = TypeVar("T")

_SLACK = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$", re.IGNORECASE)
_MATRIX = re.compile(r"^@[^:\s]+:\S+$")
_KEY = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9._-]*$")
_ROLE = re.compile(r"^[a-z][a-z0-9_-]*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_WEEK = re.compile(r"^(\d{4})-w(\d{1,2})$", re.IGNORECASE)
TOKEN = re.compile(r"<@[^>\s]*>|\S+")
# Dates further than this from today are refused: nobody plans a rota a century away, and a week or
# an overnight window near year 9999 would overflow the date type while being shown or stored.
FAR = timedelta(days=100 * 366)
PERSON_LENGTH = 128  # staff.key and a Matrix id fit in it


class Problem(Exception):
    """A bad argument; the message names it."""


def person(token: str) -> str:
    """`@alice`, Slack `<@U123>` / `<@U123|alice>` or Matrix `@alice:example.org`, normalized."""
    if len(token) > PERSON_LENGTH:
        raise Problem(f"that name is too long ({PERSON_LENGTH} characters at most)")
    slack = _SLACK.match(token)
    if slack:
        return f"<@{slack.group(1).upper()}>"
    if _MATRIX.match(token):
        return token
    if _KEY.match(token):
        return token.lower()
    raise Problem(f'expected a person like @alice, got "{token}"')


def role(token: str) -> str:
    """A role key, lower-cased."""
    key = token.lower()
    if not _ROLE.match(key):
        raise Problem(f'"{token}" is not a role (role names are like reference or social-media)')
    return key


def branch(token: str) -> str:
    """A branch key, lower-cased."""
    key = token.lower()
    if not _ROLE.match(key):
        raise Problem(f'"{token}" is not a branch (branch keys are like central or harbor)')
    return key


def _near(found: date, token: str, today: date) -> date:
    if abs(found - today) > FAR:
        raise Problem(f'"{token}" is too far from today (within 100 years, please)')
    return found


def day(token: str, today: date) -> date:
    """`YYYY-MM-DD`, `today`, `tomorrow`, or a weekday name (the next such day after today)."""
    return _near(_day(token, today), token, today)


def _day(token: str, today: date) -> date:
    word = token.lower()
    try:
        if word == "today":
            return today
        if word == "tomorrow":
            return today + timedelta(days=1)
        if word in DAY_NUMBERS:
            return today + timedelta(days=(DAY_NUMBERS[word] - today.weekday() - 1) % 7 + 1)
        if _ISO_DATE.match(word):
            return date.fromisoformat(word)
    except ValueError:
        raise Problem(f'"{token}" is not a date (that day does not exist)') from None
    except OverflowError:
        raise Problem(f'"{token}" is out of range') from None
    hint = suggest(word, ["today", "tomorrow", *DAY_NUMBERS])
    raise Problem(f'"{token}" is not a date (use YYYY-MM-DD, today, tomorrow or a weekday){hint}')


def week(token: str, today: date) -> date:
    """The Monday of `this`, `next`, a date's week or an ISO week `YYYY-Www`."""
    return _near(_week(token, today), token, today)


def _week(token: str, today: date) -> date:
    word = token.lower()
    iso = _ISO_WEEK.match(word)
    try:
        if iso:
            return date.fromisocalendar(int(iso.group(1)), int(iso.group(2)), 1)
        if word in ("this", "next") or _ISO_DATE.match(word):
            base = date.fromisoformat(word) if _ISO_DATE.match(word) else today
            monday = base - timedelta(days=base.weekday())
            return monday + timedelta(days=7) if word == "next" else monday
    except ValueError:
        raise Problem(f'"{token}" is not a week (that week or day does not exist)') from None
    except OverflowError:
        raise Problem(f'"{token}" is out of range') from None
    raise Problem(f'"{token}" is not a week (use this, next, YYYY-MM-DD or YYYY-Www)')


def is_week(token: str) -> bool:
    """True when ``token`` is written like a week (so `show` does not read it as a role)."""
    word = token.lower()
    return word in ("this", "next") or bool(_ISO_DATE.match(word) or _ISO_WEEK.match(word))


def days(token: str) -> frozenset[int]:
    """A day set like `mon-fri` (see ``timespec.parse_days``)."""
    try:
        return parse_days(token)
    except ValueError as exc:
        raise Problem(str(exc)) from None


def hours(token: str) -> tuple[time, time]:
    """A time range like `09:00-17:00`; it may cross midnight."""
    try:
        return parse_range(token)
    except ValueError as exc:
        raise Problem(str(exc)) from None


def row_id(token: str) -> int | None:
    """A stored row's id as we show it, `12` or `#12`; None when ``token`` is not one (1 to MAX_ID)."""
    digits = token.removeprefix("#")
    if digits.isascii() and digits.isdigit() and len(digits) <= 10 and 0 < int(digits) <= MAX_ID:
        return int(digits)
    return None


def entry_id(token: str) -> int:
    """A rota entry id as shown by `show`: `12` or `#12`."""
    found = row_id(token)
    if found is None:
        raise Problem(f'"{token}" is not an entry id (the number shown by show, like 12)')
    return found


class Args:
    """The words after the verb, taken one at a time with a name for the error messages."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.last = ""

    def take(self, what: str, parse: Callable[[str], T]) -> T:
        """Parse the next word as ``what``."""
        if not self.tokens:
            raise Problem(f"missing {what}" + (f" after {self.last}" if self.last else ""))
        token = self.tokens.pop(0)
        noun = what.split(" (")[0]
        self.last = "the " + noun.split(" ", 1)[1] if noun.startswith(("a ", "an ")) else noun
        return parse(token)

    def done(self) -> None:
        """Complain about anything left over."""
        if self.tokens:
            raise Problem(f'unexpected "{" ".join(self.tokens)}" after {self.last or "the command"}')
