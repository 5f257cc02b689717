"""Reports against a hand-computed fixture; the CSV opens as a spreadsheet; the chart is a real PNG."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from matplotlib import dates as mdates
from matplotlib.patches import Rectangle

from bot.models import Claim
from bot.reports.compute import build_report
from bot.reports.output import chart_figure, load_facts, report_chart, summary_csv, write_csv
from bot.reports.stats import Facts, format_report, open_minutes, percentile, summarize, wait_minutes
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
    report = summarize(FIXTURE, since=date(2026, 11, 23), until=date(2026, 12, 27), hours=HOURS, zone=UTCZ)
    assert report.total == 5
    assert report.by_platform == {"mastodon": 3, "bluesky": 1, "feeds": 1}
    assert report.by_role == {"reference": 3, "circulation": 1, "social-media": 1}
    assert report.by_rule == {"default": 2, "research": 2, "renewals": 1}  # ties in name order
    assert (report.claim_median, report.claim_p90) == (20, 50)  # claims 5, 10, 30, 50
    assert (report.reply_median, report.reply_p90) == (80, 120)  # replies 40, 120
    assert report.unanswered == 2
    # 35 days: weekly bars; Saturday 28 Nov belongs to the week starting Monday 23 Nov
    assert [(p.start, p.mentions) for p in report.series][:2] == [
        (date(2026, 11, 23), 5),
        (date(2026, 11, 30), 0),
    ]
    assert report.series[0].median_claim == 20 and report.series[1].median_claim is None
    text = format_report(report)
    assert "median 20.0 min, 90% within 50.0 min" in text and "unanswered: 2" in text


def test_text_shows_minutes_with_one_decimal_like_the_csv() -> None:
    """The text said "median 0 min" where the CSV said 0.5."""
    quick = [Facts("mastodon", "r", "x", "claimed", at(23, 10), at(23, 10) + timedelta(seconds=30))]
    report = summarize(quick, since=date(2026, 11, 23), until=date(2026, 11, 23), hours=HOURS, zone=UTCZ)
    assert "first claim (opening hours): median 0.5 min" in format_report(report)
    assert ["first claim median (min, opening hours)", "all", "0.5"] in list(
        csv.reader(io.StringIO(summary_csv(report)))
    )
    slow = [Facts("mastodon", "r", "x", "claimed", at(23, 9), at(23, 12, 30))]
    report = summarize(slow, since=date(2026, 11, 23), until=date(2026, 11, 23), hours=HOURS, zone=UTCZ)
    assert "median 210.0 min (3.5 h)" in format_report(report)


def test_a_wait_outside_opening_hours_is_not_zero() -> None:
    """Handled on Saturday night before the next opening: the real 60 minutes, not "instant";
    received on Saturday night and claimed on Monday: from Monday's opening."""
    assert wait_minutes(at(28, 22), at(28, 23), HOURS, UTCZ) == 60
    assert wait_minutes(at(28, 22), at(30, 9, 30), HOURS, UTCZ) == 30
    assert wait_minutes(at(23, 16, 50), at(23, 19), HOURS, UTCZ) == 10  # closed at 17:00
    assert wait_minutes(at(23, 10), at(23, 9), HOURS, UTCZ) == 0
    nights = [Facts("feeds", "r", "x", "claimed", at(28, 22), at(28, 23))]
    report = summarize(nights, since=date(2026, 11, 23), until=date(2026, 11, 29), hours=HOURS, zone=UTCZ)
    assert report.claim_median == 60


def test_days_are_the_librarys_days() -> None:
    """A mention at 02:00 UTC on Monday is Sunday evening in Chicago: not in a report from Monday."""
    chicago = ZoneInfo("America/Chicago")
    late = [Facts("mastodon", "r", "x", "posted", at(23, 2))]
    report = summarize(late, since=date(2026, 11, 23), until=date(2026, 11, 29), hours=HOURS, zone=chicago)
    assert report.total == 0
    report = summarize(late, since=date(2026, 11, 22), until=date(2026, 11, 29), hours=HOURS, zone=chicago)
    assert report.total == 1 and report.series[0].mentions == 1


