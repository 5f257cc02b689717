"""What the CLI commands do, as async functions (kept out of `__main__` so tests can call them)."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

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
from bot.routing.rules import RuleSet
from bot.setup import import_rota, load_rules_file, prepare_database, read_rota_file, rota_file_state
from bot.store.db import Database, migrate_apart, sqlite_file
from bot.store.quarantine import Held
from bot.store.rota_repo import load_rota, rota_is_empty
from bot.store.staff_repo import ADMINISTRATOR, ensure_administrator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ADMIN = StaffRef("cli", ADMINISTRATOR, "administrator")  # one fixed row, found again on every use


def demo_settings(settings: Settings, *, served: dict[str, Any], database_url: str) -> Settings:
    """The demo: the example rules and rota, the demo's feed and stand-ins, its database, the console desk."""
    return settings.model_copy(
        update={
            "FEED_BACKFILL": True,
            "FEED_POLL_SECONDS": 3.0,
            **served,
            "RULES_FILE": EXAMPLES / "rules.toml",
            "ROTA_FILE": EXAMPLES / "rota.csv",
            "DATABASE_URL": database_url,
            "CONSOLE_DESK": "on",
            "HTTP_PORT": 0,  # any free port: a second demo, or a bot already on 8080, is no clash
            "OPENING_HOURS": settings.OPENING_HOURS or "mon-fri 09:00-19:00; sat 10:00-16:00",
        }
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
        await prepare_database(db, rules, settings.model_copy(update={"ROTA_FILE": None}))
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


def branches_line(rules: RuleSet) -> str:
    """`branches: main (Europe/London: reference, social), ...; no branch: tech` for `check`."""
    parts = []
    for key, branch in sorted(rules.branches.items()):
        roles = ", ".join(sorted(r for r, spec in rules.roles.items() if spec.branch == key)) or "no roles"
        parts.append(f"{branch.label} [{key}] ({branch.zone}: {roles})")
    line = "branches: " + "; ".join(parts)
    others = sorted(r for r, spec in rules.roles.items() if not spec.branch)
    return line + (f"; no branch (LIBRARY_TIMEZONE, OPENING_HOURS): {', '.join(others)}" if others else "")


async def check_setup(settings: Settings, *, connect: bool = False) -> tuple[list[str], bool]:
    """Settings, rules, rota and database checked; each configured part says where it would connect.

    With ``connect``, each configured source is opened and asked who it is logged in as, and each
    chat desk whether it can post in its staff channel or room (nothing is posted).
    """
    lines = [f"settings: ok (time zone {settings.LIBRARY_TIMEZONE})"]
    rules = load_rules_file(settings.RULES_FILE)
    lines.append(f"rules: {len(rules.rules)} rules, roles {', '.join(sorted(rules.roles))}")
    if rules.branches:
        lines.append(branches_line(rules))
    if settings.ANSWERS_FILE:  # read and checked with the settings: an unknown variable stops before here
        names = settings.answers.names
        lines.append(f"saved answers: {len(names)} ({', '.join('/' + n for n in names[:12])})")
    if settings.ROTA_FILE:
        lines.append(
            f"rota file: {len(read_rota_file(settings.ROTA_FILE, rules))} shifts in {settings.ROTA_FILE}"
        )
    line, ok = await _check_database(settings.DATABASE_URL)
    lines.append(line)
    if settings.ROTA_FILE and line.startswith("database: warning"):
        lines.append("rota file vs database: the database has no rota yet; the file is imported at start")
    elif ok and settings.ROTA_FILE:
        db = Database(settings.DATABASE_URL)
        try:
            lines.append(await _rota_file_line(db, settings.ROTA_FILE, rules))
        finally:
            await db.aclose()
    lines += _parts(settings)
    lines += _idle_duty_groups(settings, rules)
    if connect:
        online, reachable = await _connect(settings)
        lines += online
        ok = ok and reachable
    return lines, ok


async def _check_database(url: str) -> tuple[str, bool]:
    """One line on the database; a missing SQLite file is reported (with its absolute path), not made."""
    file = sqlite_file(url)
    if file is not None and not file.exists():
        where = "its folder exists" if file.parent.is_dir() else "its folder does not exist either"
        return (
            f"database: warning: {file} does not exist yet; `run` would create it ({where}). "
            "If that is not where your data is, set DATABASE_URL to the right file.",
            file.parent.is_dir(),
        )
    db = Database(url)
    try:
        await db.migrate()
        where = f", {file}" if file else ""
        return f"database: ok ({db.engine.dialect.name}{where})", True
    except Exception as exc:
        return f"database: cannot open {db.engine.url.render_as_string(hide_password=True)}: {exc}", False
    finally:
        await db.aclose()


async def _rota_file_line(db: Database, path: Path, rules: RuleSet) -> str:
    """Whether the database's weekly rota matches ROTA_FILE."""
    async with db.transaction() as session:
        if await rota_is_empty(session):
            return "rota file vs database: the database has no rota yet; the file is imported at start"
        state, diff = await rota_file_state(session, path, rules)
    if diff.empty:
        return "rota file vs database: the same"
    edited = " (the file changed since it was imported)" if state == "changed" else ""
    return (
        f"rota file vs database: they differ{edited}: {len(diff.add)} shift(s) only in the file, "
        f"{len(diff.remove)} only in the database; `patron-desk rota import --replace {path}` applies it"
    )


async def _refuse(mention: Mention | None, cursor: str | None) -> bool:
    """`check --connect` stores nothing: a push source built for the check gets this ingest."""
    return False


async def _connect(settings: Settings) -> tuple[list[str], bool]:
    """Sign each configured source in and ask each desk whether it can post; nothing is posted."""
    from bot.errors import PatronDeskError
    from bot.platforms import REGISTRY
    from bot.platforms.base import AdapterDeps, Checks

    clients: dict[str, Any] = {}
    lines, ok = [], True
    try:
        for name, spec in REGISTRY.items():
            if spec.make_client is not None and spec.client_on(settings):
                made = spec.make_client(settings)
                client = await made if asyncio.iscoroutine(made) else made
                if client is not None:
                    clients[name] = client
        deps = AdapterDeps(ingest=_refuse, clients=clients)
        for name, spec in REGISTRY.items():
            parts = (
                ("", spec.source_enabled(settings), spec.build_source),
                (" desk", spec.desk_enabled(settings), spec.build_desk),
            )
            for part, enabled, build in parts:
                if enabled and build is not None and not spec.local:
                    line, fine = await _check_part(f"{name}{part}", build, settings, deps)
                    lines += [line] if line else []
                    ok = ok and fine
            client = clients.get(name)
            if not any(enabled for _, enabled, _ in parts) and isinstance(client, Checks):
                try:  # a client on its own (answering by mail without a mailbox to read)
                    lines.append(f"{name}: connected: {await client.check()}")
                except PatronDeskError as exc:
                    lines.append(f"{name}: cannot connect: {exc}")
                    ok = False
    finally:
        for client in clients.values():
            await client.aclose()
    return lines, ok


async def _check_part(label: str, build: Any, settings: Settings, deps: Any) -> tuple[str | None, bool]:
    """Build one part and run its ``check()`` (which signs in itself); None when it has no check."""
    from bot.errors import PatronDeskError
    from bot.platforms.base import Checks

    try:
        part: Any = build(settings, deps)
    except PatronDeskError as exc:
        return f"{label}: cannot start: {exc}", False
    if not isinstance(part, Checks):
        return None, True
    part = cast(Any, part)
    try:
        return f"{label}: connected: {await part.check()}", True
    except PatronDeskError as exc:
        return f"{label}: cannot connect: {exc}", False
    finally:
        await part.aclose()


def _idle_duty_groups(settings: Settings, rules: RuleSet) -> list[str]:
    """A warning per chat whose user groups the rules file names while its desk is off (they would
    silently never follow the rota)."""
    from bot.platforms import REGISTRY

    lines = []
    for spec in REGISTRY.values():
        field = spec.duty_group_field
        if field is None or spec.desk_on(settings):
            continue
        roles = sorted(r for r, role in rules.roles.items() if getattr(role, field, ""))
        if roles:
            lines.append(
                f"rules: warning: {'role' if len(roles) == 1 else 'roles'} {', '.join(roles)} "
                f"set{'s' if len(roles) == 1 else ''} {field} but no "
                f"{spec.display} desk is configured, so no group follows the rota; "
                f"set {spec.settings_keys[0]} (and the staff channel) or remove {field}"
            )
    return lines


def _parts(settings: Settings) -> list[str]:
    from bot.platforms import REGISTRY

    return [spec.describe(settings) for spec in REGISTRY.values()]


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
