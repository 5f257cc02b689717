"""Who may act (DESIGN.md §6.10): only staff act, and only a patron changes their own words.

One decision for every desk. The app wraps the service's ``handle`` with ``Gate.guard`` for each desk
it serves, so a click, reaction, form or command from someone who is not staff is refused before the
service reads or writes anything (the staff directory never sees them). Rota changes still need a
manager, checked by the service (``rota_actions``). Identity unknown, a desk without a roster or a
failed lookup all mean no.

Staff on a chat desk are: the rules file's ``[[staff]]`` with an id on that desk, the desk's managers,
members of its staff group (``SLACK_STAFF_GROUP``) and, only when neither the rules file nor a group
names anyone for that desk, members of its staff channel or room. The console and the CLI are the
operator at the server's own terminal: staff and manager.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core.base import OnAction
from bot.models import DeskQuery, MentionChange, RotaCommand, StaffAction, StaffRef
from bot.platforms import REGISTRY
from bot.routing.rules import StaffSpec
from bot.views import ActionResult

log = logging.getLogger(__name__)

CLI = "cli"  # the `patron-desk` command line: whoever runs it runs the server
NOT_STAFF = "Only library staff can use these buttons. Ask a manager to add you to the staff list."
NOT_STAFF_COMMAND = (
    "Only library staff can use Patron Desk commands. Ask a manager to add you to the staff list."
)
WRONG_PLACE = "Use {command} in {where} or in a direct message with Patron Desk, not here."


class Place(StrEnum):
    """Where a command was typed, as the desk sees it."""

    STAFF = "staff"  # the staff channel or room, or a role's own
    DIRECT = "direct"  # a direct message with the bot
    ELSEWHERE = "elsewhere"  # a community source channel, or anywhere else


@dataclass(frozen=True, slots=True)
class Facts:
    """What a desk knows about one user. ``None``: not looked up, or the lookup failed."""

    manager: bool = False
    group: bool = False  # a staff group is configured on this desk
    in_group: bool | None = None
    in_room: bool | None = None


class Roster(Protocol):
    """A chat desk's view of its people (``desk.roster``); lookups are cached briefly by the desk.

    Attributes:
        desk: the desk's name, as in ``StaffRef.desk``.
        where: how a refusal names the staff channel or room.
    """

    desk: str
    where: str

    def place(self, channel: str) -> Place:
        """Classify the channel or room a command was typed in."""

    async def facts(self, user_id: str, *, need_room: bool) -> Facts:
        """Manager and group facts; staff-room membership only when ``need_room``. Never raises."""


def staff_ids(staff: Iterable[StaffSpec]) -> dict[str, frozenset[str]]:
    """The rules file's people per desk (their chat ids)."""
    specs = list(staff)
    return {
        name: frozenset(who for s in specs if (who := spec.staff_id(s)))
        for name, spec in REGISTRY.items()
        if spec.staff_id_column is not None
    }


def is_staff(user_id: str, facts: Facts, *, listed: frozenset[str]) -> bool:
    """The staff rule, given the desk's facts about ``user_id`` (pure)."""
    if not user_id:
        return False
    if user_id in listed or facts.manager or facts.in_group is True:
        return True
    if listed or facts.group:
        return False  # the rules file or a group names the staff here: channel members are not enough
    return facts.in_room is True


def may_change(change: MentionChange, author_id: str) -> bool:
    """Whether a platform edit or withdrawal of a stored mention is the author's (or a moderator's)."""
    if change.author_only:
        return True
    if change.sender and change.sender == author_id:
        return True
    return change.kind == "withdraw" and change.moderator and bool(change.sender)


def _local(desk: str) -> bool:
    """Typed at the server's terminal (the console desk, the CLI): whoever runs it is staff."""
    spec = REGISTRY.get(desk)
    return desk == CLI or (spec is not None and spec.local)


def _command_word(action: RotaCommand | DeskQuery, desk: str) -> str:
    spec = REGISTRY.get(desk)
    bang = spec.command_prefix if spec else "/"
    return f"{bang}{'rota' if isinstance(action, RotaCommand) else 'desk'}"


class Gate:
    """The one check in front of the service for every desk (see the module docstring)."""

    def __init__(self, staff: Iterable[StaffSpec] = ()) -> None:
        self.listed = staff_ids(staff)
        self.rosters: dict[str, Roster] = {}

    def add(self, roster: Roster) -> None:
        """Register a desk's roster (a desk without one has no staff: everyone is refused)."""
        self.rosters[roster.desk] = roster

    async def refusal(self, action: StaffAction) -> str | None:
        """Why ``action`` is refused, or None when its actor may do it."""
        actor = action.actor
        if _local(actor.desk):
            return None
        roster = self.rosters.get(actor.desk)
        if roster is None or not actor.user_id:
            return NOT_STAFF
        command = isinstance(action, (RotaCommand, DeskQuery))
        if isinstance(action, (RotaCommand, DeskQuery)) and roster.place(action.place) is Place.ELSEWHERE:
            word = _command_word(action, actor.desk)
            return WRONG_PLACE.format(command=word, where=roster.where)
        listed = self.listed.get(actor.desk, frozenset())
        if actor.user_id not in listed:
            facts = await roster.facts(actor.user_id, need_room=not listed)
            if not is_staff(actor.user_id, facts, listed=listed):
                return NOT_STAFF_COMMAND if command else NOT_STAFF
        return None

    def guard(self, handle: OnAction) -> OnAction:
        """``handle`` behind the gate: a refused action reaches nothing and is answered privately."""

        async def guarded(action: StaffAction) -> ActionResult:
            try:
                why = await self.refusal(action)
            except Exception as exc:  # a roster bug must not let anyone in
                log.error("authorization check failed (%s): refused", type(exc).__name__)
                why = NOT_STAFF
            if why is not None:
                log.info("refused %s from a non-staff %s user", type(action).__name__, action.actor.desk)
                return ActionResult(False, why)
            return await handle(action)

        return guarded


def may_approve(approval: str, staff_key: str, *, manager: bool, holders: Iterable[str] = ()) -> bool:
    """Whether ``staff_key`` may approve or reject a held reply of a role whose ``approval`` is set.

    A manager may; so may the staff key named, or, when ``approval`` names a role, whoever holds that
    role now (``holders``). Nobody approves a role without ``approval`` (nothing is ever held there).
    """
    if not approval or not staff_key:
        return False
    return manager or staff_key == approval or staff_key in set(holders)


def operator(actor: StaffRef) -> bool:
    """The operator themself at the server's terminal (console, CLI): a manager. Someone the console
    acts as (`iam NAME`, their staff key as the id) has that person's own rights."""
    return _local(actor.desk) and actor.user_id in (actor.desk, CLI)
