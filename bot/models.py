"""Frozen value types shared by the core, the adapters and the desks.

Nothing here does I/O; vendor payloads are translated into these types at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class Status(StrEnum):
    """Lifecycle of a mention; allowed transitions live in ``bot.domain.transitions``."""

    NEW = "new"
    ROUTED = "routed"
    POSTED = "posted"
    QUEUED = "queued"
    ESCALATED = "escalated"
    CLAIMED = "claimed"
    REPLIED = "replied"
    SNOOZED = "snoozed"  # claimed, set aside until a time or until the patron writes again
    APPROVAL = "approval"  # a reply written, held until the role's approver approves it
    RESOLVED = "resolved"
    IGNORED = "ignored"


class Visibility(StrEnum):
    """Who can see the patron's post; a reply keeps the same visibility or a narrower one."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"
    DIRECT = "direct"


# Largest id of a mention or rota entry: the columns are 32-bit INTEGER on PostgreSQL, so a larger
# number from a button, command or card cannot name anything and is refused before any query.
MAX_ID = 2**31 - 1

NARROWNESS = (Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE, Visibility.DIRECT)


def narrower(a: Visibility, b: Visibility) -> Visibility:
    """The more private of two visibilities."""
    return max(a, b, key=NARROWNESS.index)


@dataclass(frozen=True, slots=True)
class Mention:
    """A normalized patron post that mentions the library.

    ``reply_ref`` is opaque to the core: the source adapter writes it (usually JSON) and
    reads it back when it publishes a reply (thread ids, parent refs, acct, ...).
    """

    source: str
    external_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author_id: str = ""
    author_handle: str = ""
    author_name: str = ""
    lang: str | None = None
    visibility: Visibility = Visibility.PUBLIC
    content_warning: str = ""
    can_reply: bool = True
    reply_ref: str = ""
    note: str = ""  # shown on the card, e.g. that the platform's time was not valid (domain.sanitize)
    # external ids of earlier posts of the same conversation: a follow-up joins the open mention of
    # one of them as a new message on its card instead of starting a card of its own
    follows: tuple[str, ...] = ()
    # a message that did not address the library (no mention of the bot), passed on only because it
    # answers a post in ``follows``: it may join its author's open mention there and is otherwise
    # dropped unstored; it never starts a card (a chat in a public room is not a question)
    join_only: bool = False
    full_text: str = ""  # the whole message when ``text`` is a trimmed form of it (quotes, signature)
    # True only on what ``domain.sanitize.safe_mention`` returned with a clock: no constructor can set
    # it and ``dataclasses.replace`` does not copy it, so ingest sanitizes anything else once more
    sanitized: bool = field(default=False, init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class MentionChange:
    """The author edited or withdrew (deleted, redacted) a post that may be a stored mention."""

    source: str
    external_id: str
    kind: Literal["edit", "withdraw"]
    sender: str = ""  # who made the change; compared with the stored author (DESIGN.md §6.10)
    text: str = ""
    moderator: bool = False  # the platform says ``sender`` may remove others' posts (withdraw only)
    author_only: bool = False  # the platform lets only the author (or its moderators) do this


@dataclass(frozen=True, slots=True)
class ReplyRef:
    """Where a published reply lives on the source platform."""

    external_id: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's answer: which role, who is on duty now, which rule, and why."""

    role: str
    on_duty: tuple[str, ...]
    rule: str
    reason: str
    queued: bool = False
    queued_until: datetime | None = None  # when someone next holds the role, if queued
    tags: tuple[str, ...] = ()  # the matched rule's tags


@dataclass(frozen=True, slots=True)
class StaffRef:
    """A staff member as a desk knows them: desk name plus the desk's user id."""

    desk: str
    user_id: str
    display: str = ""


# --- staff actions: one small type per verb, a union for dispatch -------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """Take ownership of a mention."""

    mention_id: int
    actor: StaffRef


@dataclass(frozen=True, slots=True)
class Release:
    """Give a claimed mention back to the queue."""

    mention_id: int
    actor: StaffRef


@dataclass(frozen=True, slots=True)
class Reply:
    """Publish ``text`` on the patron's platform as a reply to the mention.

    ``visibility`` may narrow who sees the reply (Mastodon); it is never wider than the patron's post.
    ``confirmed``: staff saw the privacy guard's warning and publish anyway. ``text`` may be a saved
    answer's call (``/renewals``), filled in by the service.
    """

    mention_id: int
    actor: StaffRef
    text: str
    visibility: Visibility | None = None
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class Snooze:
    """Set a held mention aside until ``until`` (`2h`, `tomorrow 09:00`) or until the patron writes
    (`patron`); ``until`` is read in the library's zone by the service."""

    mention_id: int
    actor: StaffRef
    until: str = "patron"


@dataclass(frozen=True, slots=True)
class Wake:
    """Take a snoozed mention back before its time."""

    mention_id: int
    actor: StaffRef


@dataclass(frozen=True, slots=True)
class Approve:
    """Publish a reply held for approval (only the role's approver or a manager); a ``text`` given
    replaces the held one first (the approver's edit)."""

    mention_id: int
    actor: StaffRef
    text: str = ""


@dataclass(frozen=True, slots=True)
class Reject:
    """Send a reply held for approval back to its writer, unpublished, with a reason."""

    mention_id: int
    actor: StaffRef
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Resolve:
    """Mark a mention handled; optionally with its READ Scale level (1-6) and whether it was directional."""

    mention_id: int
    actor: StaffRef
    read_level: int | None = None
    directional: bool | None = None


@dataclass(frozen=True, slots=True)
class AddNote:
    """An internal note on a mention: shown to staff on the card, never sent to the patron."""

    mention_id: int
    actor: StaffRef
    text: str


@dataclass(frozen=True, slots=True)
class SetTag:
    """Add a tag from the rules file's list to a mention (``remove``: take it off)."""

    mention_id: int
    actor: StaffRef
    tag: str
    remove: bool = False


@dataclass(frozen=True, slots=True)
class Ignore:
    """Mark a mention as needing no answer."""

    mention_id: int
    actor: StaffRef


@dataclass(frozen=True, slots=True)
class Reassign:
    """Hand a mention to another role, or to a named person (staff key)."""

    mention_id: int
    actor: StaffRef
    role: str | None = None
    person: str | None = None


@dataclass(frozen=True, slots=True)
class RotaCommand:
    """A `/rota` or `!rota` line; ``text`` is everything after the command word."""

    actor: StaffRef
    text: str
    is_manager: bool | None = None  # a desk that knows (Matrix power level) says so
    place: str = ""  # the channel or room it was typed in ("" = unknown: refused on chat desks)


@dataclass(frozen=True, slots=True)
class DeskQuery:
    """`/desk`: list the open queue."""

    actor: StaffRef
    text: str = ""
    place: str = ""  # the channel or room it was typed in ("" = unknown: refused on chat desks)
    with_text: bool = False  # each listed mention with a line of the patron's text (the console asks)


@dataclass(frozen=True, slots=True)
class OpenForm:
    """A form (Reply, Reassign) is about to open on a card: changes nothing, lets the gate say no first.

    With ``text`` (a reply about to be previewed), the answer's ``extra`` holds the text as it will be
    published (a saved answer's call filled in) and its message is what the privacy guard finds in it
    and in the patron's post ("" when nothing). With ``decide`` ("approve" or "reject": the Edit or
    Reject form on a held reply), it opens only for someone who may decide on that reply.
    """

    mention_id: int
    actor: StaffRef
    text: str = ""
    decide: str = ""


@dataclass(frozen=True, slots=True)
class FoldAction:
    """On a summary card: ``list`` a page of its items, ``claim`` or ``resolve`` every waiting one."""

    fold_id: int
    actor: StaffRef
    verb: Literal["list", "claim", "resolve"] = "list"
    page: int = 0


@dataclass(frozen=True, slots=True)
class CheckIn:
    """The answer to a shift's check-in: ``here`` ("I'm on desk") or not ("Need cover").

    ``checkin_id`` None: the actor's own open check-in (a typed command that names none).
    """

    actor: StaffRef
    here: bool
    checkin_id: int | None = None


StaffAction = (
    Claim
    | Release
    | Reply
    | Resolve
    | Ignore
    | Reassign
    | RotaCommand
    | DeskQuery
    | OpenForm
    | Snooze
    | Wake
    | Approve
    | Reject
    | FoldAction
    | AddNote
    | SetTag
    | CheckIn
)
