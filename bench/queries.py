"""Queue, timer, report, retention and lookup queries on 1,000,000 stored mentions: p50/p99 of each.

Run: .venv/bin/python -m bench.queries [--url DATABASE_URL] [--keep PATH] [--count N] [--runs N]
     [--compare] [--plans] [--gc-freeze] [--only TEXT] [--generic-plans]
Defaults to a fresh SQLite file (kept at PATH with --keep and reused when it already holds N mentions);
a PostgreSQL URL runs in a throw-away schema (with --keep NAME, the schema bench_NAME, kept and
reused). Goal: each query <= 100 ms. A report is timed as `patron-desk report` computes it (from the
daily roll-up, after rolling up the 90 days once), beside the statement over every mention it used
before (direct SQL) and the plain read of the same rows; each timer selection runs 100 consecutive passes.
The fill spreads arrivals over two years across six sources and five roles; mentions older than a day
are mostly resolved or ignored, but some stay "replied" or "claimed" for good (nobody pressed Resolve),
and those finished more than a year ago are already purged, as the daily retention run leaves them.
--compare also times every query without the indexes of migration 0003 (dropped, then rebuilt).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Index, Table, create_engine, event, func, select, text, update

from bot.config import Settings
from bot.core import desk_queue
from bot.core.retention import purge
from bot.core.service import DeskService
from bot.core.timers import BATCH, Timers
from bot.domain import transitions
from bot.domain.transitions import Transition, allowed_from
from bot.models import DeskQuery, StaffRef, Status
from bot.platforms import source_platforms
from bot.reports.compute import build_report, direct_report
from bot.reports.rollup import refresh
from bot.reports.stats import local_bounds
from bot.rota.opening import parse_opening_hours
from bot.rota.rota import Rota, Shift
from bot.routing.rules import RuleSet, load_rules
from bot.store import mentions
from bot.store import reports as report_store
from bot.store.db import Database
from bot.store.mention_tables import CardRow, MentionRow
from bot.store.rota_repo import sync_roles, sync_staff

GOAL_MS = 100.0
NEW_INDEXES = ("ix_mentions_received_at", "ix_mentions_purge_due")  # migration 0003
ZONE = ZoneInfo("America/New_York")
HOURS = "mon-fri 09:00-20:00; sat 10:00-17:00"
RULES = """
default_role = "social-media"
[roles.social-media]
sla_minutes = 60
[roles.circulation]
sla_minutes = 30
backup = "social-media"
[roles.reference]
sla_minutes = 120
backup = "social-media"
[roles.tech]
sla_minutes = 45
backup = "circulation"
[roles.director]
sla_minutes = 240
[[rules]]
name = "renewals"
role = "circulation"
keywords = ["renew", "overdue", "fines"]
[[rules]]
name = "research"
role = "reference"
keywords = ["archives", "research"]
[[rules]]
name = "wifi"
role = "tech"
keywords = ["wifi", "printer", "login"]
[[rules]]
name = "complaints"
role = "director"
keywords = ["complaint", "manager"]
""" + "".join(
    f'[[staff]]\nkey = "s{n}"\nname = "Staff {n}"\nmanager = {str(n == 0).lower()}\n' for n in range(8)
)


def rules() -> RuleSet:
    """Five roles, four keyword rules and eight staff (the fill uses the same role and rule names)."""
    return load_rules(RULES, platforms=source_platforms())


def rota() -> Rota:
    """Two people per role every day."""
    every = frozenset(range(7))
    roles = sorted(rules().roles)
    shifts = [
        Shift(
            id=n + 1,
            role=role,
            person=f"s{n % 8}",
            days=every,
            start=datetime.min.time(),
            end=datetime.min.time(),
        )
        for n, role in enumerate(roles * 2)
    ]
    return Rota(zone=ZONE, shifts=tuple(shifts))


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


# --- the fill -----------------------------------------------------------------------------------

SOURCES = (("mastodon", 35), ("bluesky", 25), ("feeds", 15), ("slack", 10), ("matrix", 8), ("webhook", 7))
ROLES = (
    ("social-media", 40, "default"),
    ("circulation", 25, "renewals"),
    ("reference", 15, "research"),
    ("tech", 15, "wifi"),
    ("director", 5, "complaints"),
)
# status mix by age: (days younger than, [(status, share), ...]); the rest is resolved
MIX = (
    (
        1,
        [
            ("routed", 2),
            ("posted", 18),
            ("queued", 5),
            ("escalated", 3),
            ("claimed", 12),
            ("replied", 30),
            ("ignored", 5),
        ],
    ),
    (30, [("posted", 0.5), ("escalated", 0.5), ("claimed", 1), ("replied", 10), ("ignored", 16)]),
    (10**6, [("claimed", 0.2), ("replied", 5), ("ignored", 16.8)]),
)
TEXTS = (
    "Can I renew my books online? They are overdue and the app says I have fines.",
    "The wifi in the reading room keeps dropping, is there a printer I can use instead?",
    "Loved storytime this morning, thank you so much to the children's team!",
    "Where can I find the local history archives about the 1920s flood for my research?",
    "I want to make a complaint about the new opening hours, can I speak to a manager?",
)
SPAN = timedelta(days=730)
COLUMNS = (
    "id", "source", "external_id", "url", "author_id", "author_handle", "author_name", "text", "lang",
    "visibility", "content_warning", "can_reply", "reply_ref", "created_at", "received_at", "status", "role",
    "rule", "reason", "on_duty", "queued_until", "assignee", "claimed_at", "replied_at", "resolved_at",
    "reply_text", "reply_url", "replied_by", "note", "first_claimed_at", "first_replied_at",
    "escalation_level", "escalated_at", "reminded_at", "purged_at", "version",
)  # fmt: skip


def _pick(table: tuple[tuple[str, Any], ...] | list[tuple[str, float]], r: float) -> str:
    total = sum(float(t[1]) for t in table)
    for item in table:
        r -= float(item[1]) / total
        if r < 0:
            return str(item[0])
    return str(table[-1][0])


def external_id(n: int) -> tuple[str, str]:
    """The (source, platform id) of mention number ``n`` (0-based), shaped like each platform's ids."""
    source = _pick(SOURCES, ((n * 2654435761) % 1000) / 1000)
    ext = {
        "mastodon": f"{109_000_000_000_000_000 + n * 977}",
        "bluesky": f"at://did:plc:{n * 7919 % 10**12:024d}/app.bsky.feed.post/3k{n:011d}",
        "feeds": f"https://news.example.org/2024/item-{n}.html",
        "slack": f"C0COMMUNI1:{1_700_000_000 + n}.{n % 999_999:06d}",
        "matrix": f"${n:012d}QmFzZTY0LWxpa2UgZXZlbnQgaWQ",
        "webhook": f"form-{n:010d}",
    }[source]
    return source, ext


