"""Rota, roles and staff in the database, converted to and from the pure routing types."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rota.branches import Places
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.routing.rules import RoleSpec, RuleSet, StaffSpec
from bot.store.bookkeeping_tables import MetaRow
from bot.store.rota_tables import RoleRow, ShiftRow, StaffRow
from bot.store.sql import insert_for as _insert
from bot.store.staff_repo import upsert_listed

ROTA_FILE_HASH = "rota_file_sha256"  # meta key: the ROTA_FILE last imported, to notice edits
ROTA_STAMP = "rota_version"  # meta key: changes with every rota edit, so other processes reload
SETUP_LOCK = 0x70617472_6F6E0001  # "patron" + 1: the advisory-lock key for start-up seeding
EDIT_LOCK = 0x70617472_6F6E0002  # "patron" + 2: one rota edit at a time (duplicate checks hold)


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _time(value: str | None) -> time:
    hours, minutes = (value or "00:00").split(":")
    return time(int(hours) % 24, int(minutes))


def _to_domain(row: ShiftRow) -> Shift | Override | Closure:
    if row.kind == "weekly":
        days = frozenset(int(d) for d in (row.days or "").split(",") if d)
        return Shift(
            id=row.id,
            role=row.role or "",
            person=row.person or "",
            days=days,
            start=_time(row.start_time),
            end=_time(row.end_time),
        )
    if row.kind == "override":
        assert row.starts_at is not None and row.ends_at is not None
        return Override(
            id=row.id,
            role=row.role or "",
            person=row.person or "",
            start=row.starts_at,
            end=row.ends_at,
            kind=OverrideKind(row.override_kind or "add"),
            replaces=row.replaces,
            synced=bool(row.origin),
        )
    assert row.day is not None
    return Closure(id=row.id, day=row.day, reason=row.reason, branch=row.branch or "")


async def load_rota(session: AsyncSession, zone: ZoneInfo, places: Places | None = None) -> Rota:
    """Every rota entry as one pure ``Rota`` (``places``: the branches' zones and closed days)."""
    rows = (await session.execute(select(ShiftRow).order_by(ShiftRow.id))).scalars()
    items = [_to_domain(row) for row in rows]
    return Rota(
        zone=zone,
        shifts=tuple(i for i in items if isinstance(i, Shift)),
        overrides=tuple(i for i in items if isinstance(i, Override)),
        closures=tuple(i for i in items if isinstance(i, Closure)),
        places=places or Places(),
    )


async def rota_entry(session: AsyncSession, entry_id: int) -> Shift | Override | Closure | None:
    """One rota entry by id."""
    row = await session.get(ShiftRow, entry_id)
    return _to_domain(row) if row else None


def add_weekly(
    session: AsyncSession, *, role: str, person: str, days: Iterable[int], start: time, end: time
) -> ShiftRow:
    """A weekly slot."""
    row = ShiftRow(
        kind="weekly",
        role=role,
        person=person,
        days=",".join(str(d) for d in sorted(days)),
        start_time=_hhmm(start),
        end_time="24:00" if end == time(0) and start != time(0) else _hhmm(end),
        reason="",
    )
    session.add(row)
    return row


def add_override(
    session: AsyncSession,
    *,
    role: str,
    person: str,
    start: datetime,
    end: datetime,
    kind: OverrideKind,
    replaces: str | None = None,
) -> ShiftRow:
    """A dated cover (add/replace) or time off (remove), in naive local wall-clock time."""
    row = ShiftRow(
        kind="override",
        role=role,
        person=person,
        starts_at=start,
        ends_at=end,
        override_kind=kind.value,
        replaces=replaces,
        reason="",
    )
    session.add(row)
    return row


def add_closure(session: AsyncSession, *, day: date, reason: str, branch: str = "") -> ShiftRow:
    """A whole-day closure (of one branch's roles when ``branch`` is a branch key)."""
    row = ShiftRow(kind="closure", day=day, reason=reason, branch=branch or None)
    session.add(row)
    return row


async def save(session: AsyncSession) -> None:
    """Write the entries added so far (a new entry has its id after this)."""
    await session.flush()


async def remove_entry(session: AsyncSession, entry_id: int) -> bool:
    """Delete one rota entry; True when it existed."""
    result = await session.execute(delete(ShiftRow).where(ShiftRow.id == entry_id))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def rota_is_empty(session: AsyncSession) -> bool:
    """True when no rota entry exists (then ROTA_FILE is imported)."""
    return (await session.execute(select(ShiftRow.id).limit(1))).first() is None


async def sync_roles(session: AsyncSession, rules: RuleSet) -> None:
    """Make the roles table match the rules file (the file is the source of truth for roles).

    Upserts, so two workers starting at once both succeed instead of racing on the role key.
    """
    table = RoleRow.__table__
    for spec in rules.roles.values():
        values = {
            "key": spec.key,
            "description": spec.description,
            "sla_minutes": spec.sla_minutes,
            "backup": spec.backup,
            "slack_channel": spec.slack_channel,
            "matrix_room": spec.matrix_room,
        }
        stmt = _insert(session.get_bind().dialect.name, table).values(**values)
        changes = {name: stmt.excluded[name] for name in values if name != "key"}
        await session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=changes))
    await session.execute(delete(RoleRow).where(RoleRow.key.not_in(list(rules.roles))))


