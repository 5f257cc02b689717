"""Shift check-in (``CHECKIN_MINUTES``): at a shift's start its person is asked "on desk, or need cover?".

No answer in time, or "Need cover": the backup role's people on duty are asked to take it; if it is
still open after another ``CHECKIN_MINUTES`` (or there is no backup on duty), the staff channel is
asked for a volunteer and managers are told. Anyone who works that role takes the rest of the shift
with the rota command ``take`` (a cover entry instead of the absent person).

Each step is a conditional UPDATE of the check-in's row (``bot/store/checkins.py``) in the same
transaction as its notices, so a restart, a second tick or a second process never repeats or
skips one. Only the person on the rota can answer their check-in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.outbox import CheckinPayload, OutboxKind, dedupe_key, encode
from bot.models import CheckIn, StaffRef
from bot.rota.rota import OverrideKind, Rota
from bot.store import audit, outbox
from bot.store import checkins as store
from bot.store.checkins import OPEN_GAP, Checkin, Step
from bot.store.rota_repo import add_override, edit_lock, load_rota, save
from bot.views import ActionResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.context import Context

log = logging.getLogger(__name__)

ASK_WINDOW = timedelta(minutes=15)  # a shift that began longer ago is not asked (a restart mid-shift)
HORIZON = timedelta(hours=36)  # the longest shift looked at when finding where one ends
NOT_STAFF = "You are not on the staff list, so there is no check-in of yours."
NONE_OPEN = "You have no shift check-in open now."


def shift_end(rota: Rota, role: str, person: str, at: datetime) -> datetime:
    """Where ``person``'s unbroken time holding ``role`` from ``at`` ends (at most ``HORIZON`` on)."""
    for start, _, people in rota.coverage(role, at, at + HORIZON):
        if person not in people:
            return max(start, at)
    return at + HORIZON


def qualified(rota: Rota, role: str, person: str) -> bool:
    """Whether ``person`` works ``role`` at all: a weekly shift, a calendar shift or a cover in the rota."""
    if any(s.role == role and s.person == person for s in rota.shifts):
        return True
    return any(
        o.role == role and o.person == person and o.kind is not OverrideKind.REMOVE for o in rota.overrides
    )


def _hhmm(ctx: Context, at: datetime, role: str) -> str:
    """A time as the role's staff read it: in its branch's zone (the library's without branches)."""
    return at.astimezone(ctx.rota.zone_of(role)).strftime("%H:%M")


def _managers(ctx: Context) -> list[str]:
    return sorted(r.key for r in ctx.directory.rows.values() if r.is_manager and r.active)


def backups(ctx: Context, role: str, absent: str, now: datetime) -> tuple[str, tuple[str, ...]]:
    """The first backup role of ``role`` with someone on duty now (not ``absent``), and its people."""
    for backup in ctx.rules.backup_chain(role):
        people = tuple(p for p in ctx.rota.on_duty(backup, now) if p != absent)
        if people:
            return backup, people
    return "", ()


async def ask_new(ctx: Context, arrivals: Iterable[tuple[str, str, datetime]], now: datetime) -> None:
    """Ask each person whose shift began in the last ``ASK_WINDOW`` (``(role, person, began)``), once."""
    minutes = timedelta(minutes=ctx.checkin_minutes)
    for role, person, began in arrivals:
        if now - began > ASK_WINDOW:
            continue
        ends = shift_end(ctx.rota, role, person, now)
        async with ctx.db.transaction() as session:
            took = await store.find(session, now=now, states=[Step.FILLED], roles=[role], filled_by=person)
            state = Step.HERE if took else Step.ASKED  # someone who took a shift is not asked again
            made = await store.open_one(
                session, role=role, person=person, began=began, ends=ends, due=began + minutes, state=state
            )
            if made is None or state is Step.HERE:
                continue
            text = (
                f"Your {role} shift starts now ({_hhmm(ctx, began, role)}–{_hhmm(ctx, ends, role)}). "
                "Are you on desk? "
                f"Without an answer in {ctx.checkin_minutes} min, cover is sought "
                "(your backup, then the staff channel)."
            )
            await _ask(ctx, session, person, text, made, now=now)
            log.info("check-in %d: %s asked for %s", made, person, role)
            await audit.record(
                session,
                actor="timer",
                action="checkin_asked",
                now=now,
                detail={"role": role, "person": person},
            )


async def _ask(
    ctx: Context, session: AsyncSession, person: str, text: str, checkin_id: int, *, now: datetime
) -> None:
    """Queue the check-in question on every desk that knows ``person`` (once per desk by its key)."""
    refs = {ref.desk: ref for ref in ctx.directory.refs((person,))}
    for desk in ctx.desks:
        ref = refs.get(desk)
        if ref is None and desk in ctx.directory.columns:
            continue  # a chat desk that does not know this person
        payload = CheckinPayload(
            user_id=ref.user_id if ref else person,
            display=ctx.directory.name(person),
            text=text,
            checkin=checkin_id,
        )
        await outbox.enqueue(
            session,
            kind=OutboxKind.CHECKIN,
            target=desk,
            mention_id=None,
            dedupe_key=dedupe_key(OutboxKind.CHECKIN, desk, None, checkin_id),
            now=now,
            payload=encode(payload),
        )
        ctx.wake(desk)


