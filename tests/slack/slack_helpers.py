"""Shared helpers for the Slack tests: ids, a card builder, a fake service, running a desk."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.models import Claim, StaffAction, Status
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from bot.views import ActionResult, TicketView
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, SlackEmulator

STAFF, COMMUNITY, OTHER = "C0STAFF01", "C0COMMUNI1", "C0OTHER01"
ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"


def view(mention_id: int = 1, **changes: object) -> TicketView:
    """A card as the service would build it."""
    base = TicketView(
        mention_id=mention_id,
        source="mastodon",
        author_handle="@patron@example.social",
        author_name="Pat Ron",
        text="Can I renew my books online?",
        url="https://example.social/@patron/1",
        role="circulation",
        rule="renewals",
        reason="keyword renew",
        on_duty=("Alice",),
        status=Status.POSTED,
        created_at=datetime(2024, 5, 1, 12, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class FakeService:
    """Implements ``on_action`` like the real service's contract: one Claim wins, others are told."""

    actions: list[StaffAction] = field(default_factory=list)
    owner: dict[int, str] = field(default_factory=dict)
    delay: float = 0.0

    async def handle(self, action: StaffAction) -> ActionResult:
        self.actions.append(action)
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(action, Claim):
            winner = self.owner.setdefault(action.mention_id, action.actor.user_id)
            if winner != action.actor.user_id:
                return ActionResult(False, f"#{action.mention_id} is already claimed by <@{winner}> @here")
            return ActionResult(True, f"Claimed #{action.mention_id}.", changed=True)
        return ActionResult(True, f"{type(action).__name__} done.")


async def wait_for(predicate: Callable[[], object], within: float = 10.0) -> None:
    """Poll a condition (never a fixed sleep as synchronisation)."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


def make_client(emu: SlackEmulator, *, socket: bool = True, pace: float = 0.02) -> SlackClient:
    return SlackClient(
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN if socket else "",
        signing_secret="" if socket else SIGNING_SECRET,
        api_url=emu.api_url,
        pace=pace,
        timeout=5.0,
    )


@dataclass
class Served:
    desk: SlackDesk
    service: FakeService
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def serving(desk: SlackDesk, service: FakeService, emu: SlackEmulator) -> AsyncIterator[Served]:
    """Run ``desk.serve`` against ``service`` and wait for the Socket Mode connection."""
    task = asyncio.create_task(desk.serve(service.handle))
    try:
        await emu.connected()
        yield Served(desk, service, task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await desk.aclose()
