"""What the CLI commands do, as async functions (kept out of `__main__` so tests can call them)."""

from __future__ import annotations

import asyncio
import signal
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
from bot.rota.diff import RotaDiff
from bot.rota.opening import parse_opening_hours
from bot.rota.rota import format_rota_csv
from bot.routing.router import route
from bot.setup import import_rota, load_rules_file, prepare_database, read_rota_file
from bot.store.db import Database, migrate_apart
from bot.store.quarantine import Held
from bot.store.rota_repo import load_rota
from bot.store.staff_repo import ADMINISTRATOR, ensure_administrator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ADMIN = StaffRef("cli", ADMINISTRATOR, "administrator")  # one fixed row, found again on every use


def demo_settings(settings: Settings, *, served: dict[str, Any], database_url: str) -> Settings:
    """The demo: the example rules and rota, the demo's feed and stand-ins, its database, the console desk."""
    return settings.replace(
        FEED_BACKFILL=True,
        FEED_POLL_SECONDS=3.0,
        **served,
        RULES_FILE=EXAMPLES / "rules.toml",
        ROTA_FILE=EXAMPLES / "rota.csv",
        DATABASE_URL=database_url,
        CONSOLE_DESK="on",
        HTTP_PORT=0,  # any free port: a second demo, or a bot already on 8080, is no clash
        OPENING_HOURS=settings.OPENING_HOURS or "mon-fri 09:00-19:00; sat 10:00-16:00",
    )


async def run_forever(settings: Settings, *, demo: bool = False) -> None:
    """Run until SIGINT/SIGTERM (a failing part is restarted by the app's supervisor, not fatal)."""
    async with AsyncExitStack() as stack:
        if demo:
            settings = await _start_demo(stack, settings)
        await migrate_apart(settings.DATABASE_URL)  # Alembic stays out of the long-running process
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


async def _start_demo(stack: AsyncExitStack, settings: Settings) -> Settings:
    """Serve the demo's world, start its database afresh and say what runs where."""
    from bot.demo.banner import banner, farewell
    from bot.demo.paths import demo_paths, fresh_database
    from bot.demo.world import DemoWorld

    paths = demo_paths()
    fresh_database(paths)
    today = datetime.now(settings.zone).date()
    stack.callback(lambda: print("\n" + farewell(paths, since=today), flush=True))
    world = await stack.enter_async_context(DemoWorld())
    print(banner(world.lines(), paths, since=today), flush=True)
    return demo_settings(settings, served=world.settings(), database_url=paths.database_url)


async def _offline_service(settings: Settings) -> tuple[Database, DeskService]:
    rules = load_rules_file(settings.RULES_FILE)
    db = Database(settings.DATABASE_URL)
    await db.migrate()
    rota = await prepare_database(db, rules, settings)
    hours = parse_opening_hours(settings.OPENING_HOURS)
    service = DeskService(db, rules=rules, rota=rota, desks=(), opening_hours=hours)
    await service.start()
    return db, service


async def rota_command(settings: Settings, text: str) -> tuple[bool, str]:
    """Run one rota command as the administrator (the CLI user runs the server)."""
    db, service = await _offline_service(settings)
    try:
        async with db.transaction() as session:
            await ensure_administrator(session)
        if settings.LIBCAL_HOURS_URL and text.split()[:1] == ["gaps"]:
            from bot.core.rota_sync import HoursRefresher

            libcal = HoursRefresher(
                service,
                url=settings.LIBCAL_HOURS_URL,
                location=settings.LIBCAL_LOCATION,
                weekly=service.opening_hours,
            )
            await libcal.refresh_once()  # on failure OPENING_HOURS stands
        if text.split()[:1] == ["gaps"]:
            from bot.core.rota_sync import branch_refreshers

            for refresher in branch_refreshers(service):
                await refresher.refresh_once()  # on failure the branch's opening_hours stand
        result = await service.handle(RotaCommand(ADMIN, text, is_manager=True))
    finally:
        await db.aclose()
    return result.ok, "\n".join([result.message, *result.extra])


async def import_rota_file(
    settings: Settings, path: Path, *, replace: bool = False, dry_run: bool = False, remember: bool = False
) -> tuple[RotaDiff, str]:
    """Add the shifts of a rota CSV (``replace``: make the weekly rota exactly the file), in one
    transaction; the change and its description (``dry_run``: only the description; ``remember``:
    the file is ROTA_FILE, so its hash is kept to notice later edits)."""
    rules = load_rules_file(settings.RULES_FILE)
    read_rota_file(path, rules)  # validate before touching the database
    db = Database(settings.DATABASE_URL)
    try:
        await db.migrate()
        await prepare_database(db, rules, settings.replace(ROTA_FILE=None))
        return await import_rota(db, path, rules, replace=replace, dry_run=dry_run, remember=remember)
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
    local = at.astimezone(service.rota.zone_of(decision.role)).strftime("%a %Y-%m-%d %H:%M %Z")
    branch = service.rules.branch_of(decision.role)
    return "\n".join(
        [
            f"at:      {local}" + (f" ({branch.label})" if branch else ""),
            f"rule:    {decision.rule}",
            f"role:    {decision.role}",
            f"on duty: {people}",
            f"why:     {decision.reason}",
        ]
    )


async def make_report(
    settings: Settings,
    *,
    since: date,
    until: date,
    csv_path: Path | None,
    chart_path: Path | None,
    branch: str | None = None,
) -> str:
    """The report text (of one branch when ``branch`` is given; with branches, a line per branch
    follows); the CSV pair and chart written when asked for."""
    from bot.reports.branches import branch_report, per_branch_lines, pick_branch
    from bot.reports.compute import build_report
    from bot.reports.output import report_chart, write_csv
    from bot.reports.stats import format_report

    hours = parse_opening_hours(settings.OPENING_HOURS)
    rules = load_rules_file(settings.RULES_FILE)
    place = pick_branch(rules, branch) if branch is not None else None
    db = Database(settings.DATABASE_URL)
    try:
        await db.migrate()
        if place is not None:
            report = await branch_report(db, rules, place, since=since, until=until)
            extra = [f"branch: {place.label} (days and opening hours in {place.zone})"]
        else:
            report = await build_report(db, since=since, until=until, hours=hours, zone=settings.zone)
            extra = await per_branch_lines(
                db, rules, since=since, until=until, hours=hours, zone=settings.zone
            )
    finally:
        await db.aclose()
    lines = [format_report(report), *extra]
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
        return await quarantine.listing(service.context)
    finally:
        await db.aclose()


async def quarantine_retry(settings: Settings, ids: list[int] | None) -> list[tuple[int, str]]:
    """Ingest items again (all when ``ids`` is None); each id with "stored", "held" or "missing"."""
    db, service = await _offline_service(settings)
    service.desks = _desks_of(settings)
    service.auto_ack = settings.AUTO_ACK_TEXT
    service.opening_hours = parse_opening_hours(settings.OPENING_HOURS)
    try:
        ctx = service.context
        chosen = await quarantine.all_ids(ctx) if ids is None else ids
        return [(row_id, await quarantine.retry(ctx, row_id, store_again=service.store)) for row_id in chosen]
    finally:
        await db.aclose()


async def quarantine_drop(settings: Settings, ids: list[int] | None) -> int:
    """Delete items (all when ``ids`` is None); how many were deleted."""
    db, service = await _offline_service(settings)
    try:
        chosen = await quarantine.all_ids(service.context) if ids is None else ids
        return await quarantine.drop(service.context, chosen)
    finally:
        await db.aclose()
