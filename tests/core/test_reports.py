"""Reports against a hand-computed fixture; the CSV opens as a spreadsheet; the chart is a real PNG."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.models import Claim
from bot.reports.output import load_facts, report_chart, report_csv
from bot.reports.stats import Facts, format_report, open_minutes, percentile, summarize
from bot.rota.opening import parse_opening_hours
from bot.store.db import Database

from .helpers import make_service, mention, staff

UTCZ = ZoneInfo("UTC")
HOURS = parse_opening_hours("mon-fri 09:00-17:00")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # 23 Nov 2026 is a Monday


FIXTURE = [
    # claim 10 min, reply 40 min
    Facts("mastodon", "reference", "research", "replied", at(23, 10), at(23, 10, 10), at(23, 10, 40)),
    # 16:50 Mon to 09:20 Tue: 10 + 20 = 30 open minutes to claim; no reply: unanswered
    Facts("bluesky", "circulation", "renewals", "claimed", at(23, 16, 50), at(24, 9, 20), None),
    # Saturday noon to Monday 09:05: 5 open minutes; resolved without a reply (a feed): answered
    Facts("feeds", "reference", "default", "resolved", at(28, 12), at(30, 9, 5), None),
    # never claimed: unanswered
    Facts("mastodon", "social-media", "default", "posted", at(24, 11), None, None),
    # claim 50 min, reply 120 min
    Facts("mastodon", "reference", "research", "replied", at(25, 9), at(25, 9, 50), at(25, 11)),
]


def test_open_minutes_skip_nights_and_weekends() -> None:
    assert open_minutes(at(23, 16, 50), at(24, 9, 20), HOURS, UTCZ) == 30
    assert open_minutes(at(28, 12), at(30, 9, 5), HOURS, UTCZ) == 5
    assert open_minutes(at(23, 10), at(23, 9), HOURS, UTCZ) == 0


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5, 10, 30, 50], 0.9) == 50
    assert percentile([40, 120], 0.5) == 40
    assert percentile([], 0.9) is None


def test_report_matches_hand_computed_figures() -> None:
    report = summarize(FIXTURE, since=date(2026, 11, 23), until=date(2026, 12, 6), hours=HOURS, zone=UTCZ)
    assert report.total == 5
    assert report.by_platform == {"mastodon": 3, "bluesky": 1, "feeds": 1}
    assert report.by_role == {"reference": 3, "circulation": 1, "social-media": 1}
    assert report.by_rule == {"research": 2, "default": 2, "renewals": 1}
    assert (report.claim_median, report.claim_p90) == (20, 50)  # claims 5, 10, 30, 50
    assert (report.reply_median, report.reply_p90) == (80, 120)  # replies 40, 120
    assert report.unanswered == 2
    # Saturday 28 Nov belongs to the week starting Monday 23 Nov
    assert [(w.start, w.mentions) for w in report.weeks] == [(date(2026, 11, 23), 5), (date(2026, 11, 30), 0)]
    assert report.weeks[0].median_claim == 20 and report.weeks[1].median_claim is None
    text = format_report(report)
    assert "median 20 min, 90% within 50 min" in text and "unanswered: 2" in text


def test_csv_opens_as_a_spreadsheet() -> None:
    report = summarize(FIXTURE, since=date(2026, 11, 23), until=date(2026, 12, 6), hours=HOURS, zone=UTCZ)
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == ["metric", "value"]
    table = {row[0]: row[1] for row in rows if len(row) == 2}
    assert table["mentions"] == "5" and table["unanswered"] == "2"
    assert table["first claim median (min, opening hours)"] == "20.0"
    weeks = rows[
        rows.index(
            ["week starting", "mentions", "median minutes to first claim", "median minutes to first reply"]
        )
        + 1 :
    ]
    assert weeks == [["2026-11-23", "5", "20.0", "80.0"], ["2026-11-30", "0", "", ""]]


def test_chart_is_a_png(tmp_path: Path) -> None:
    report = summarize(FIXTURE, since=date(2026, 11, 2), until=date(2026, 12, 6), hours=HOURS, zone=UTCZ)
    path = tmp_path / "report.png"
    report_chart(report, path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


async def test_report_from_the_database(database: Database) -> None:
    service = await make_service(database, now=at(23, 10))
    await service.ingest("fake", mention(1), None)
    service.clock = lambda: at(23, 10, 25)
    assert (await service.handle(Claim(1, staff(1)))).ok
    facts = await load_facts(database, since=date(2026, 11, 23), until=date(2026, 11, 23))
    report = summarize(facts, since=date(2026, 11, 23), until=date(2026, 11, 23), hours=HOURS, zone=UTCZ)
    assert report.total == 1 and report.claim_median == 25 and report.unanswered == 1
    assert report.by_role == {"circulation": 1}
    assert timedelta(0) < facts[0].first_claimed_at - facts[0].received_at  # type: ignore[operator]
