"""The one label of each status (emoji and word) that every desk's card shows (pure).

Next to the transition table on purpose: a new status gets its label here or a test fails, and no
renderer keeps a table of its own (tests/core/test_card_labels.py reads the code to make sure).
"""

from __future__ import annotations

from bot.models import Status

STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.NEW: ("🆕", "Open"),  # not yet routed: to staff it is open like a routed one
    Status.ROUTED: ("🆕", "Open"),
    Status.POSTED: ("🆕", "Open"),
    Status.QUEUED: ("⏳", "Queued"),
    Status.ESCALATED: ("🔥", "Escalated"),
    Status.CLAIMED: ("✋", "Claimed"),
    Status.REPLIED: ("💬", "Replied"),
    Status.SNOOZED: ("💤", "Snoozed"),
    Status.APPROVAL: ("🔏", "Awaiting approval"),
    Status.RESOLVED: ("✅", "Resolved"),
    Status.IGNORED: ("🙈", "Ignored"),
}


# What each status means for staff, in plain words (the reason an action was refused). "{who}" is the
# person holding it.
STATE_WORDS: dict[Status, str] = {
    Status.NEW: "it is still being routed",
    Status.ROUTED: "nobody has claimed it yet",
    Status.POSTED: "nobody has claimed it yet",
    Status.QUEUED: "nobody is on duty for it yet; it waits for the next shift",
    Status.ESCALATED: "nobody has claimed it yet, and it is past its time",
    Status.CLAIMED: "{who} is working on it",
    Status.REPLIED: "{who} has already answered it",
    Status.SNOOZED: "{who} has snoozed it",
    Status.APPROVAL: "a reply by {who} is waiting for approval",
    Status.RESOLVED: "it is already resolved",
    Status.IGNORED: "it was closed as needing no answer",
}


def status_icon(status: Status) -> str:
    """The one emoji of a status, as every desk shows it."""
    return STATUS_LABELS[status][0]


def status_label(status: Status) -> str:
    """The one label of a status (emoji and word) that every desk's status line starts with."""
    icon, word = STATUS_LABELS[status]
    return f"{icon} {word}"
