"""Fixtures for the Slack tests: the loopback emulator, a shared client, a desk with a fake service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from tests.fakes.slack import SlackEmulator
from tests.slack.slack_helpers import (
    ALICE,
    BOB,
    CAROL,
    COMMUNITY,
    OTHER,
    STAFF,
    FakeService,
    Served,
    make_client,
    serving,
)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    emulator = await SlackEmulator().start()
    for channel in (STAFF, COMMUNITY, OTHER):
        emulator.add_channel(channel)
    emulator.add_user(ALICE, "alice", "Alice Archer")
    emulator.add_user(BOB, "bob", "Bob Binder")
    emulator.add_user(CAROL, "carol", "Carol Cataloguer")
    try:
        yield emulator
    finally:
        await emulator.close()


@pytest.fixture
async def client(emu: SlackEmulator) -> AsyncIterator[SlackClient]:
    shared = make_client(emu)
    try:
        yield shared
    finally:
        await shared.aclose()


@pytest.fixture
async def served(client: SlackClient, emu: SlackEmulator) -> AsyncIterator[Served]:
    desk = SlackDesk(client, staff_channel=STAFF, managers=(ALICE,), manager_group="S0MANAGERS")
    emu.usergroups["S0MANAGERS"] = [CAROL]
    async with serving(desk, FakeService(), emu) as running:
        yield running
