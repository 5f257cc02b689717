"""What the demo asks of a platform's stand-in: serve the platform's wire format on loopback, take a
patron's post, and say when the library published something."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Patron:
    """One scripted patron post: who, what, and how many seconds after the demo started."""

    name: str  # display name
    user: str  # a short user name; each stand-in makes its platform's handle of it
    text: str  # what they ask (the stand-in adds the platform's mention of the library)
    after: float


@dataclass(frozen=True, slots=True)
class Published:
    """A post the library's account made on a stand-in (a staff reply, published by the real adapter)."""

    platform: str  # the registry name of the stand-in's platform
    text: str  # the post's text as the platform shows it (HTML stripped)
    url: str
    in_reply_to: str  # the id or URI of the patron's post


OnPublish = Callable[[Published], None]


class StandIn(Protocol):
    """A loopback server that speaks one platform's API well enough for its real adapter.

    Attributes:
        platform: the registry name (``bot.platforms.REGISTRY``).
        origin: ``http://127.0.0.1:<port>`` once started.
        on_publish: called for every post the library's account makes.
    """

    platform: str
    on_publish: OnPublish | None

    @property
    def origin(self) -> str:
        """Where it listens."""

    async def start(self) -> Any:
        """Listen on a free loopback port."""

    async def close(self) -> None:
        """Stop."""

    def settings(self) -> dict[str, Any]:
        """Settings that point the platform's real adapter at this stand-in (fast polling, backfill)."""

    def post(self, patron: Patron) -> None:
        """The patron mentions the library now."""

    def timeline(self) -> list[Published]:
        """What the library's account has published, oldest first."""
