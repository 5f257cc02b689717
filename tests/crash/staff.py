"""Staff at work in the emulated Slack: Claim clicks (races included) and replies through the modal.

Every interaction goes over the bot's Socket Mode connection. A click the bot never answers because
it was killed is given up (a person would click again; the matrix counts what the bot did with it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.platforms.slack.buttons import CLAIM, REPLY
from bot.platforms.slack.reply_draft import TEXT_BLOCK
from tests.fakes import slack_payloads
from tests.fakes.slack import SlackEmulator

from .observe import cards_for
from .process import BotProcess, Child
from .scenario import STAFF, Step

STAFF_CHANNEL = "C0STAFF01"
ANSWER_WAIT = 15.0  # seconds for the bot's ack or ephemeral answer (a killed bot is noticed at once)
CARD_WAIT = 60.0  # seconds for a card or a connection (a crash, a restart and Slack's pace come first)


class Staff:
    """Carries out a scenario's steps one after another, each on the card of its mention."""

    def __init__(self, emu: SlackEmulator, bot: BotProcess, tokens: tuple[str, ...]) -> None:
        self.emu = emu
        self.bot = bot
        self.tokens = tokens
        self.answered = 0  # steps the bot acted on and answered
        self.given_up = 0  # steps lost to a crash (or with nothing to press any more)
        self.working_on = -1  # the mention of the step under way
        self.finished = asyncio.Event()

    def past(self, mention: int) -> bool:
        """Every step on ``mention`` is done (the steps go in mention order)."""
        return self.finished.is_set() or self.working_on > mention

    async def run(self, steps: tuple[Step, ...]) -> None:
        try:
            await self._run(steps)
        finally:
            self.finished.set()

    async def _run(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self.working_on = step.mention
            await asyncio.sleep(step.pause)  # a person's pace, not synchronisation
            ok = False
            token = self.tokens[step.mention]
            found = await _until(lambda: cards_for(self._channel(), token), CARD_WAIT)  # noqa: B023
            if found and await _until(self._connected, CARD_WAIT):
                act = self._claim if step.kind == "claim" else self._reply
                ok = await act(step, found[0]["ts"])
            self.answered += ok
            self.given_up += not ok

    def _channel(self) -> list[dict[str, Any]]:
        return self.emu.top_level(STAFF_CHANNEL)

    def _connected(self) -> bool:
        """The newest child runs and holds a Socket Mode connection."""
        started = len(self.bot.children)
        return self.bot.current.alive and self.emu.connections >= started and bool(self.emu.sockets)

    async def _claim(self, step: Step, ts: str) -> bool:
        try:  # every rival presses the same button of the same card at once
            payloads = [self.emu.click_payload(STAFF[u], STAFF_CHANNEL, ts, CLAIM) for u in step.users]
        except LookupError:
            return False  # claimed already (by a step before a restart): nothing to press
        pairs = zip(step.users, payloads, strict=True)
        answers = await asyncio.gather(*(self._answered(STAFF[user], payload) for user, payload in pairs))
        return all(answers)

    async def _reply(self, step: Step, ts: str) -> bool:
        user, child = STAFF[step.users[0]], self.bot.current
        before = set(self.emu.views)
        try:
            payload = self.emu.click_payload(user, STAFF_CHANNEL, ts, REPLY)
        except LookupError:
            return False
        if await self._ack(payload) is None:
            return False
        opened = await _until(lambda: set(self.emu.views) - before, ANSWER_WAIT, watch=child)
        if not opened:
            return False
        editor = self.emu.views[sorted(opened)[0]]
        values = {TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": step.text}}}
        ack = await self._ack(_submission(user, editor, values), accepts=True)
        pushed = ((ack or {}).get("payload") or {}).get("view")
        if not pushed:
            return False
        preview = self.emu.store_view(pushed, root=editor["id"])
        return await self._answered(user, _submission(user, preview, {}), accepts=True)

    async def _answered(self, user: str, payload: dict[str, Any], *, accepts: bool = False) -> bool:
        """Send, then wait for the ephemeral answer the bot gives every action (or for its death)."""
        child = self.bot.current
        seen = self._told(user)
        if await self._ack(payload, accepts=accepts) is None:
            return False
        return bool(await _until(lambda: self._told(user) > seen, ANSWER_WAIT, watch=child))

    def _told(self, user: str) -> int:
        return sum(1 for e in self.emu.ephemerals if e["user"] == user)

    async def _ack(self, payload: dict[str, Any], *, accepts: bool = False) -> dict[str, Any] | None:
        """Deliver one interaction; None when the bot died (or its socket went) before acking it."""
        child = self.bot.current
        if not child.alive or not self.emu.sockets:
            return None
        try:
            waiter = await self.emu.deliver("interactive", payload, accepts_response_payload=accepts)
        except (ConnectionError, RuntimeError, IndexError):
            return None
        racers: set[asyncio.Future[Any]] = {waiter, child.exited}
        done, _ = await asyncio.wait(racers, timeout=ANSWER_WAIT, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            return waiter.result()
        waiter.cancel()
        return None


async def _until(check: Callable[[], Any], within: float, *, watch: Child | None = None) -> Any:
    """``check()``'s first truthy value; None after ``within`` seconds, or once ``watch`` has died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        value = check()
        if value:
            return value
        if watch is not None and not watch.alive:
            return None
        await asyncio.sleep(0.05)
    return None


def _submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return slack_payloads.view_submission(user=user, view=view, values=values)
