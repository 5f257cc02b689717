"""Waiting for a condition without depending on timing: poll it, with a generous deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(predicate: Callable[[], object], *, within: float = 10.0, step: float = 0.01) -> None:
    """Return once ``predicate()`` is true; fail with TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the condition lives in another task or process
            await asyncio.sleep(step)
