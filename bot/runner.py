"""What the CLI commands do, as async functions (kept out of `__main__` so tests can call them)."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from contextlib import AsyncExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.app import PatronDesk
from bot.config import Settings
from bot.core import quarantine
from bot.core.retention import PurgeResult, purge
from bot.core.service import DeskService
from bot.models import Mention, RotaCommand, StaffRef
from bot.rota.opening import parse_opening_hours
from bot.rota.rota import format_rota_csv
from bot.routing.router import route
from bot.setup import import_rota, load_rules_file, prepare_database, read_rota_file
from bot.store.db import Database
from bot.store.quarantine import Held
from bot.store.rota_repo import load_rota
from bot.store.staff_repo import ADMINISTRATOR, ensure_administrator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ADMIN = StaffRef("cli", ADMINISTRATOR, "administrator")  # one fixed row, found again on every use


def demo_settings(settings: Settings, *, feed_url: str, workdir: Path) -> Settings:
    """The demo: the example rules and rota, the demo feed, a throw-away database, the console desk."""
    return settings.model_copy(
        update={
            "FEEDS": (feed_url,),
            "FEED_BACKFILL": True,
            "FEED_POLL_SECONDS": 3.0,
            "RULES_FILE": EXAMPLES / "rules.toml",
            "ROTA_FILE": EXAMPLES / "rota.csv",
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
            "CONSOLE_DESK": "on",
            "OPENING_HOURS": settings.OPENING_HOURS or "mon-fri 09:00-19:00; sat 10:00-16:00",
        }
    )


async def run_forever(settings: Settings, *, demo: bool = False) -> None:
    """Run until SIGINT/SIGTERM (a failing part is restarted by the app's supervisor, not fatal)."""
    async with AsyncExitStack() as stack:
        if demo:
            from bot.demo import DemoFeedServer

            server = await stack.enter_async_context(DemoFeedServer())
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patron-desk-demo-")))
            settings = demo_settings(settings, feed_url=server.url, workdir=workdir)
        app = await stack.enter_async_context(PatronDesk(settings))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({stopping, app.main_task}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if app.main_task.done():
            app.main_task.result()


async def _offline_service(settings: Settings) -> tuple[Database, DeskService]:
    rules = load_rules_file(settings.RULES_FILE)
    db = Database(settings.DATABASE_URL)
    await db.migrate()
    rota = await prepare_database(db, rules, settings)
    service = DeskService(db, rules=rules, rota=rota, desks=())
    await service.start()
    return db, service


async def rota_command(settings: Settings, text: str) -> tuple[bool, str]:
    """Run one rota command as the administrator (the CLI user runs the server)."""
    db, service = await _offline_service(settings)
    try:
        async with db.transaction() as session:
            await ensure_administrator(session)
        result = await service.handle(RotaCommand(ADMIN, text, is_manager=True))
    finally:
        await db.aclose()
    return result.ok, "\n".join([result.message, *result.extra])


async def import_rota_file(settings: Settings, path: Path) -> int:
    """Add the shifts of a rota CSV."""
    rules = load_rules_file(settings.RULES_FILE)
    read_rota_file(path, rules)  # validate before touching the database
    db = Database(settings.DATABASE_URL)
    try:
        await db.migrate()
        await prepare_database(db, rules, settings.model_copy(update={"ROTA_FILE": None}))
        return await import_rota(db, path, rules)
    finally:
        await db.aclose()


async def export_rota(settings: Settings) -> str:
    """The weekly shifts as CSV."""
    db = Database(settings.DATABASE_URL)
    try:
        await db.migrate()
        async with db.transaction() as session:
            rota = await load_rota(session, settings.zone)
    finally:
        await db.aclose()
    return format_rota_csv(rota.shifts)


async def explain_route(
    settings: Settings, text: str, *, platform: str, at: datetime, author: str, lang: str | None
) -> str:
    """The routing decision for a made-up mention, explained."""
    db, service = await _offline_service(settings)
    await db.aclose()
    mention = Mention(
        source=platform, external_id="cli", text=text, created_at=at, author_handle=author, lang=lang
    )
    decision = route(mention, service.rules, service.rota, at)
    people = ", ".join(service.directory.name(k) for k in decision.on_duty) or "nobody"
    local = at.astimezone(settings.zone).strftime("%a %Y-%m-%d %H:%M %Z")
    return "\n".join(
        [
            f"at:      {local}",
            f"rule:    {decision.rule}",
            f"role:    {decision.role}",
            f"on duty: {people}",
            f"why:     {decision.reason}",
        ]
    )


async def check_setup(settings: Settings, *, connect: bool = False) -> tuple[list[str], bool]:
    """Settings, rules, rota and database checked; each configured part says where it would connect.

    With ``connect``, each configured source is opened and asked who it is logged in as.
    """
    lines = [f"settings: ok (time zone {settings.LIBRARY_TIMEZONE})"]
    rules = load_rules_file(settings.RULES_FILE)
    lines.append(f"rules: {len(rules.rules)} rules, roles {', '.join(sorted(rules.roles))}")
    if settings.ROTA_FILE:
        lines.append(
            f"rota file: {len(read_rota_file(settings.ROTA_FILE, rules))} shifts in {settings.ROTA_FILE}"
        )
    db = Database(settings.DATABASE_URL)
    ok = True
    try:
        await db.migrate()
        lines.append(f"database: ok ({db.engine.dialect.name})")
    except Exception as exc:
        lines.append(f"database: cannot open {db.engine.url.render_as_string(hide_password=True)}: {exc}")
        ok = False
    finally:
        await db.aclose()
    lines += _parts(settings)
    if connect:
        online, reachable = await _connect_sources(settings)
        lines += online
        ok = ok and reachable
    return lines, ok


async def _connect_sources(settings: Settings) -> tuple[list[str], bool]:
    from bot.errors import PatronDeskError
    from bot.platforms import REGISTRY
    from bot.platforms.base import AdapterDeps, Checks

    lines, ok = [], True
    for name, spec in REGISTRY.items():
        if spec.build_source is None:
            continue
        try:
            source: Any = spec.build_source(settings, AdapterDeps())
        except PatronDeskError as exc:
            lines.append(f"{name}: cannot start: {exc}")
            ok = False
            continue
        checks = source if isinstance(source, Checks) else None
        if checks is None:
            continue
        try:
            await source.open()
            lines.append(f"{name}: connected: {await checks.check()}")
        except PatronDeskError as exc:
            lines.append(f"{name}: cannot connect: {exc}")
            ok = False
        finally:
            await source.aclose()
    return lines, ok


def _parts(settings: Settings) -> list[str]:
    from bot.platforms import REGISTRY

    return [spec.describe(settings) for spec in REGISTRY.values()]


async def make_report(
    settings: Settings, *, since: date, until: date, csv_path: Path | None, chart_path: Path | None
) -> str:
    """The report text; the CSV pair and chart written when asked for."""
    from bot.reports.compute import build_report
    from bot.reports.output import report_chart, write_csv
    from bot.reports.stats import format_report

    hours = parse_opening_hours(settings.OPENING_HOURS)
    db = Database(settings.DATABASE_URL)
    try:
        await db.migrate()
        report = await build_report(db, since=since, until=until, hours=hours, zone=settings.zone)
    finally:
        await db.aclose()
    lines = [format_report(report)]
    if csv_path is not None:
        written = await asyncio.to_thread(write_csv, report, csv_path)
        lines.append("CSV written to " + " and ".join(str(p) for p in written))
    if chart_path is not None:
        await asyncio.to_thread(report_chart, report, chart_path)
        lines.append(f"Chart written to {chart_path}")
    return "\n".join(lines)


async def run_purge(settings: Settings, *, dry_run: bool) -> PurgeResult:
    """Purge (or count) mentions past retention. Cards are redacted by the running bot's outbox."""
    db, service = await _offline_service(settings)
    try:
        return await purge(service, days=settings.RETENTION_DAYS, dry_run=dry_run)
    finally:
        await db.aclose()


def _desks_of(settings: Settings) -> tuple[str, ...]:
    """The desks the running bot cards on, so an item retried from the CLI gets its cards too."""
    from bot.platforms import REGISTRY

    return tuple(name for name, spec in REGISTRY.items() if spec.desk_on(settings))


async def quarantine_list(settings: Settings) -> list[Held]:
    """Items set aside because they could not be stored."""
    db, service = await _offline_service(settings)
    try:
        return await quarantine.listing(service)
    finally:
        await db.aclose()


async def quarantine_retry(settings: Settings, ids: list[int] | None) -> list[tuple[int, str]]:
    """Ingest items again (all when ``ids`` is None); each id with "stored", "held" or "missing"."""
    db, service = await _offline_service(settings)
    service.desks = _desks_of(settings)
    service.auto_ack = settings.AUTO_ACK_TEXT
    service.opening_hours = parse_opening_hours(settings.OPENING_HOURS)
    try:
        chosen = await quarantine.all_ids(service) if ids is None else ids
        return [(row_id, await quarantine.retry(service, row_id)) for row_id in chosen]
    finally:
        await db.aclose()


async def quarantine_drop(settings: Settings, ids: list[int] | None) -> int:
    """Delete items (all when ``ids`` is None); how many were deleted."""
    db, service = await _offline_service(settings)
    try:
        chosen = await quarantine.all_ids(service) if ids is None else ids
        return await quarantine.drop(service, chosen)
    finally:
        await db.aclose()
