"""What the core tells a desk when staff act: the action callback and the generic failure answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.models import StaffAction
from bot.views import ActionResult

OnAction = Callable[[StaffAction], Awaitable[ActionResult]]

# What the actor is told when an action failed for a reason that is not theirs (the change was rolled back)
ACTION_FAILED = (
    "That did not work and nothing was changed; try again. If it keeps failing, tell the systems librarian."
)