async def advance(ctx: Context, now: datetime) -> None:
    """Every check-in whose next step is due takes that step (once)."""
    async with ctx.db.transaction() as session:
        found = await store.due(session, now=now)
    for row in found:
        async with ctx.db.transaction() as session:
            if row.state is Step.ASKED:
                await _need_cover(ctx, session, row, now=now, from_=(Step.ASKED,), answer="")
            else:
                await _to_channel(ctx, session, row, now=now, from_=(Step.BACKUP,))


async def _need_cover(
    ctx: Context, session: AsyncSession, row: Checkin, *, now: datetime, from_: tuple[Step, ...], answer: str
) -> bool:
    """Ask the backup (or, with nobody there, the channel); False when another process moved it first."""
    backup, people = backups(ctx, row.role, row.person, now)
    if not people:
        return await _to_channel(ctx, session, row, now=now, from_=from_, answer=answer)
    values: dict[str, object] = {"due_at": now + timedelta(minutes=ctx.checkin_minutes)}
    if answer:
        values |= {"answer": answer, "answered_at": now}
    if not await store.move(session, row.id, from_=from_, to=Step.BACKUP, **values):
        return False
    name = ctx.directory.name(row.person)
    why = "asked for cover" if answer else "has not checked in"
    text = (
        f"{name} {why} for {row.role} (until {_hhmm(ctx, row.ends, row.role)}). "
        f"You are on {backup}: can you cover? "
        f"Take it with the rota command `take {row.id}`."
    )
    for person in people:
        await ctx.notify(session, person, text, now=now, key=f"checkin:{row.id}:backup:{person}")
    log.info("check-in %d: backup %s asked (%s)", row.id, backup, answer or "no answer")
    detail = {"role": row.role, "person": row.person, "to": list(people), "answer": answer or "none"}
    await audit.record(session, actor="timer", action="checkin_backup", now=now, detail=detail)
    return True


async def _to_channel(
    ctx: Context,
    session: AsyncSession,
    row: Checkin,
    *,
    now: datetime,
    from_: tuple[Step, ...],
    answer: str = "",
) -> bool:
    """Ask the staff channel for a volunteer and tell managers; False when another process moved it first."""
    values: dict[str, object] = {"due_at": row.ends}
    if answer:
        values |= {"answer": answer, "answered_at": now}
    if not await store.move(session, row.id, from_=from_, to=Step.CHANNEL, **values):
        return False
    log.info("check-in %d: the staff channel asked for a volunteer for %s", row.id, row.role)
    name = ctx.directory.name(row.person)
    until = _hhmm(ctx, row.ends, row.role)
    await ctx.announce(
        session,
        f"{row.role} needs cover until {until}: {name} is not on desk. "
        f"Anyone who works {row.role}: take it with the rota command `take {row.id}`.",
        now=now,
    )
    for manager in _managers(ctx):
        text = (
            f"{row.role} has nobody on desk until {until}: {name} is not there; the staff channel was asked."
        )

        await ctx.notify(session, manager, text, now=now, key=f"checkin:{row.id}:managers:{manager}")
    await audit.record(
        session,
        actor="timer",
        action="checkin_channel",
        now=now,
        detail={"role": row.role, "person": row.person},
    )
    return True


async def answer(ctx: Context, action: CheckIn) -> ActionResult:
    """ "I'm on desk" or "Need cover" from the person on the rota; anyone else is refused.

    Typed without a number, it answers every open check-in of the actor (two roles starting at once).
    """
    now = ctx.clock()
    me = ctx.directory.by_ref(action.actor)
    if me is None:
        return ActionResult(False, NOT_STAFF)
    async with ctx.db.transaction() as session:
        if action.checkin_id is not None:
            found = await store.get(session, action.checkin_id)
            rows = [found] if found is not None else []
        else:
            states = [Step.ASKED, *OPEN_GAP] if action.here else [Step.ASKED, Step.HERE, *OPEN_GAP]
            rows = await store.find(session, now=now, states=states, person=me.key)
        if not rows:
            return ActionResult(False, NONE_OPEN)
        results = [await _answer_one(ctx, session, row, me.key, here=action.here, now=now) for row in rows]
    ok = any(r.ok for r in results)
    return ActionResult(ok, " ".join(r.message for r in results), changed=any(r.changed for r in results))


