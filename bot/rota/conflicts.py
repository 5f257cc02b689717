"""Ghosts and duplicates: unknown people, and rota entries that repeat or overlap others (pure)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.rota.timespec import seconds

_WEEK = 7 * 24 * 60


def did_you_mean(word: str, people: Mapping[str, str]) -> str:
    """' Did you mean @alice?' for the closest staff key or name, or '' when nothing is close.

    Args:
        word: what was typed (with or without the @).
        people: staff key -> display name.
    """
    typed = word.strip().removeprefix("@").casefold()
    by_word: dict[str, str] = {}
    for key, name in sorted(people.items()):
        by_word.setdefault(key.casefold(), key)
        if name:
            by_word.setdefault(name.casefold(), key)
    close = difflib.get_close_matches(typed, list(by_word), n=1, cutoff=0.6)
    return f" Did you mean @{by_word[close[0]]}?" if close else ""


def unknown_person(word: str, people: Mapping[str, str]) -> str:
    """The refusal for a person who is not staff."""
    return (
        f"{word} is not on the staff list, so nothing was changed.{did_you_mean(word, people)} "
        "People come from [[staff]] in the rules file (or from using the desk)."
    )


def _minutes(shift: Shift) -> list[tuple[int, int]]:
    """The shift's minutes of the week as ``[a, b)`` ranges, split where the week wraps."""
    start = seconds(shift.start) // 60
    length = (seconds(shift.end) // 60 - start) % 1440 or 1440
    out: list[tuple[int, int]] = []
    for day in shift.days:
        a = day * 1440 + start
        b = a + length
        out += [(a, min(b, _WEEK))] + ([(0, b - _WEEK)] if b > _WEEK else [])
    return out


def _overlap(a: Shift, b: Shift) -> bool:
    return any(x < d and c < y for x, y in _minutes(a) for c, d in _minutes(b))


@dataclass(frozen=True, slots=True)
class Clash:
    """An existing entry the new one repeats (``duplicate``) or overlaps (``overlap``)."""

    kind: str
    entry: Shift | Override | Closure


def weekly_clash(new: Shift, shifts: Iterable[Shift]) -> Clash | None:
    """The first weekly shift of the same person and role that ``new`` repeats or overlaps."""
    for old in shifts:
        if (old.role, old.person) != (new.role, new.person):
            continue
        if (old.days, old.start, old.end) == (new.days, new.start, new.end):
            return Clash("duplicate", old)
        if _overlap(old, new):
            return Clash("overlap", old)
    return None


def csv_clashes(specs: Sequence[Shift]) -> list[str]:
    """One line per row of a rota file that repeats or overlaps an earlier row (rows count from 1)."""
    lines = []
    for i, new in enumerate(specs):
        for j, old in enumerate(specs[:i]):
            found = weekly_clash(new, [old])
            if found is not None:
                word = "repeats" if found.kind == "duplicate" else "overlaps"
                lines.append(f"shift {i + 1} ({new.person}, {new.role}, {new.label()}) {word} shift {j + 1}")
                break
    return lines


def override_clash(rota: Rota, new: Override) -> Clash | None:
    """An override with the same person, role, kind, window and replaced person."""
    for old in rota.overrides:
        same = (old.role, old.person, old.kind, old.replaces) == (
            new.role,
            new.person,
            new.kind,
            new.replaces,
        )
        if same and (old.start, old.end) == (new.start, new.end):
            return Clash("duplicate", old)
    return None


def holds(rota: Rota, role: str, person: str, start: datetime, end: datetime) -> tuple[bool, bool]:
    """``(some, all)``: whether ``person`` holds ``role`` at some / every moment of naive ``[start, end)``."""
    zone = rota.zone_of(role)  # naive times are wall clock where the role is (its branch)
    spans = rota.coverage(role, start.replace(tzinfo=zone), end.replace(tzinfo=zone))
    inside = [person in people for _, _, people in spans]
    return any(inside), bool(inside) and all(inside)


def roles_held(rota: Rota, person: str, start: datetime, end: datetime, roles: Iterable[str]) -> list[str]:
    """The roles ``person`` holds at some moment of naive local ``[start, end)``."""
    return [role for role in sorted(roles) if holds(rota, role, person, start, end)[0]]


def closure_on(rota: Rota, new: Closure) -> Closure | None:
    """The closure already recorded for the same day (of the whole library, or of the same branch)."""
    return next((c for c in rota.closures if c.day == new.day and c.branch in ("", new.branch)), None)


__all__ = [
    "Clash",
    "OverrideKind",
    "closure_on",
    "csv_clashes",
    "did_you_mean",
    "holds",
    "override_clash",
    "roles_held",
    "unknown_person",
    "weekly_clash",
]
