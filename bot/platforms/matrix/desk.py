"""The Matrix staff room as a desk: cards are formatted messages, reactions and !commands are the actions."""

from __future__ import annotations

import asyncio
import logging
import uuid

from bot.config import Settings
from bot.core.base import OnAction
from bot.errors import AdapterConfigError, PatronDeskError
from bot.models import StaffRef
from bot.platforms.base import AdapterDeps
from bot.platforms.matrix.card_events import CHECKIN_KEY, notice_content
from bot.platforms.matrix.card_posts import CardPosts
from bot.platforms.matrix.commands import CHECKIN_PRE_REACT
from bot.platforms.matrix.desk_events import DeskEvents
from bot.platforms.matrix.link import MatrixLink, link_for
from bot.platforms.matrix.roster import MatrixRoster
from bot.platforms.matrix.wire import txn_id

log = logging.getLogger(__name__)

DESK = "matrix"


class MatrixDesk(DeskEvents, CardPosts):
    """Cards in the staff room, driven by the shared sync loop.

    Args:
        link: the shared Matrix connection.
        manager_level: power level at or above which a member may edit the rota.
    """

    desk = DESK

    def __init__(self, link: MatrixLink, *, manager_level: int = 50, pre_react: bool = True) -> None:
        self.link = link
        self.manager_level = manager_level
        self.pre_react = pre_react
        self.roster = MatrixRoster(link, manager_level=manager_level)  # who is staff: bot/core/authz.py
        self.cards: dict[str, int] = {}  # card event id -> mention id (markers cover restarts)
        self.checkins: dict[str, int] = {}  # check-in question event id -> check-in number (markers too)
        self._background: set[asyncio.Task[None]] = set()
        link.desk_attached = True

    # --- receiving actions ------------------------------------------------------------------

    async def serve(self, on_action: OnAction) -> None:
        """Turn reactions and !commands in the staff room into staff actions until cancelled.

        Refused credentials turn the desk off (logged) instead of stopping the whole bot.
        """
        try:
            await self.link.open()
            async with asyncio.TaskGroup() as group:
                group.create_task(self.link.run_for_desk(), name="matrix-desk-sync")
                await self._drain(on_action)
        except* AdapterConfigError as refused:
            log.error("matrix desk is off: %s", refused.exceptions[0])

    async def _drain(self, on_action: OnAction) -> None:
        async for item in self.link.desk_events():
            try:
                await self.handle(item, on_action)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("matrix desk could not handle event %s", item.event.get("event_id"))

    # --- the outbox relay's calls (cards: CardPosts) ------------------------------------------

    async def announce(self, text: str) -> None:
        """A notice to the whole staff room (daily duty post, weekly report); pings nobody."""
        await self.link.send(
            self.link.staff_room, notice_content(text), txn=txn_id("announce", uuid.uuid4().hex)
        )

    async def tell(self, who: StaffRef, text: str) -> None:
        """A notice in the staff room that pings ``who`` (and nobody else)."""
        ping = who.user_id if who.desk == DESK else None
        content = notice_content(text, ping=ping)
        await self.link.send(self.link.staff_room, content, txn=txn_id("tell", uuid.uuid4().hex))

    async def ask_checkin(self, who: StaffRef, text: str, *, checkin_id: int, key: str) -> None:
        """The check-in question in the staff room, pinging ``who`` only, with ✅ and 🆘 to click."""
        ping = who.user_id if who.desk == DESK else None
        body = f"{text}\nReact ✅ if you are on desk or 🆘 if you need cover (or type !checkin / !needcover)."
        content = notice_content(body, ping=ping)
        content[CHECKIN_KEY] = checkin_id
        room = self.link.staff_room
        event_id = await self.link.send(room, content, txn=txn_id("checkin", key))
        self.checkins[event_id] = checkin_id
        for reaction in CHECKIN_PRE_REACT:  # best effort: the commands work without them
            relates = {"rel_type": "m.annotation", "event_id": event_id, "key": reaction}
            try:
                await self.link.send(
                    room,
                    {"m.relates_to": relates},
                    txn=txn_id("react", f"{event_id}:{reaction}"),
                    kind="m.reaction",
                )
            except PatronDeskError as exc:
                log.warning("could not pre-react on check-in %s (%s)", event_id, type(exc).__name__)
                return

    async def check(self) -> str:
        """Whether the bot can post in the staff room (``check --connect``; nothing is posted)."""
        from bot.platforms.matrix.reach import check_staff_room

        return await check_staff_room(self.link)

    async def aclose(self) -> None:
        """Stop pending reactions and close the shared connection."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.link.aclose()


def build(settings: Settings, deps: AdapterDeps) -> MatrixDesk | None:
    """The Matrix desk, when a homeserver and a staff room are configured."""
    if not settings.matrix_on or not settings.MATRIX_STAFF_ROOM:
        return None
    link = link_for(deps.clients.get("matrix"), settings)
    link.desk_rooms.update(deps.desk_channels.get("matrix", ()))  # roles' own rooms hold cards too
    return MatrixDesk(link, manager_level=settings.MATRIX_MANAGER_POWER_LEVEL)