async def _answer_one(
    ctx: Context, session: AsyncSession, row: Checkin, key: str, *, here: bool, now: datetime
) -> ActionResult:
    if row.person != key:
        return ActionResult(
            False,
            f"This check-in is {ctx.directory.name(row.person)}'s ({row.role}); only they can answer it.",
        )
    if row.ends <= now:
        return ActionResult(False, "That shift is over; there is nothing to answer.")
    if row.state is Step.FILLED:
        taker = ctx.directory.name(row.filled_by)
        return ActionResult(False, f"{taker} has taken the rest of this {row.role} shift.")
    if here:
        return await _here(ctx, session, row, now=now)
    if row.state in OPEN_GAP:
        return ActionResult(True, f"Cover is already being found for {row.role}.")
    if not await _need_cover(ctx, session, row, now=now, from_=(Step.ASKED, Step.HERE), answer="cover"):
        return ActionResult(False, "This check-in changed meanwhile; nothing was done.")
    return ActionResult(
        True, f"Noted: your backup or the staff channel is asked to cover {row.role}.", changed=True
    )


async def _here(ctx: Context, session: AsyncSession, row: Checkin, *, now: datetime) -> ActionResult:
    if row.state is Step.HERE:
        return ActionResult(True, "You are already checked in. Have a good shift.")
    if not await store.move(
        session, row.id, from_=(Step.ASKED, *OPEN_GAP), to=Step.HERE, answer="here", answered_at=now
    ):
        return ActionResult(False, "This check-in changed meanwhile; nothing was done.")
    await audit.record(
        session,
        actor=row.person,
        action="checkin_here",
        now=now,
        detail={"role": row.role, "late": row.state.value},
    )
    if row.state is Step.CHANNEL:  # the channel was asked: it hears the gap is closed
        name = ctx.directory.name(row.person)
        await ctx.announce(session, f"{row.role} is covered after all: {name} is on desk.", now=now)
    until = _hhmm(ctx, row.ends, row.role)
    return ActionResult(True, f"Thanks, you are checked in for {row.role} until {until}.", changed=True)


async def take(ctx: Context, actor: StaffRef, which: str) -> ActionResult:
    """`take [id|role]`: the actor covers the rest of an open shift (anyone who works that role)."""
    now = ctx.clock()
    me = ctx.directory.by_ref(actor)
    if me is None:
        return ActionResult(False, "You are not on the staff list, so you cannot take a shift.")
    async with ctx.db.transaction() as session:
        open_ = await store.find(session, now=now, states=OPEN_GAP)
    pick = [r for r in open_ if which in ("", str(r.id), r.role)]
    if not pick:
        return ActionResult(
            False, "No shift needs cover right now." if not which else f"No open shift matches {which!r}."
        )
    mine = [r for r in pick if r.person != me.key and qualified(ctx.rota, r.role, me.key)]
    if not mine:
        roles = ", ".join(sorted({r.role for r in pick}))
        return ActionResult(
            False, f"Only someone who works {roles} can take it; ask a manager to `cover` instead."
        )
    if len(mine) > 1:
        listed = "; ".join(f"`take {r.id}` ({r.role} for {ctx.directory.name(r.person)})" for r in mine)
        return ActionResult(False, f"Several shifts need cover; say which: {listed}.")
    return await _fill(ctx, mine[0], me.key, now=now)


async def _fill(ctx: Context, row: Checkin, key: str, *, now: datetime) -> ActionResult:
    zone = ctx.rota.zone_of(row.role)  # rota entries are wall-clock times in the role's branch zone
    start = now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    end = row.ends.astimezone(zone).replace(tzinfo=None)
    name, absent = ctx.directory.name(key), ctx.directory.name(row.person)
    until = _hhmm(ctx, row.ends, row.role)
    async with ctx.db.transaction() as session:
        await edit_lock(session)
        if not await store.move(session, row.id, from_=OPEN_GAP, to=Step.FILLED, filled_by=key):
            fresh = await store.get(session, row.id)
            who = ctx.directory.name(fresh.filled_by) if fresh and fresh.filled_by else "someone"
            return ActionResult(False, f"{who} took it first (or {absent} checked in); nothing changed.")
        rota = await load_rota(session, ctx.rota.zone, ctx.rota.places)
        holds = row.person in rota.on_duty(row.role, now)
        entry = add_override(
            session,
            role=row.role,
            person=key,
            start=start,
            end=end,
            kind=OverrideKind.REPLACE if holds else OverrideKind.ADD,
            replaces=row.person if holds else None,
        )
        await save(session)
        log.info("check-in %d: %s took %s (rota entry %d)", row.id, key, row.role, entry.id)
        detail = {"role": row.role, "instead_of": row.person, "entry": entry.id, "checkin": row.id}
        await audit.record(session, actor=key, action="rota_take", now=now, detail=detail)
        await ctx.reload_rota(session)
        await ctx.notify(session, row.person, f"{name} covers {row.role} for you until {until}.", now=now)
        for manager in (m for m in _managers(ctx) if m != key):
            text = f"{name} took {row.role} until {until} instead of {absent}."
            await ctx.notify(session, manager, text, now=now, key=f"checkin:{row.id}:filled:{manager}")
        await ctx.announce(
            session, f"{row.role} is covered: {name} until {until} (instead of {absent}).", now=now
        )
    return ActionResult(
        True, f"#{entry.id}: you cover {row.role} until {until} instead of {absent}. Thank you!", changed=True
    )
