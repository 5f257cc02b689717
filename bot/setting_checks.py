"""What Settings checks beyond a value's type and limits: the rewrites before conversion (`off` is 0)
and the checks after it (a time zone that exists, files that can be read, opening hours, the answers
file and the card-number pattern), one ``ValueError`` naming the problem each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.answers import AnswerBook, parse_answers
from bot.domain.privacy import compile_card_pattern
from bot.errors import ConfigError


def read_answers(path: Path) -> AnswerBook:
    """The saved answers file read and checked; ``ValueError`` naming the file and every problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    try:
        return parse_answers(text)
    except ConfigError as exc:
        raise ValueError("; ".join(f"{path.name}: {line}" for line in str(exc).splitlines())) from None


def _off(value: object) -> object:
    """`CHECKIN_MINUTES=off` (or no, false, empty) is 0: no shift check-in."""
    if isinstance(value, str) and value.strip().casefold() in ("", "off", "no", "false"):
        return 0
    return value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _zone(value: object) -> None:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a folder of zones
        raise ValueError(f"unknown IANA time zone {value!r} (example: Europe/London)") from exc


def _exists(value: object) -> None:
    try:
        found = not isinstance(value, Path) or value.is_file()
    except OSError as exc:  # a name too long for the file system, say
        raise ValueError(f"cannot read {str(value)[:200]!r}: {exc.strerror}") from None
    if not found:
        raise ValueError(f"file not found: {value}")


def _hours(value: object) -> None:
    from bot.rota.opening import parse_opening_hours

    try:
        parse_opening_hours(str(value))
    except ConfigError as exc:
        raise ValueError(str(exc).replace("OPENING_HOURS: ", "")) from None


def _answers(value: object) -> None:
    if isinstance(value, Path):
        read_answers(value)  # unknown variables are found here, at start and by `check`


def _card(value: object) -> None:
    compile_card_pattern(str(value))


# Applied to a given value before it is converted, and to a converted one (a ValueError is its problem).
BEFORE: dict[str, Callable[[object], object]] = {"CHECKIN_MINUTES": _off, "WEEKLY_REPORT_AT": _lower}
AFTER: tuple[tuple[str, Callable[[object], None]], ...] = (
    ("LIBRARY_TIMEZONE", _zone),
    ("RULES_FILE", _exists),
    ("ROTA_FILE", _exists),
    ("EMAIL_CA_FILE", _exists),
    ("OPENING_HOURS", _hours),
    ("ANSWERS_FILE", _answers),
    ("CARD_NUMBER_PATTERN", _card),
)
