"""A branch's report (only its roles, its zone and hours) computed in SQL equals ``summarize()`` over
the same mentions filtered in plain Python (Hypothesis; SQLite, and PostgreSQL when it is given)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.reports.compute import build_report
from bot.reports.stats import Facts, summarize
from bot.rota.opening import Opening
from tests.conftest import PG_URL, drop_database, make_database
from tests.core.test_reports_sql import NAMES, SINCE, facts, openings, same, store


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")),
    ],
)
def test_a_branch_report_equals_the_python_reference_on_its_roles(kind: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    db, schema = loop.run_until_complete(make_database(kind, tmp_path))

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        facts(40),
        openings(),
        st.sampled_from(("Europe/London", "America/New_York")),
        st.frozensets(st.sampled_from(NAMES[:3])),
    )
    def check(rows: list[Facts], hours: tuple[Opening, ...], zone_name: str, roles: frozenset[str]) -> None:
        zone, until = ZoneInfo(zone_name), SINCE + timedelta(days=40)
        loop.run_until_complete(store(db, rows))
        got = loop.run_until_complete(
            build_report(db, since=SINCE, until=until, hours=hours, zone=zone, roles=roles)
        )
        mine = [f for f in rows if f.role in roles]
        same(got, summarize(mine, since=SINCE, until=until, hours=hours, zone=zone))

    try:
        check()
    finally:
        loop.run_until_complete(drop_database(db, schema))
        loop.close()
