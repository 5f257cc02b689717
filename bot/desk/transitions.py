"""The one table of allowed status transitions, per staff action (pure)."""

from __future__ import annotations

from bot.models import Status

OPEN = frozenset({Status.ROUTED, Status.POSTED, Status.QUEUED, Status.ESCALATED})
"""Waiting for someone to take it."""

ACTIVE = OPEN | {Status.CLAIMED, Status.REPLIED}
"""Not finished yet."""

TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    # action: (from any of these, to this)
    "posted": (frozenset({Status.ROUTED}), Status.POSTED),
    "claim": (OPEN, Status.CLAIMED),
    "release": (frozenset({Status.CLAIMED, Status.REPLIED}), Status.POSTED),
    "reply": (OPEN | {Status.CLAIMED, Status.REPLIED}, Status.REPLIED),
    "reply_failed": (frozenset({Status.REPLIED}), Status.CLAIMED),
    "resolve": (ACTIVE, Status.RESOLVED),
    "ignore": (ACTIVE, Status.IGNORED),
    "reassign": (ACTIVE, Status.POSTED),
    "reassign_person": (ACTIVE, Status.CLAIMED),
    # timers: a reply nobody marked resolved, and anything unfinished untouched for RETENTION_DAYS
    "auto_resolve": (frozenset({Status.REPLIED}), Status.RESOLVED),
    "expire": (frozenset(Status) - {Status.RESOLVED, Status.IGNORED}, Status.IGNORED),
}


def allowed(action: str) -> frozenset[Status]:
    """Statuses from which ``action`` may start."""
    return TRANSITIONS[action][0]


def target(action: str) -> Status:
    """The status ``action`` leads to."""
    return TRANSITIONS[action][1]
