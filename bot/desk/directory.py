"""Who is who: staff rows cached in memory, chat identities resolved to staff keys."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import StaffRef
from bot.store.tables import StaffRow

_SLACK_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
_MATRIX_ID = re.compile(r"^@[^:\s]+:\S+$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower()).strip("-") or "staff"


class Directory:
    """An in-memory copy of the staff table, reloaded after every change the service makes."""

    def __init__(self) -> None:
        self.rows: dict[str, StaffRow] = {}

    async def load(self, session: AsyncSession) -> None:
        """Reload from the database."""
        rows = (await session.execute(select(StaffRow))).scalars()
        self.rows = {row.key: row for row in rows}

    def name(self, key: str | None) -> str:
        """Display name for a staff key (the key itself when unknown)."""
        if not key:
            return ""
        row = self.rows.get(key)
        return (row.display_name or key) if row else key

    def refs(self, keys: tuple[str, ...]) -> tuple[StaffRef, ...]:
        """Every chat identity of these people, for desks that ping."""
        out: list[StaffRef] = []
        for key in keys:
            row = self.rows.get(key)
            if row is None:
                continue
            if row.slack_user_id:
                out.append(StaffRef("slack", row.slack_user_id, self.name(key)))
            if row.matrix_user_id:
                out.append(StaffRef("matrix", row.matrix_user_id, self.name(key)))
        return tuple(out)

    def by_ref(self, ref: StaffRef) -> StaffRow | None:
        """The staff row for a desk identity, if known."""
        for row in self.rows.values():
            if ref.desk == "slack" and row.slack_user_id == ref.user_id:
                return row
            if ref.desk == "matrix" and row.matrix_user_id == ref.user_id:
                return row
            if ref.desk not in ("slack", "matrix") and row.key == ref.user_id:
                return row
        return None

    def find(self, token: str) -> StaffRow | None:
        """Resolve a rota `@who` token: a staff key, Slack id or mention, or Matrix id."""
        token = token.strip()
        slack = _SLACK_MENTION.match(token)
        bare = slack.group(1) if slack else token
        for row in self.rows.values():
            if bare in (row.slack_user_id, row.matrix_user_id) and bare:
                return row
        key = bare.removeprefix("@").lower()
        return self.rows.get(key)

    async def ensure(self, session: AsyncSession, ref: StaffRef) -> StaffRow:
        """The actor's staff row, created on first contact (not a manager)."""
        row = self.by_ref(ref)
        if row is not None:
            return row
        base = _slug(ref.display or ref.user_id)
        key = base if base not in self.rows else _slug(f"{base}-{ref.user_id}")
        row = StaffRow(key=key, display_name=ref.display or ref.user_id, is_manager=False, active=True)
        if ref.desk == "slack":
            row.slack_user_id = ref.user_id
        elif ref.desk == "matrix":
            row.matrix_user_id = ref.user_id
        session.add(row)
        await session.flush()
        self.rows[key] = row
        return row

    async def ensure_token(self, session: AsyncSession, token: str) -> StaffRow:
        """The staff row a rota `@who` names, created when new."""
        row = self.find(token)
        if row is not None:
            return row
        slack = _SLACK_MENTION.match(token.strip())
        bare = slack.group(1) if slack else token.strip()
        if slack or _SLACK_ID.match(bare):
            return await self.ensure(session, StaffRef("slack", bare, bare))
        if _MATRIX_ID.match(bare):
            local = bare[1:].split(":", 1)[0]
            return await self.ensure(session, StaffRef("matrix", bare, local))
        key = _slug(bare.removeprefix("@"))
        row = StaffRow(key=key, display_name=bare.removeprefix("@"), is_manager=False, active=True)
        session.add(row)
        await session.flush()
        self.rows[key] = row
        return row
