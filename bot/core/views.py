"""Build the desk-neutral card (TicketView) from a stored mention."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.directory import Directory
from bot.domain.notes import notes_of
from bot.domain.privacy import PrivacyGuard
from bot.models import Mention, Status, Visibility
from bot.store.mentions import StoredMention
from bot.views import StaffNote, TicketView


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return moment.astimezone(zone) if moment is not None and moment.tzinfo is not None else moment


def ticket_view(
    row: StoredMention,
    directory: Directory,
    *,
    zone: ZoneInfo,
    guard: PrivacyGuard | None = None,
    branch: str = "",
) -> TicketView:
    """Everything a desk renders for one mention; names resolved, chat ids attached for pings, times
    in the zone of its role (``zone``: its branch's, else the library's) so every desk shows the hours
    the rota is written in; with ``guard``, the kinds of private data in the patron's post (the 🔒
    hint); ``branch``: the role's branch, said on the card."""
    if row.purged_at is not None:
        return _purged(row, directory, zone)
    on_duty = tuple(key for key in row.on_duty.split(",") if key)
    assignee = (row.assignee,) if row.assignee else ()
    return TicketView(
        mention_id=row.id,
        source=row.source,
        author_handle=row.author_handle,
        author_name=row.author_name,
        text=row.text,
        url=row.url,
        role=row.role,
        rule=row.rule,
        reason=row.reason,
        on_duty=tuple(directory.name(key) for key in on_duty),
        status=Status(row.status),
        can_reply=row.can_reply,
        visibility=Visibility(row.visibility),
        content_warning=row.content_warning,
        assignee=directory.name(row.assignee) or None,
        reply_text=row.reply_text,
        reply_url=row.reply_url,
        replied_by=directory.name(row.replied_by) or None,
        created_at=_local(row.created_at, zone),
        note=row.note,
        on_duty_refs=directory.refs(on_duty),
        assignee_refs=directory.refs(assignee),
        queued_until=_local(row.queued_until, zone),
        snoozed_until=_local(row.snoozed_until, zone),
        private=guard.scan(row.text) if guard is not None else (),
        notes=staff_notes(row.staff_notes, directory, zone),
        note_count=row.note_count,
        tags=split_tags(row.tags),
        read_level=row.read_level,
        directional=row.directional,
        branch=branch,
    )


def split_tags(stored: str) -> tuple[str, ...]:
    """The stored comma-separated tags as a tuple (empty parts dropped)."""
    return tuple(tag for tag in stored.split(",") if tag)


def staff_notes(stored: str, directory: Directory, zone: ZoneInfo) -> tuple[StaffNote, ...]:
    """The stored latest notes, names resolved; a damaged value shows no notes rather than failing."""
    return tuple(
        StaffNote(by=directory.name(note.by) or note.by, at=_local(note.at, zone), text=note.text)
        for note in notes_of(stored)
    )


def mention_from_row(row: StoredMention) -> Mention:
    """The stored mention as the source adapter gave it (for publishing a reply)."""
    return Mention(
        source=row.source,
        external_id=row.external_id,
        text=row.text,
        created_at=row.created_at,
        url=row.url,
        author_id=row.author_id,
        author_handle=row.author_handle,
        author_name=row.author_name,
        lang=row.lang,
        visibility=Visibility(row.visibility),
        content_warning=row.content_warning,
        can_reply=row.can_reply,
        reply_ref=row.reply_ref,
    )


PURGED_TEXT = "(removed: the retention period ended)"


def _purged(row: StoredMention, directory: Directory, zone: ZoneInfo) -> TicketView:
    """What is left of a purged mention: no text, handle or link; status and people stay."""
    return TicketView(
        mention_id=row.id,
        source=row.source,
        author_handle="",
        author_name="",
        text=PURGED_TEXT,
        url=None,
        role=row.role,
        rule=row.rule,
        reason="",
        on_duty=(),
        status=Status(row.status),
        can_reply=False,
        assignee=directory.name(row.assignee) or None,
        replied_by=directory.name(row.replied_by) or None,
        created_at=_local(row.created_at, zone),
    )
