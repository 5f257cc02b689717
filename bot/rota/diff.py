"""What importing a rota file would change: weekly shifts to add, to remove and left as they are."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.rota.rota import Shift


def _key(shift: Shift) -> tuple[str, str, frozenset[int], object, object]:
    return (shift.role, shift.person, shift.days, shift.start, shift.end)


@dataclass(frozen=True, slots=True)
class RotaDiff:
    """Stored shifts to remove (with their ids), file rows to add, and how many are unchanged."""

    remove: tuple[Shift, ...]
    add: tuple[Shift, ...]
    same: int

    @property
    def empty(self) -> bool:
        """True when the database already matches the file."""
        return not self.remove and not self.add


def diff_weekly(stored: Sequence[Shift], wanted: Sequence[Shift]) -> RotaDiff:
    """The change that makes ``stored`` weekly shifts equal ``wanted`` (a repeated row counts once)."""
    have: dict[tuple[object, ...], Shift] = {}
    extra: list[Shift] = []
    for shift in stored:
        if _key(shift) in have:
            extra.append(shift)  # an old duplicate: the file has it once, so one copy goes
        else:
            have[_key(shift)] = shift
    want = {_key(s): s for s in wanted}
    remove = [s for k, s in have.items() if k not in want] + extra
    add = [s for k, s in want.items() if k not in have]
    return RotaDiff(tuple(sorted(remove, key=lambda s: s.id)), tuple(add), len(want) - len(add))


def format_diff(diff: RotaDiff, names: Mapping[str, str] | None = None) -> str:
    """`+ alice, reference, Mon-Fri 09:00-17:00` / `- #3 bob, ...` lines and a summary."""
    names = names or {}

    def line(s: Shift) -> str:
        return f"{names.get(s.person, s.person)}, {s.role}, {s.label()}"

    lines = [f"- #{s.id} {line(s)}" for s in diff.remove] + [f"+ {line(s)}" for s in diff.add]
    lines.append(f"{len(diff.add)} to add, {len(diff.remove)} to remove, {diff.same} unchanged.")
    return "\n".join(lines)


def file_hash(text: str) -> str:
    """The SHA-256 of a rota file's text (to notice that it changed since it was imported)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
