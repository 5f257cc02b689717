"""The one table of status transitions: every status change the code makes names one here (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.models import Status

OPEN = frozenset({Status.ROUTED, Status.POSTED, Status.QUEUED, Status.ESCALATED})
"""Waiting for someone to take it."""

HELD = frozenset({Status.CLAIMED, Status.REPLIED, Status.SNOOZED, Status.APPROVAL})
"""Someone has it."""

ACTIVE = OPEN | HELD
"""Not finished yet."""

FINISHED = frozenset({Status.RESOLVED, Status.IGNORED})
"""Closed: no buttons, nothing more to do."""

EVERY = frozenset(Status)


class Transition(StrEnum):
    """Each way a mention's row changes; the value is the audit action name where one is written."""

    POSTED = "posted"  # the first card landed on a desk
    CLAIM = "claim"
    RELEASE = "release"
    REPLY = "reply"
    REPLY_FAILED = "reply_failed"
    PUBLISHED = "published"  # the source published the reply: link and time, status unchanged
    RESOLVE = "resolve"
    IGNORE = "ignore"
    REASSIGN = "reassign"
    REASSIGN_PERSON = "reassign_person"
    REASSIGN_QUEUED = "reassign_queued"  # to a role nobody holds now: it waits for the next shift
    # timers
    DEQUEUE = "dequeue"  # someone came on duty for a queued mention
    ESCALATE = "escalate"  # unclaimed past its SLA: one step along the chain
    REMIND = "remind"  # a claim with no reply: the claimer is reminded (status unchanged)
    AUTO_RESOLVE = "auto_resolve"  # a reply nobody marked resolved
    EXPIRE = "expire"  # anything unfinished untouched for RETENTION_DAYS
    # the patron's own changes
    EDIT = "edit"  # text replaced, status unchanged
    WITHDRAW = "withdraw"  # post deleted: closed as ignored unless someone already answered
    FOLLOW_UP = "follow_up"  # the patron wrote again in the same conversation: back to whoever holds it
    # set aside and back
    SNOOZE = "snooze"  # a held mention waits for a time or for the patron: no reminder, no escalation
    WAKE = "wake"  # its time came (timer) or staff took it back: claimed again
    # approval of replies for roles that require it
    HOLD_REPLY = "hold_reply"  # a reply from a role that needs approval: held, not published
    APPROVE = "approve"  # the approver let it out: replied, published through the outbox
    REJECT = "reject"  # the approver said no: back to its writer, unpublished


@dataclass(frozen=True)
class Rule:
    """From ``moves`` the status becomes ``to``; from ``stays`` the change applies, status kept."""

    moves: frozenset[Status]
    to: Status | None
    stays: frozenset[Status] = frozenset()


TABLE: dict[Transition, Rule] = {
    Transition.POSTED: Rule(frozenset({Status.ROUTED}), Status.POSTED),
    Transition.CLAIM: Rule(OPEN, Status.CLAIMED),
    Transition.RELEASE: Rule(HELD, Status.POSTED),
    Transition.REPLY: Rule(ACTIVE - {Status.APPROVAL}, Status.REPLIED),
    Transition.REPLY_FAILED: Rule(frozenset({Status.REPLIED}), Status.CLAIMED),
    Transition.PUBLISHED: Rule(frozenset(), None, EVERY),  # whatever staff did meanwhile, it is out
    Transition.RESOLVE: Rule(ACTIVE, Status.RESOLVED),
    Transition.IGNORE: Rule(ACTIVE, Status.IGNORED),
    Transition.REASSIGN: Rule(ACTIVE, Status.POSTED),
    Transition.REASSIGN_PERSON: Rule(ACTIVE, Status.CLAIMED),
    Transition.REASSIGN_QUEUED: Rule(ACTIVE, Status.QUEUED),
    Transition.DEQUEUE: Rule(frozenset({Status.QUEUED}), Status.POSTED),
    # a queued mention has nobody on duty to escalate to; it is dequeued first
    Transition.ESCALATE: Rule(OPEN - {Status.QUEUED}, Status.ESCALATED),
    Transition.REMIND: Rule(frozenset(), None, frozenset({Status.CLAIMED})),
    Transition.AUTO_RESOLVE: Rule(frozenset({Status.REPLIED}), Status.RESOLVED),
    Transition.EXPIRE: Rule(EVERY - FINISHED, Status.IGNORED),
    Transition.EDIT: Rule(frozenset(), None, EVERY),
    # a published answer (REPLIED, RESOLVED) keeps its status; NEW and IGNORED have nothing to close
    Transition.WITHDRAW: Rule(
        ACTIVE - {Status.REPLIED}, Status.IGNORED, frozenset({Status.NEW, Status.IGNORED})
    ),
    # an answered or snoozed mention is open again for its claimer; finished ones take no follow-up
    # (a new card); a reply held for approval stays held
    Transition.FOLLOW_UP: Rule(
        frozenset({Status.REPLIED, Status.SNOOZED}),
        Status.CLAIMED,
        ACTIVE - {Status.REPLIED, Status.SNOOZED},
    ),
    Transition.SNOOZE: Rule(frozenset({Status.CLAIMED, Status.REPLIED}), Status.SNOOZED),
    Transition.WAKE: Rule(frozenset({Status.SNOOZED}), Status.CLAIMED),
    # a new held reply replaces one already waiting (the writer rewrote it)
    Transition.HOLD_REPLY: Rule(ACTIVE, Status.APPROVAL),
    Transition.APPROVE: Rule(frozenset({Status.APPROVAL}), Status.REPLIED),
    Transition.REJECT: Rule(frozenset({Status.APPROVAL}), Status.CLAIMED),
}


