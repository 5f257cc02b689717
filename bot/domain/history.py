"""A card's history (pure): one short line per audited change, posted in the card's thread.

The lines name people by display name and never quote the patron or a note; only the person a change
concerns (a reassignment to someone, an escalation) gets a ping, by the desk's own mention syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.rota.timespec import staff_time

LINES = {
    "claim": "✋ Claimed by {who}.",
    "release": "↩️ Released by {who}.",
    "resolve": "✅ Resolved by {who}.{read}",
    "ignore": "🙈 Ignored by {who}.",
    "reply": "✍️ Reply by {who} queued.",
    "reply_published": "📤 Reply published.",
    "reply_failed": "⚠️ Reply not published.",
    "reassign": "🔀 Reassigned to {role} by {who}.",
    "reassign_queued": "🔀 Reassigned to {role} by {who}; it waits for the next shift.",
    "reassign_person": "🔀 Reassigned by {who} to {person}.",
    "escalate": "🔔 Escalated ({step}).",
    "dequeue": "📬 Someone came on duty: out of the queue.",
    "note": "📝 Note by {who}.",
    "tag": "🏷️ Tagged {tag} by {who}.",
    "untag": "🏷️ Tag {tag} removed by {who}.",
    "snooze": "💤 Snoozed by {who}{until}.",
    "wake": "⏰ Awake again.",
    "approve": "👍 Reply approved by {who}.",
    "reject": "👎 Reply not approved by {who}; not published.",
    "auto_resolve": "✅ Resolved automatically: no activity after the reply.",
    "edit": "✏️ Edited by its author.",
    "withdraw": "🗑️ Deleted by its author.",
}
"""Audit actions that get a history line; any other action (timers' bookkeeping) gets none."""


def history_line(
    action: str,
    who: str,
    detail: Mapping[str, Any] | None = None,
    *,
    person: str = "",
    zone: tzinfo = UTC,
) -> str:
    """The history line of one audited change ("" when the action has none).

    ``who`` is the actor's display name; ``person`` the display name of whom it concerns, if anyone;
    ``zone`` the zone the card shows times in (its role's branch's, else the library's).
    """
    template = LINES.get(action)
    if template is None:
        return ""
    info = detail or {}
    read = ""
    if info.get("read") is not None:
        read = f" READ {info['read']}."
    if info.get("directional") is not None:
        read += " Directional." if info["directional"] else " Reference."
    return template.format(
        who=who or "staff",
        read=read,
        role=str(info.get("role", "")),
        person=person or "someone",
        step=str(info.get("step", "")) or "next step",
        tag=str(info.get("tag", "")),
        until=_until(info.get("until"), zone),
    )


def _until(stored: Any, zone: tzinfo) -> str:
    """` until Mon 7 Dec 09:00 EST` from a snooze's audit detail (a UTC ISO time, or "patron")."""
    if stored == "patron":
        return " until the patron answers"
    try:
        return f" until {staff_time(datetime.fromisoformat(str(stored)).astimezone(zone))}"
    except (TypeError, ValueError):
        return ""
