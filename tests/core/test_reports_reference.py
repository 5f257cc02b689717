"""Reports count by tag, READ Scale level and reference/directional, in SQL and in the CSV, against a
fixture whose counts are worked out by hand below (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import csv
import io
from datetime import date
from zoneinfo import ZoneInfo

from bot.models import Claim, Resolve, SetTag, StaffRef
from bot.reports.compute import build_report
from bot.reports.output import load_facts, summary_csv
from bot.reports.stats import format_report, summarize
from bot.rota.opening import parse_opening_hours
from bot.store.db import Database

from .helpers import NOW, make_service, mention

ALICE = StaffRef("slack", "UALICE1", "Alice Archer")
DAY = NOW.date()

# mention: (tags, READ level, directional)
FIXTURE: dict[int, tuple[tuple[str, ...], int | None, bool | None]] = {
    1: (("question",), 1, True),
    2: (("question", "account"), 3, False),
    3: (("praise",), None, None),
    4: (("question",), 3, None),
    5: ((), 2, False),
    6: (("complaint", "account"), None, False),
}
# by hand: question 3 (1, 2, 4), account 2 (2, 6), praise 1, complaint 1
#          READ 1: 1, READ 2: 1 (5), READ 3: 2 (2, 4)
#          reference 3 (2, 5, 6), directional 1 (1)
BY_TAG = {"question": 3, "account": 2, "complaint": 1, "praise": 1}
BY_READ = {"1": 1, "2": 1, "3": 2}
BY_KIND = {"reference": 3, "directional": 1}


async def _fixture(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    for n, (tags, level, directional) in FIXTURE.items():
        await service.ingest("fake", mention(n, f"question number {n}"), None)
        for tag in tags:
            assert (await service.handle(SetTag(n, ALICE, tag))).ok
        if level is not None or directional is not None:
            assert (await service.handle(Claim(n, ALICE))).ok
            assert (await service.handle(Resolve(n, ALICE, read_level=level, directional=directional))).ok


async def test_counts_by_tag_and_read_level_in_sql_python_and_csv(database: Database) -> None:
    await _fixture(database)
    hours, zone = parse_opening_hours(""), ZoneInfo("UTC")
    report = await build_report(database, since=DAY, until=DAY, hours=hours, zone=zone)
    assert report.total == 6
    assert report.by_tag == BY_TAG
    assert report.by_read == BY_READ
    assert report.by_kind == BY_KIND
    facts = await load_facts(database, since=DAY, until=DAY, zone=zone)
    python = summarize(facts, since=DAY, until=DAY, hours=hours, zone=zone)
    assert (python.by_tag, python.by_read, python.by_kind) == (BY_TAG, BY_READ, BY_KIND)
    rows = list(csv.reader(io.StringIO(summary_csv(report))))
    tags = {row[1]: int(row[2]) for row in rows if row[0] == "mentions by tag"}
    levels = {row[1]: int(row[2]) for row in rows if row[0] == "mentions by READ level"}
    kinds = {row[1]: int(row[2]) for row in rows if row[0] == "mentions by reference or directional"}
    assert (tags, levels, kinds) == (BY_TAG, BY_READ, BY_KIND)
    text = format_report(report)
    assert "by tag: question 3, account 2, complaint 1, praise 1" in text
    assert "by READ level: 1 1, 2 1, 3 2" in text


async def test_a_day_without_the_fixture_counts_nothing(database: Database) -> None:
    await _fixture(database)
    other = date(2020, 1, 1)
    report = await build_report(
        database, since=other, until=other, hours=parse_opening_hours(""), zone=ZoneInfo("UTC")
    )
    assert (report.total, report.by_tag, report.by_read, report.by_kind) == (0, {}, {}, {})
