"""Fixtures for the fault storms: the other folders' loopback servers, Synapse, a private PostgreSQL."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.fakes.synapse import RegisteredUser, Synapse, make_synapse

from .pg_cluster import PgCluster, pg_binaries
from .report import FULL, LINES


@pytest.fixture(scope="session")
def storm_synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A Synapse homeserver of our own (the Matrix tests' fixture is scoped to their folder)."""
    if importlib.util.find_spec("synapse") is None:  # pragma: no cover - matrix-synapse is a test extra
        pytest.skip("matrix-synapse is not installed")
    server = make_synapse(tmp_path_factory.mktemp("storm-synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def storm_users(storm_synapse: Synapse) -> dict[str, RegisteredUser]:
    """The bot, a patron and a staff member (registered once: password hashing is slow)."""
    return {
        "bot": storm_synapse.register("stormbot", displayname="Storm Bot"),
        "patron": storm_synapse.register("stormpatron", displayname="Pat Patron"),
        "staff": storm_synapse.register("stormstaff", displayname="Sam Staff"),
    }


@pytest.fixture
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster]:
    """A private PostgreSQL cluster on a free port, owned by this test (never the machine's own)."""
    binaries = pg_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    cluster = PgCluster(tmp_path_factory.mktemp("storm-pg"), binaries)
    problem = cluster.init()
    if problem:
        pytest.skip(f"cannot create a private PostgreSQL cluster here: {problem}")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every storm's figures, together."""
    if not LINES:
        return
    terminalreporter.write_sep("=", f"fault storms ({'full' if FULL else 'reduced'} size)")
    for line in LINES:
        terminalreporter.write_line(line)
