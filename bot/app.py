"""Composition root: builds the store, rules, rota, adapters, desks and service; supervises them as parts.

Lifecycle: open (migrate, load, connect) → run (one named part per source, desk, relay target, timers)
→ close in the reverse order. Nothing else constructs SDK clients or reads settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bot.app_parts import AppParts
from bot.backoff import Backoff
from bot.config import Settings
from bot.core.answers_file import AnswersFile
from bot.core.authz import Gate
from bot.core.relay import Relay
from bot.core.rota_feed import Feeds
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.errors import AdapterConfigError, TransientError
from bot.metrics import Health
from bot.platforms import REGISTRY, default_reply_limits
from bot.platforms.base import AdapterDeps, PlatformSpec, ReplyLimits
from bot.platforms.capabilities import Mailer, ReplyValidator, SourceAdapter, StaffDesk
from bot.rota.opening import parse_opening_hours
from bot.routing.rules import RuleSet
from bot.setting_checks import read_answers
from bot.setup import load_rules_file, prepare_database
from bot.store import outbox
from bot.store.db import Database

log = logging.getLogger(__name__)


class PatronDesk(AppParts):
    """The running bot. ``async with PatronDesk(settings) as app:`` starts it; leaving stops it.

    Args:
        settings: validated settings.
        clock: aware "now"; injectable for tests.
        sources, desks: use these instead of building them from settings (tests, demo).
        restart_policy, restart_sleep: the backoff and wait between restarts of a failed part.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sources: Sequence[SourceAdapter] | None = None,
        desks: Sequence[StaffDesk] | None = None,
        restart_policy: Backoff | None = None,
        restart_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self._given_sources = sources
        self._given_desks = desks
        self._restart_policy = restart_policy
        self._restart_sleep = restart_sleep
        self.db = Database(settings.DATABASE_URL)
        self.sources: dict[str, SourceAdapter] = {}
        self.desks: dict[str, StaffDesk] = {}
        self.clients: dict[str, Any] = {}
        self.http_port = 0
        self.ready = asyncio.Event()
        self.health = Health()
        self._runner: Any = None
        self._main: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PatronDesk:
        await self.open()
        self._main = asyncio.create_task(self._run(), name="patron-desk")
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait({self._main, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._main.done():  # failed while starting: surface the error
            await self.aclose()
            self._main.result()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def main_task(self) -> asyncio.Task[None]:
        """The task running every part; a failed part is restarted, so this ends only by cancellation."""
        assert self._main is not None, "not started"
        return self._main

    @property
    def service(self) -> DeskService:
        """The use cases."""
        return self._service

    async def open(self) -> None:
        """Migrate, load rules and rota, build and open every configured adapter and desk."""
        rules = load_rules_file(self.settings.RULES_FILE)
        await self.db.migrate()
        rota = await prepare_database(self.db, rules, self.settings)
        if self.db.is_sqlite:
            async with self.db.transaction() as session:
                await outbox.clear_leases(session)
        self.relay: Relay
        self._service = DeskService(
            self.db,
            rules=rules,
            rota=rota,
            desks=(),
            clock=self.clock,
            wake=self._wake,
            auto_ack=self.settings.AUTO_ACK_TEXT,
            fold_at=self.settings.FEED_BURST_FOLD,
            opening_hours=parse_opening_hours(self.settings.OPENING_HOURS),
        )
        self.timers = Timers(self._service, self.settings)
        self._service.public_url = self.settings.PUBLIC_URL
        self._service.card_history = self.settings.CARD_HISTORY
        if self.settings.ANSWERS_FILE:  # read again when edited; a bad edit keeps the last good answers
            self._service.answers_file = AnswersFile(self.settings.ANSWERS_FILE, read_answers)
        self._service.checkin_minutes = self.settings.CHECKIN_MINUTES
        self._service.guard = self.settings.guard
        self.feeds = Feeds(self._service.context, public_url=self.settings.PUBLIC_URL)
        await self._service.start()
        self.reply_limits = ReplyLimits(default_reply_limits())
        await self._build_clients()
        deps = AdapterDeps(
            clients=self.clients,
            on_change=self._service.take_change,
            desk_channels=_desk_channels(rules),
            reply_limits=self.reply_limits,
            announce=self.announce,
            mailer=next((c for c in self.clients.values() if isinstance(c, Mailer)), None),
        )
        self.desks = {d.desk: d for d in (self._given_desks or self._build(deps, desk=True))}
        self.gate = Gate(rules.staff)  # every desk's actions pass it (DESIGN.md §6.10)
        for desk in self.desks.values():
            roster = getattr(desk, "roster", None)
            if roster is not None:
                self.gate.add(roster)
        self._service.desks = tuple(self.desks)
        sources = self._given_sources or self._build(deps, desk=False)
        for source in sources:
            try:
                await source.open()
            except AdapterConfigError as exc:
                log.error("source %s is off: %s", source.source, exc)
                self.health.set(f"source:{source.source}", "off: settings refused")
                continue
            except TransientError:
                log.warning("source %s could not connect yet; will retry", source.source)
            name = source.source
            self.sources[name] = source
            if isinstance(source, ReplyValidator):
                self._service.validators[name] = source.validate_reply
                self.reply_limits.add(name, source)
        self.relay = Relay(
            self._service,
            desks=self.desks,
            sources=self.sources,
            retry_after_cap=self.settings.RETRY_AFTER_CAP,
        )

    def _wake(self, target: str) -> None:
        """New outbox work for ``target``; before the relay exists (sources opening) it finds it at start."""
        relay = getattr(self, "relay", None)
        if relay is not None:
            relay.wake(target)

    async def announce(self, text: str) -> None:
        """Post a notice to every desk's staff channel (through the outbox, so it is never lost)."""
        async with self.db.transaction() as session:
            await self._service.announce(session, text, now=self.clock())

    async def _build_clients(self) -> None:
        """One client per platform that wants one, shared by its source and desk."""
        for name, spec in REGISTRY.items():
            if spec.make_client is not None and spec.client_on(self.settings) and name not in self.clients:
                client = spec.make_client(self.settings)
                self.clients[name] = await client if asyncio.iscoroutine(client) else client

    def _build(self, deps: AdapterDeps, *, desk: bool) -> list[Any]:
        built = []
        for name, spec in REGISTRY.items():
            build = _builder(spec, self.settings, desk=desk)
            if build is None:
                continue
            own = deps if desk else replace(deps, ingest=self._service.ingest_for(name))
            try:
                thing = build(self.settings, own)
            except AdapterConfigError as exc:
                log.error("%s is off: %s", name, exc)
                continue
            if thing is not None:
                built.append(thing)
        return built

    async def wait_idle(self, within: float = 10.0) -> None:
        """Wait until the outbox has nothing pending (tests and the demo)."""
        async with asyncio.timeout(within):
            while True:
                async with self.db.transaction() as session:
                    if await outbox.depth(session) == 0:
                        return
                await asyncio.sleep(0.02)

    async def aclose(self) -> None:
        """Stop tasks, then close desks, sources, clients and the database (reverse of start).

        In-flight work finishes first: the relay completes the attempt it is making, and running
        transactions commit, before the tasks are cancelled.
        """
        if hasattr(self, "relay"):
            await self.relay.stop()
        await self.db.quiesce()
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        if self._runner is not None:
            await self._runner.cleanup()
        for part in (*self.desks.values(), *self.sources.values(), *self.clients.values()):
            closer = getattr(part, "aclose", None) or getattr(part, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    result = closer()
                    if asyncio.iscoroutine(result):
                        await result
        await self.db.aclose()


def _desk_channels(rules: RuleSet) -> dict[str, tuple[str, ...]]:
    """The channels and rooms roles use for their own cards, per desk."""
    roles = rules.roles.values()
    return {
        name: tuple(sorted({where for role in roles if (where := spec.role_channel(role))}))
        for name, spec in REGISTRY.items()
        if spec.role_channel_column is not None
    }


def _builder(spec: PlatformSpec, settings: Settings, *, desk: bool) -> Any:
    """The spec's desk or source factory when settings ask for that part, else None."""
    if desk:
        return spec.build_desk if spec.desk_enabled(settings) else None
    return spec.build_source if spec.source_enabled(settings) else None