TAGS = ("question", "praise", "complaint", "event", "account", "spam")


def mention_row(n: int, count: int, now: datetime, rand: random.Random) -> dict[str, Any]:
    """Mention number ``n`` of ``count``, received in order over the two years before ``now``."""
    received = now - SPAN + (n + rand.random()) * (SPAN / count)
    age = (now - received).total_seconds() / 86400
    mix = next(mix for limit, mix in MIX if age < limit)
    status = _pick([*mix, ("resolved", 100 - sum(share for _, share in mix))], rand.random())
    source, ext = external_id(n)
    role = _pick(tuple((r[0], r[1]) for r in ROLES), rand.random())
    rule = next(r[2] for r in ROLES if r[0] == role)
    person = f"s{n % 8}"

    def later(start: datetime, mean_minutes: float) -> datetime:
        return min(now - timedelta(seconds=1), start + timedelta(minutes=rand.expovariate(1 / mean_minutes)))

    claimed = replied = resolved = purged = None
    if status in ("claimed", "replied") or (status == "resolved" and rand.random() < 0.85):
        claimed = later(received, 40)
    if claimed and (status == "replied" or (status == "resolved" and rand.random() < 0.8)):
        replied = later(claimed, 20)
    if status == "ignored" and rand.random() < 0.3:
        claimed = later(received, 40)
    if status in ("resolved", "ignored"):
        resolved = later(replied or claimed or received, 360)
        if resolved < now - timedelta(days=366):
            purged = resolved + timedelta(days=365, hours=rand.random() * 24)
    row = dict.fromkeys(COLUMNS)
    row.update(
        id=n + 1, source=source, external_id=ext, received_at=received, status=status, role=role, rule=rule,
        created_at=received - timedelta(seconds=rand.random() * 120), lang="en", visibility="public",
        can_reply=source != "feeds", reason=f"rule {rule}", on_duty=f"{person},s{(n + 1) % 8}",
        escalation_level=0, version=rand.randrange(1, 6), note="",
        claimed_at=claimed, first_claimed_at=claimed, replied_at=replied, first_replied_at=replied,
        resolved_at=resolved, purged_at=purged, assignee=person if claimed else None,
        replied_by=person if replied else None,
    )  # fmt: skip
    row.update(  # migration 0012: a tag or two on most, a READ level on most resolved ones
        staff_notes="",
        note_count=0,
        tags=",".join(sorted({TAGS[n % len(TAGS)], TAGS[(n // 7) % len(TAGS)]})) if n % 4 else "",
        read_level=1 + n % 6 if status == "resolved" and n % 3 else None,
        directional=(n % 5 == 0) if status == "resolved" and n % 3 else None,
    )
    if status == "queued":
        row["queued_until"] = now + timedelta(hours=rand.random() * 14)
    if status == "escalated":
        row.update(escalation_level=1, escalated_at=later(received, 60))
    if status == "claimed" and claimed and claimed < now - timedelta(hours=1):
        row["reminded_at"] = claimed + timedelta(hours=1)
    blank = purged is not None
    row.update(
        url=None if blank else f"https://social.example/@patron{n % 50_000}/{n}",
        author_id="" if blank else f"patron-{n % 50_000}",
        author_handle="" if blank else f"@patron{n % 50_000}@social.example",
        author_name="" if blank else f"Patron {n % 50_000}",
        text="" if blank else TEXTS[n % len(TEXTS)],
        content_warning="",
        reply_ref="" if blank else ext,
        reply_text=None
        if blank or not replied
        else "Thanks for asking! You can renew at the desk or online.",
        reply_url=None if blank or not replied else f"https://social.example/@library/{n}",
    )
    return row


def chunks(count: int, now: datetime, size: int = 20_000) -> Iterator[list[dict[str, Any]]]:
    rand = random.Random(7)
    for first in range(0, count, size):
        yield [mention_row(n, count, now, rand) for n in range(first, min(count, first + size))]


def card(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "mention_id": row["id"],
        "desk": "slack",
        "channel": "C0STAFF01",
        "message_id": f"{row['id']}.000200",
    }


async def stored(db: Database) -> tuple[int, datetime | None]:
    async with db.transaction() as session:
        count = (await session.execute(select(func.count()).select_from(MentionRow))).scalar_one()
        latest = (await session.execute(select(func.max(MentionRow.received_at)))).scalar_one()
    return int(count), latest


def fill_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def fill_sqlite(db: Database, *, count: int, schema: str = "") -> tuple[datetime, int, float]:
    """Executemany of Core inserts in chunks on the standard sqlite3 driver; (now, rows, seconds)."""
    have, latest = await stored(db)
    if have:
        if have != count or latest is None:
            raise SystemExit(f"the kept file holds {have:,} mentions, not {count:,}; remove it to refill")
        return latest + timedelta(minutes=1), have, 0.0
    now, started = fill_now(), time.perf_counter()
    engine = create_engine(db.engine.url.set(drivername="sqlite"), hide_parameters=True)
    mentions, cards = cast(Table, MentionRow.__table__), cast(Table, CardRow.__table__)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for rows in chunks(count, now):
            conn.execute(mentions.insert(), rows)
            conn.execute(cards.insert(), [card(r) for r in rows])
    engine.dispose()
    return now, count, time.perf_counter() - started


async def fill_postgresql(db: Database, *, count: int, schema: str) -> tuple[datetime, int, float]:
    """COPY in chunks through asyncpg, then the id sequence and statistics; (now, rows, seconds)."""
    have, latest = await stored(db)
    if have:
        if have != count or latest is None:
            raise SystemExit(f"the kept schema holds {have:,} mentions, not {count:,}; drop it to refill")
        return latest + timedelta(minutes=1), have, 0.0
    now, started = fill_now(), time.perf_counter()
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for rows in chunks(count, now):
            await raw.copy_records_to_table(
                "mentions",
                schema_name=schema,
                columns=COLUMNS,
                records=[tuple(r[c] for c in COLUMNS) for r in rows],
            )
            cards = [card(r) for r in rows]
            await raw.copy_records_to_table(
                "cards",
                schema_name=schema,
                columns=tuple(cards[0]),
                records=[tuple(c.values()) for c in cards],
            )
        await raw.execute("SELECT setval(pg_get_serial_sequence('mentions', 'id'), max(id)) FROM mentions")
        await raw.execute("VACUUM ANALYZE mentions")
        await raw.execute("VACUUM ANALYZE cards")
    return now, count, time.perf_counter() - started


class Bench:
    """The service over the filled database, and the named queries to time."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db = db
        self.now = now
        settings = Settings(RETENTION_DAYS=365)
        self.service = DeskService(
            db,
            rules=rules(),
            rota=rota(),
            desks=("slack",),
            clock=lambda: now,
            opening_hours=parse_opening_hours(HOURS),
        )
        self.timers = Timers(self.service, settings)
        self.max_id = 0
        self.seq = 0
        self.only = ""  # time only the queries whose label contains this

    async def start(self) -> None:
        async with self.db.transaction() as session:
            await sync_roles(session, self.service.rules)
            await sync_staff(session, self.service.rules.staff)
            self.max_id = int((await session.execute(select(func.max(MentionRow.id)))).scalar_one() or 0)
        await self.service.start()

    def queries(self) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
        """(label, coroutine factory) of every query the bench times."""
        out: list[tuple[str, Callable[[], Awaitable[object]]]] = [("/desk queue", self.queue)]
        out += [
            ("timers: queued", self.queued),
            ("timers: escalate", self.escalate),
            ("timers: remind", self.remind),
            ("timers: handover", self.handover),
            ("timers: wake snoozed", self.wake),
        ]
        for days in (7, 30, 90):
            out.append((f"report {days} d", partial(self.report, days)))
            out.append((f"  direct SQL {days} d", partial(self.direct, days)))
            out.append((f"  raw rows {days} d", partial(self.raw, days)))
            out.append((f"  tag/READ counts {days} d", partial(self.reference, days)))
        out.append(("report 30 d, 1 changed", self.changed))
        out += [
            ("retention dry run", partial(purge, self.service, days=365, dry_run=True)),
            ("mention by id", self.by_id),
            ("mention by source+ext id", self.by_external),
        ]
        return [(label, make) for label, make in out if self.only in label]

    # The timers' own selections, with the arguments Timers passes (bot/core/timers.py).

    async def queued(self) -> object:
        async with self.db.transaction() as session:
            return await mentions.queued_for_roles(session, sorted(self.service.rules.roles), limit=BATCH)

    async def escalate(self) -> object:
        due = self.now - timedelta(minutes=30)
        async with self.db.transaction() as session:
            return await mentions.due_for_escalation(
                session, allowed_from(Transition.ESCALATE), waiting_since=due, limit=BATCH
            )

    async def remind(self) -> object:
        async with self.db.transaction() as session:
            return await mentions.due_for_reminder(
                session, claimed_before=self.now - timedelta(minutes=60), limit=BATCH
            )

    async def wake(self) -> object:
        async with self.db.transaction() as session:
            return await mentions.due_to_wake(session, now=self.now, limit=BATCH)

    async def handover(self) -> object:
        self.seq += 1
        role = sorted(self.service.rules.roles)[self.seq % len(self.service.rules.roles)]
        async with self.db.transaction() as session:
            return await mentions.waiting_at_handover(
                session,
                transitions.OPEN | {Status.CLAIMED},
                role=role,
                arrived_before=self.now - timedelta(minutes=5),
                claimed_before=self.now - timedelta(minutes=60),
                limit=20,
            )

    async def queue(self) -> object:
        result = await desk_queue.queue(self.service.context, DeskQuery(actor=StaffRef("slack", "U0", "x")))
        assert result.ok
        return result

    def _window(self, days: int) -> tuple[date, date]:
        until = self.now.astimezone(ZONE).date()
        return until - timedelta(days=days - 1), until

    async def report(self, days: int) -> object:
        """The report as `patron-desk report` computes it (SQL)."""
        since, until = self._window(days)
        return await build_report(
            self.db, since=since, until=until, hours=self.service.opening_hours, zone=ZONE
        )

    async def direct(self, days: int) -> object:
        """The report computed from every mention of the period (the statement before the roll-up)."""
        since, until = self._window(days)
        return await direct_report(
            self.db, since=since, until=until, hours=self.service.opening_hours, zone=ZONE
        )

    async def changed(self) -> object:
        """A 30-day report after one of today's mentions changed (a tag edited): today is rolled up
        again before the report reads the roll-up."""
        self.seq += 1
        tags = "question" if self.seq % 2 else "praise"
        async with self.db.transaction() as session:
            await session.execute(update(MentionRow).where(MentionRow.id == self.max_id).values(tags=tags))
        return await self.report(30)

    async def raw(self, days: int) -> object:
        """The SQL that reads the same rows' facts, fetched as plain rows (the floor for a report
        that would compute in Python)."""
        start, after = local_bounds(*self._window(days), ZONE)
        async with self.db.transaction() as session:
            return await report_store.facts_between(session, start, after)

    async def reference(self, days: int) -> object:
        """The report's second statement alone: counts by tag, READ level and kind (migration 0012)."""
        start, after = local_bounds(*self._window(days), ZONE)
        async with self.db.transaction() as session:
            return await report_store.reference_rows(session, start, after)

    def _next_id(self) -> int:
        self.seq += 1
        return 1 + (self.seq * 7919) % self.max_id  # spread over the table, never the same page twice

    async def by_id(self) -> object:
        async with self.db.transaction() as session:
            row = await mentions.get(session, self._next_id())
        assert row is not None
        return row

    async def by_external(self) -> object:
        n = self._next_id() - 1
        source, ext = external_id(n)
        where = (MentionRow.source == source, MentionRow.external_id == ext)
        async with self.db.transaction() as session:
            return (await session.execute(select(MentionRow).where(*where))).scalar_one_or_none()


Result = tuple[float, float, int, int, str]  # p50 ms, p99 ms, rows, timed runs, note

TIMER_PASSES = 100


async def time_all(bench: Bench, runs: int, budget: float) -> dict[str, Result]:
    """p50 and p99 in ms of each query over ``runs`` runs after 3 warm-up runs (fewer, but at least
    5, when a query would take more than ``budget`` seconds in all); plus the rows it returned.
    A timer query runs 100 consecutive passes from its first (a prepared statement may switch to a
    generic plan at its sixth execution on PostgreSQL): p50/p99 over all 100, and the 1st, 6th and
    100th pass beside them."""
    results = {}
    for label, make in bench.queries():
        got: object = None
        gc.collect()
        timer = label.startswith("timers:")
        for _ in range(0 if timer else 3):
            got = await make()
        spent: list[float] = []
        wanted = TIMER_PASSES if timer else runs
        while len(spent) < wanted and (timer or len(spent) < 5 or sum(spent) < budget * 1000):
            started = time.perf_counter()
            got = await make()
            spent.append((time.perf_counter() - started) * 1000)
        note = f"#1 {spent[0]:.1f}, #6 {spent[5]:.1f}, #100 {spent[99]:.1f} ms" if timer else ""
        results[label] = (percentile(spent, 0.50), percentile(spent, 0.99), _size(got), len(spent), note)
    return results


def _size(got: object) -> int:
    if isinstance(got, list):
        return len(got)
    for attr in ("total", "mentions"):  # a Report, a PurgeResult
        if hasattr(got, attr):
            return int(getattr(got, attr))
    text = getattr(got, "message", None)
    if isinstance(text, str):  # the /desk reply: one line per listed mention
        return len(text.splitlines()) - 1
    return 0 if got is None else 1


async def plans(bench: Bench) -> None:
    """Print the query plan of every statement each query runs."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    target = bench.db.engine.sync_engine
    event.listen(target, "before_cursor_execute", grab)
    try:
        for label, make in bench.queries():
            captured.clear()
            await make()
            statements = [(s, p) for s, p in captured if s.lstrip().upper().startswith("SELECT")]
            print(f"-- {label}")
            for statement, parameters in statements:
                prefix = "EXPLAIN QUERY PLAN " if bench.db.is_sqlite else "EXPLAIN "
                async with bench.db.engine.connect() as conn:
                    lines = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
                for line in lines:
                    print("   ", line[-1])
    finally:
        event.remove(target, "before_cursor_execute", grab)


async def composition(db: Database) -> str:
    """How the stored mentions are spread over statuses, and how many are purged."""
    async with db.transaction() as session:
        by_status = select(MentionRow.status, func.count()).group_by(MentionRow.status)
        counts = (await session.execute(by_status.order_by(func.count().desc()))).all()
        purged = (
            await session.execute(select(func.count()).where(MentionRow.purged_at.is_not(None)))
        ).scalar_one()
    return ", ".join(f"{status} {count:,}" for status, count in counts) + f"; purged {purged:,}"


async def drop_new_indexes(db: Database) -> None:
    async with db.engine.begin() as conn:
        for name in NEW_INDEXES:
            await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


async def create_new_indexes(db: Database) -> float:
    """Rebuild the indexes of migration 0003 as the migration does; seconds taken."""
    started = time.perf_counter()
    mentions = cast(Table, MentionRow.__table__)
    indexes = [i for i in mentions.indexes if isinstance(i, Index) and i.name in NEW_INDEXES]
    async with db.engine.begin() as conn:
        for index in indexes:
            await conn.run_sync(partial(index.create, checkfirst=True))
        if not db.is_sqlite:
            await conn.exec_driver_sql("ANALYZE mentions")
    return time.perf_counter() - started


def table(title: str, results: dict[str, Result]) -> Iterator[str]:
    yield title
    yield f"  {'query':<26}{'rows':>9}{'runs':>6}{'p50 ms':>10}{'p99 ms':>10}  goal p99 <= {GOAL_MS:.0f} ms"
    for label, (p50, p99, size, runs, note) in results.items():
        if label.startswith("  raw"):
            verdict = "(the raw read, for comparison)"
        elif label.startswith("  "):
            verdict = "(the statement before the roll-up, for comparison)"
        else:
            verdict = "met" if p99 <= GOAL_MS else "MISSED"
        yield f"  {label:<26}{size:>9}{runs:>6}{p50:>10.1f}{p99:>10.1f}  {verdict} {note}".rstrip()
    yield "  (3 warm-up runs each, none for the timers; a report's rows are the mentions it counts)"


async def run(args: argparse.Namespace, url: str) -> None:
    schema = ""
    if url.startswith("postgres"):  # --keep NAME: the schema bench_NAME, kept and reused
        schema = f"bench_{args.keep.stem if args.keep else uuid.uuid4().hex[:8]}"
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await admin.aclose()
        settings = {"search_path": schema}
        if args.generic_plans:  # how the bot ran before: PostgreSQL's default plan cache mode
            settings["plan_cache_mode"] = "auto"
        db = Database(url, connect_args={"server_settings": settings})
    else:
        db = Database(url)
    try:
        await db.migrate()
        fill = fill_sqlite if db.is_sqlite else fill_postgresql
        now, filled, seconds = await fill(db, count=args.count, schema=schema)
        python = f"{platform.python_implementation()} {platform.python_version()}"
        async with db.engine.connect() as conn:
            version = (
                await conn.exec_driver_sql(
                    "select sqlite_version()" if db.is_sqlite else "show server_version"
                )
            ).scalar()
        print(f"backend: {db.engine.dialect.name} {version} ({python})")
        print(
            f"mentions: {filled:,}"
            + (f", filled in {seconds:.1f} s ({filled / seconds:,.0f} rows/s)" if seconds else " (reused)")
        )
        print("  " + await composition(db))
        bench = Bench(db, now)
        bench.only = args.only
        await bench.start()
        if any(label.startswith("report") for label, _ in bench.queries()):  # as the first report does
            started = time.perf_counter()
            since, until = bench._window(90)
            rolled = await refresh(db, hours=bench.service.opening_hours, zone=ZONE, since=since, until=until)
            print(f"roll-up: {rolled} days rolled up in {time.perf_counter() - started:.1f} s")
        if args.gc_freeze:  # what the bot would do after start-up if it froze its long-lived objects
            gc.collect()
            gc.freeze()
        if args.compare:
            await drop_new_indexes(db)
            if args.plans:
                await plans(bench)
            for line in table(
                "without the indexes of migration 0003:", await time_all(bench, args.runs, args.budget)
            ):
                print(line)
            rebuilt = await create_new_indexes(db)
            print(f"rebuilding the 0003 indexes on {filled:,} mentions took {rebuilt:.1f} s")
        if args.plans:
            await plans(bench)
        for line in table("with every migration applied:", await time_all(bench, args.runs, args.budget)):
            print(line)
    finally:
        await db.aclose()
        if schema and not args.keep:
            admin = Database(url)
            async with admin.engine.begin() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="a PostgreSQL URL (default: an SQLite file)")
    parser.add_argument("--keep", type=Path, help="SQLite file to keep and reuse between runs")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per query before fewer runs")
    parser.add_argument("--compare", action="store_true", help="also time without migration 0003")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after setting up")
    parser.add_argument("--plans", action="store_true", help="print each statement's query plan")
    parser.add_argument(
        "--generic-plans", action="store_true", help="PostgreSQL: plan_cache_mode=auto (the old default)"
    )
    parser.add_argument("--only", default="", help="time only the queries whose label contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{args.keep or Path(tmp) / 'queries.db'}"
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