def test_csv_is_two_tidy_tables(tmp_path: Path) -> None:
    report = summarize(FIXTURE, since=date(2026, 11, 23), until=date(2026, 12, 6), hours=HOURS, zone=UTCZ)
    written = write_csv(report, tmp_path / "report.csv")
    assert written == [tmp_path / "report.csv", tmp_path / "report-by-period.csv"]
    summary = list(csv.reader(io.StringIO(written[0].read_text(encoding="utf-8"))))
    series = list(csv.reader(io.StringIO(written[1].read_text(encoding="utf-8"))))
    for table in (summary, series):  # one header, then rows of the same width, no blank line
        assert all(len(row) == len(table[0]) for row in table)
    assert summary[0] == ["figure", "of", "value"]
    figures = {(row[0], row[1]): row[2] for row in summary[1:]}
    assert figures[("mentions", "all")] == "5" and figures[("unanswered", "all")] == "2"
    assert figures[("mentions by platform", "mastodon")] == "3"
    assert figures[("first claim median (min, opening hours)", "all")] == "20.0"
    assert series[0][0] == "first day" and len(series) == 1 + 14  # 14 days: one row per day
    assert series[1] == ["2026-11-23", "2026-11-23", "2", "20.0", "40.0"]
    assert series[2] == ["2026-11-24", "2026-11-24", "1", "", ""]


def _bars(fig: Any) -> list[Any]:
    return [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]


def test_one_week_chart_has_a_bar_per_day_and_room_for_its_markers(tmp_path: Path) -> None:
    report = summarize(FIXTURE, since=date(2026, 11, 23), until=date(2026, 11, 29), hours=HOURS, zone=UTCZ)
    fig = chart_figure(report)
    volume, times = fig.axes
    assert volume.get_xlim() == (
        mdates.date2num(datetime(2026, 11, 23, tzinfo=UTC)),
        mdates.date2num(datetime(2026, 11, 30, tzinfo=UTC)),
    )
    bars = _bars(fig)
    assert len(bars) == 7 and all(b.get_width() < 1 for b in bars)  # seven days, not one wide bar
    assert volume.get_ylim()[1] > max(b.get_height() for b in bars)
    highest = max(max(line.get_ydata()) for line in times.get_lines() if len(line.get_ydata()))
    assert times.get_ylim()[1] > highest  # the top marker is inside the axes
    assert all(not line.get_clip_on() for line in times.get_lines())
    path = tmp_path / "week.png"
    report_chart(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_starts_at_since_mid_week_and_a_year_is_weekly() -> None:
    since = date(2025, 12, 3)  # a Wednesday
    report = summarize(FIXTURE, since=since, until=date(2026, 12, 2), hours=HOURS, zone=UTCZ)
    fig = chart_figure(report)
    bars = _bars(fig)
    assert len(bars) == len(report.series) == 53
    assert fig.axes[0].get_xlim()[0] == mdates.date2num(datetime(2025, 12, 3, tzinfo=UTC))
    assert min(b.get_x() for b in bars) == mdates.date2num(datetime(2025, 12, 3, tzinfo=UTC))
    assert report.series[0].end == date(2025, 12, 7)  # the first week runs Wednesday to Sunday
    assert sum(b.get_height() for b in bars) == 5


async def test_report_from_the_database(database: Database) -> None:
    service = await make_service(database, now=at(23, 10))
    await service.ingest("fake", mention(1), None)
    service.clock = lambda: at(23, 10, 25)
    assert (await service.handle(Claim(1, staff(1)))).ok
    facts = await load_facts(database, since=date(2026, 11, 23), until=date(2026, 11, 23))
    report = await build_report(
        database, since=date(2026, 11, 23), until=date(2026, 11, 23), hours=HOURS, zone=UTCZ
    )
    assert report == summarize(
        facts, since=date(2026, 11, 23), until=date(2026, 11, 23), hours=HOURS, zone=UTCZ
    )
    assert report.total == 1 and report.claim_median == 25 and report.unanswered == 1
    assert report.by_role == {"circulation": 1}
    assert timedelta(0) < facts[0].first_claimed_at - facts[0].received_at  # type: ignore[operator]
