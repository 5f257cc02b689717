"""Who is who: staff rows cached in memory, chat identities resolved to staff keys."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from bot.models import StaffRef
from bot.platforms import parse_staff_token, staff_id_columns
from bot.store import staff_repo

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.store.rota_tables import StaffRow


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower()).strip("-") or "staff"


class Directory:
    """An in-memory copy of the staff table, reloaded after every change the service makes."""

    def __init__(self) -> None:
        self.rows: dict[str, StaffRow] = {}
        self.columns = staff_id_columns()  # desk -> the staff column with its user ids (the registry's)

    async def load(self, session: AsyncSession, *, merge: bool = False) -> None:
        """Reload from the database; with ``merge``, keep rows this process added in transactions
        still open (a concurrent action's new row must not vanish from the cache)."""
        rows = {row.key: row for row in await staff_repo.all_staff(session)}
        self.rows = {**self.rows, **rows} if merge else rows

    async def learn(self, session: AsyncSession, *keys: str | None) -> None:
        """Re-read the table when one of ``keys`` is unknown here (another process made the row)."""
        if any(key and key not in self.rows for key in keys):
            await self.load(session, merge=True)

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
            for desk, column in self.columns.items():
                if user_id := getattr(row, column):
                    out.append(StaffRef(desk, user_id, self.name(key)))
        return tuple(out)

    def by_ref(self, ref: StaffRef) -> StaffRow | None:
        """The staff row for a desk identity, if known."""
        column = self.columns.get(ref.desk)
        for row in self.rows.values():
            if (getattr(row, column) if column else row.key) == ref.user_id:
                return row
        return None

    def find(self, token: str) -> StaffRow | None:
        """Resolve a rota `@who` token: a staff key, or a desk's user id or mention (Slack, Matrix)."""
        token = token.strip()
        parsed = parse_staff_token(token)
        bare = parsed[1] if parsed else token
        for row in self.rows.values():
            if bare and any(getattr(row, column) == bare for column in self.columns.values()):
                return row
        key = bare.removeprefix("@").lower()
        return self.rows.get(key) or self.rows.get(_slug(key))

    async def ensure(self, session: AsyncSession, ref: StaffRef) -> StaffRow:
        """The actor's staff row, created on first contact (not a manager).

        Safe against other processes: on a miss the directory is re-read (another worker or the CLI
        may have made the row), and the row is created with an upsert, then read back.
        """
        row = self.by_ref(ref)
        if row is None:
            await self.load(session, merge=True)
            row = self.by_ref(ref)
        if row is not None:
            return row
        column = self.columns.get(ref.desk)
        ids = {column: ref.user_id} if column else {}
        display = ref.display or ref.user_id
        for key in _keys(ref, column):
            await staff_repo.add_staff(session, key=key, display_name=display, **ids)
            row = await staff_repo.find_staff(session, key=key, column=column, user_id=ref.user_id)
            if row is not None:  # ours, or the one another process made first
                self.rows[row.key] = staff_repo.detach(session, row)
                return row
        raise RuntimeError("no free staff key")  # pragma: no cover - the last key is unique per identity

    async def ensure_token(self, session: AsyncSession, token: str) -> StaffRow:
        """The staff row a rota `@who` names, created when new (re-read and upserted like ``ensure``)."""
        row = self.find(token)
        if row is None:
            await self.load(session, merge=True)
            row = self.find(token)
        if row is not None:
            return row
        bare = token.strip()
        parsed = parse_staff_token(bare)
        if parsed is not None:
            return await self.ensure(session, StaffRef(*parsed))
        key = _slug(bare.removeprefix("@"))
        await staff_repo.add_staff(session, key=key, display_name=bare.removeprefix("@"))
        row = await staff_repo.find_staff(session, key=key)
        assert row is not None  # inserted, or there already: staff rows are never deleted
        self.rows[row.key] = staff_repo.detach(session, row)
        return row


def _keys(ref: StaffRef, column: str | None) -> list[str]:
    """Keys to try for a new person, most readable first; the last one is unique to the identity.

    A desk without a staff id column (console, CLI) names its operator by key, so the key is the user id.
    """
    if column is None:
        return [ref.user_id[: staff_repo.KEY_LENGTH]]
    base = _slug(ref.display or ref.user_id)[:80]
    digest = hashlib.sha256(f"{ref.desk}:{ref.user_id}".encode()).hexdigest()[:12]
    return [base, _slug(f"{base}-{ref.user_id}")[: staff_repo.KEY_LENGTH], f"{base}-{digest}"]
