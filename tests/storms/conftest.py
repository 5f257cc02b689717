"""Fixtures for the fault storms: the other folders' loopback servers, Synapse, a private PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in ("slack", "matrix", "feeds"):  # their servers are imported by bare name, as there
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from synapse_harness import RegisteredUser, Synapse, make_synapse  # noqa: E402

from .pg_cluster import PgCluster, pg_binaries  # noqa: E402
from .report import FULL, LINES  # noqa: E402


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
