"""What the service shows desks: a mention's card (``TicketView``), a summary card (``FoldView``), where a
card was posted (``CardRef``) and what a staff member is told after acting (``ActionResult``).

Frozen value types, no I/O; the staff actions and the mention types they refer to live in ``bot.models``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.models import StaffRef, Status, Visibility


@dataclass(frozen=True, slots=True)
class CardRef:
    """Where a card was posted on a desk."""

    desk: str
    channel: str
    message_id: str


@dataclass(frozen=True, slots=True)
class TicketView:
    """Everything a desk needs to render one mention's card. Built by the service."""

    mention_id: int
    source: str
    author_handle: str
    author_name: str
    text: str
    url: str | None
    role: str
    rule: str
    reason: str
    on_duty: tuple[str, ...]
    status: Status
    can_reply: bool = True
    visibility: Visibility = Visibility.PUBLIC
    content_warning: str = ""
    assignee: str | None = None
    reply_text: str | None = None
    reply_url: str | None = None
    replied_by: str | None = None
    created_at: datetime | None = None
    note: str = ""
    # chat identities of the people above, so a desk can ping them (a desk keeps its own desk's refs)
    on_duty_refs: tuple[StaffRef, ...] = ()
    assignee_refs: tuple[StaffRef, ...] = ()
    queued_until: datetime | None = None
    snoozed_until: datetime | None = None  # while snoozed: when it wakes (None: when the patron writes)
    # internal notes (never published): the latest few, and how many there are
    notes: tuple[StaffNote, ...] = ()
    note_count: int = 0
    tags: tuple[str, ...] = ()
    read_level: int | None = None  # READ Scale 1-6, given at Resolve
    directional: bool | None = None  # True: a directional question, False: reference, None: not said
    private: tuple[str, ...] = ()  # kinds of private data in the patron's post (🔒), found at render
    branch: str = ""  # the role's branch (its display name) when the rules file has branches


@dataclass(frozen=True, slots=True)
class StaffNote:
    """One internal note on a card: who wrote it (display name), when, and the text (staff only)."""

    by: str
    at: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class FoldView:
    """A summary card: a burst of read-only items from one source folded into one card."""

    fold_id: int
    source: str
    role: str
    total: int  # every folded item, whatever its state
    waiting: int  # not claimed, not handled
    claimed: int  # claimed or answered, not closed yet
    handled: int  # resolved or ignored


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a desk tells the staff member who acted (privately) and the new card, if any."""

    ok: bool
    message: str
    view: TicketView | None = None
    changed: bool = False
    extra: tuple[str, ...] = field(default_factory=tuple)
    choices: tuple[str, ...] = ()  # saved answers' names a form may offer (``OpenForm``)