async def sync_staff(session: AsyncSession, staff: Iterable[StaffSpec]) -> None:
    """Insert or update the staff listed in the rules file; others (made from chat) are kept."""
    await upsert_listed(session, staff)


async def setup_lock(session: AsyncSession) -> None:
    """Serialize start-up seeding between workers for the rest of this transaction.

    PostgreSQL: a transaction-level advisory lock (freed at commit). SQLite: every transaction
    already holds the write lock from its start (BEGIN IMMEDIATE), so there is nothing to take.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SETUP_LOCK})


async def edit_lock(session: AsyncSession) -> None:
    """Serialize rota edits for the rest of this transaction, so a check for a repeated or
    overlapping entry and the insert after it are not split by another process's edit.

    PostgreSQL: a transaction-level advisory lock. SQLite: BEGIN IMMEDIATE already serializes.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EDIT_LOCK})


async def all_staff(session: AsyncSession) -> list[StaffRow]:
    """Every staff row."""
    return list((await session.execute(select(StaffRow).order_by(StaffRow.key))).scalars())


def role_specs(rows: Iterable[RoleRow]) -> dict[str, RoleSpec]:
    """Roles as pure specs."""
    return {
        r.key: RoleSpec(
            key=r.key,
            sla_minutes=r.sla_minutes,
            backup=r.backup,
            description=r.description,
            slack_channel=r.slack_channel,
            matrix_room=r.matrix_room,
        )
        for r in rows
    }


async def stamp_rota(session: AsyncSession) -> str:
    """Record that the rota changed (in the same transaction as the change); the new stamp."""
    stamp = uuid.uuid4().hex
    stmt = _insert(session.get_bind().dialect.name, MetaRow.__table__).values(key=ROTA_STAMP, value=stamp)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value})
    )
    return stamp


async def rota_stamp(session: AsyncSession) -> str:
    """The stamp of the last rota change ("" before any)."""
    row = (await session.execute(select(MetaRow.value).where(MetaRow.key == ROTA_STAMP))).first()
    return str(row[0]) if row else ""


async def replace_weekly(session: AsyncSession, *, remove: Iterable[int], add: Iterable[Shift]) -> None:
    """Delete the weekly shifts ``remove`` (ids) and add ``add``, in the caller's transaction."""
    ids = list(remove)
    if ids:
        await session.execute(delete(ShiftRow).where(ShiftRow.id.in_(ids), ShiftRow.kind == "weekly"))
    for spec in add:
        add_weekly(
            session, role=spec.role, person=spec.person, days=spec.days, start=spec.start, end=spec.end
        )
    await session.flush()


async def get_meta(session: AsyncSession, key: str) -> str | None:
    """One installation-wide value."""
    row = (await session.execute(select(MetaRow.value).where(MetaRow.key == key))).first()
    return str(row[0]) if row else None


async def set_meta(session: AsyncSession, key: str, value: str) -> None:
    """Set one installation-wide value (upsert)."""
    stmt = _insert(session.get_bind().dialect.name, MetaRow.__table__).values(key=key, value=value)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value})
    )


async def ensure_secret(session: AsyncSession, key: str) -> bytes:
    """A random installation secret kept in ``meta`` under ``key``, made on first use.

    Insert-if-absent then read, as ``pseudonyms.ensure_key``: two first uses agree on one value.
    """
    stmt = _insert(session.get_bind().dialect.name, MetaRow.__table__).values(
        key=key, value=secrets.token_hex(32)
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
    value = await get_meta(session, key)
    assert value is not None  # just inserted or already there
    return bytes.fromhex(value)
