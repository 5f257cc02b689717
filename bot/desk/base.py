"""The interface every staff desk (Slack, Matrix, console) implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.models import ActionResult, CardRef, StaffAction, StaffRef, TicketView

OnAction = Callable[[StaffAction], Awaitable[ActionResult]]

# What the actor is told when an action failed for a reason that is not theirs (the change was rolled back)
ACTION_FAILED = (
    "That did not work and nothing was changed; try again. If it keeps failing, tell the systems librarian."
)


class StaffDesk(Protocol):
    """A chat surface where staff see cards and act on them.

    ``serve`` runs until cancelled, turning clicks, reactions and commands into ``StaffAction``s
    and answering the actor privately with the ``ActionResult``'s message. The outbox relay calls
    ``post_card``/``update_card``/``tell``; they raise ``TransientError`` (retried later, with the
    platform's ``retry_after`` when given) or ``PermanentError``.
    """

    desk: str

    async def serve(self, on_action: OnAction) -> None:
        """Receive staff actions until cancelled."""

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a new card. With ``retry`` set, first look for an earlier post carrying
        ``dedupe_key`` (an attempt that may have landed before a timeout or crash) and return it."""

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        """Edit the card in place."""

    async def tell(self, who: StaffRef, text: str) -> None:
        """Private feedback to one staff member (ephemeral on Slack, a thread notice on Matrix)."""

    async def aclose(self) -> None:
        """Release connections."""
