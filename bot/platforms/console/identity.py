"""Who the console acts as: the operator (a manager), or a staff member of the rules file (`iam NAME`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.models import StaffRef
from bot.platforms.console.lines import ME
from bot.routing.rules import StaffSpec

OPERATOR_LINE = "You act as the console operator, a manager (you may change the rota)."


@dataclass(frozen=True, slots=True)
class Identity:
    """The actor of typed commands; ``manager`` None: the service reads the person's own rights."""

    ref: StaffRef
    manager: bool | None
    name: str

    @property
    def line(self) -> str:
        """`whoami`: who, and what they may do."""
        if self.manager is True and self.ref == ME:
            return OPERATOR_LINE
        return f"You act as {self.name} ({self.ref.user_id}), with their rights."


OPERATOR = Identity(ME, True, "the console operator")


class Staff:
    """The rules file's people, found by key or display name (any case, with or without ``@``)."""

    def __init__(self, people: Iterable[StaffSpec]) -> None:
        self._people = {person.key: person for person in people}

    def find(self, name: str) -> StaffSpec | None:
        """The person ``name`` means, or None."""
        wanted = name.strip().removeprefix("@").casefold()
        for person in self._people.values():
            if wanted in (person.key.casefold(), (person.name or "").casefold()):
                return person
        return None

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return sorted(self._people)

    def identity(self, name: str) -> Identity | str:
        """`iam NAME`: the identity, or a message saying who exists. An empty name is the operator."""
        if not name.strip():
            return OPERATOR
        person = self.find(name)
        if person is None:
            known = ", ".join(self.keys()) or "nobody (the rules file names no [[staff]])"
            return f"There is no staff member {name.strip()[:40]!r}. Staff: {known}."
        ref = StaffRef(ME.desk, person.key, person.name or person.key)
        return Identity(ref, None, person.name or person.key)