def allowed_from(transition: Transition) -> frozenset[Status]:
    """Statuses from which ``transition`` may start."""
    rule = TABLE[transition]
    return rule.moves | rule.stays


def target(transition: Transition) -> Status:
    """The status ``transition`` leads to (ValueError for one that never changes the status)."""
    to = TABLE[transition].to
    if to is None:
        raise ValueError(f"{transition} keeps the status")
    return to


def status_after(transition: Transition, current: Status) -> Status:
    """The status after ``transition`` from ``current`` (ValueError when it may not start there)."""
    rule = TABLE[transition]
    if current in rule.moves and rule.to is not None:
        return rule.to
    if current in rule.stays:
        return current
    raise ValueError(f"{transition} may not start from {current}")


def writes(transition: Transition, status: Status) -> bool:
    """Whether ``transition`` may write ``status`` into a row (its target, from ``moves``)."""
    return TABLE[transition].to == status and bool(TABLE[transition].moves)


class Action(StrEnum):
    """What staff can do on a card; renderers turn these into buttons, reactions or hints."""

    CLAIM = "claim"
    REPLY = "reply"
    OPEN_LINK = "open_link"  # read-only source: answer on the platform itself
    RESOLVE = "resolve"
    RELEASE = "release"
    REASSIGN = "reassign"
    IGNORE = "ignore"
    SNOOZE = "snooze"
    WAKE = "wake"
    APPROVE = "approve"
    REJECT = "reject"


def available_actions(status: Status, can_reply: bool) -> tuple[Action, ...]:
    """The actions a card in ``status`` offers, in the order the desks show them.

    Only actions whose transition the table allows from ``status``: a button never offers what the
    service would refuse.
    """

    def may(transition: Transition) -> bool:
        return status in allowed_from(transition)

    out: list[Action] = []
    if may(Transition.APPROVE):  # the approver's choice comes first; the gate checks who clicks
        out += [Action.APPROVE, Action.REJECT]
    if may(Transition.WAKE):
        out.append(Action.WAKE)
    if may(Transition.CLAIM):
        out.append(Action.CLAIM)
    if may(Transition.REPLY):
        out.append(Action.REPLY if can_reply else Action.OPEN_LINK)
    # an open mention that can be answered is answered, not closed silently; a read-only one is
    # answered elsewhere, so "resolve" is how it is marked handled
    if may(Transition.RESOLVE) and (status in HELD or not can_reply):
        out.append(Action.RESOLVE)
    for action, transition in (
        (Action.SNOOZE, Transition.SNOOZE),
        (Action.RELEASE, Transition.RELEASE),
        (Action.REASSIGN, Transition.REASSIGN),
        (Action.IGNORE, Transition.IGNORE),
    ):
        if may(transition):
            out.append(action)
    return tuple(out)
