"""Fixtures for the Matrix tests: one real Synapse homeserver per session, users, fresh rooms per test."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.synapse import Synapse, make_synapse
from tests.matrix.matrix_helpers import Account, Users, World

_STARTED: list[Synapse] = []


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A Synapse homeserver on a free loopback port, started once per session (no internet needed)."""
    if importlib.util.find_spec("synapse") is None:  # pragma: no cover - matrix-synapse is a test extra
        pytest.skip("matrix-synapse is not installed")
    server = make_synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    _STARTED.append(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def users(synapse: Synapse) -> Users:
    """Registered once (password hashing makes registration slow)."""
    return Users(
        bot=synapse.register("librarybot", displayname="Library Bot"),
        patron=synapse.register("patron", displayname="Pat Patron"),
        staff1=synapse.register("staff1", displayname="Sam Staff"),
        staff2=synapse.register("staff2", displayname="Kim Keeper"),
    )


@pytest.fixture
async def world(synapse: Synapse, users: Users) -> AsyncIterator[World]:
    """A public source room (patron's) and a private staff room: staff1 is its admin, staff2 has level 0."""
    patron = Account(synapse.url, users.patron)
    staff1 = Account(synapse.url, users.staff1)
    staff2 = Account(synapse.url, users.staff2)
    source_room = await patron.create_room(public=True)
    staff_room = await staff1.create_room(public=False, invite=(users.staff2.user_id, users.bot.user_id))
    await staff2.join(staff_room)
    try:
        yield World(synapse.url, users, patron, staff1, staff2, source_room, staff_room)
    finally:
        for account in (patron, staff1, staff2):
            await account.aclose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how long Synapse took to start (it gates every integration test)."""
    for server in _STARTED:
        terminalreporter.write_line(f"synapse: started in {server.start_seconds:.2f}s on port {server.port}")
    sys.stdout.flush()
