"""Reports out of the database: a CSV pair a spreadsheet opens, and a PNG chart.

``--csv report.csv`` writes two tidy tables, each with one header row and one kind of row:
``report.csv`` (one figure per row: figure, of, value) and ``report-by-period.csv`` (one day or
week per row), so a spreadsheet or pandas reads either without skipping lines.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports.stats import Facts, Report, local_bounds
from bot.store import reports
from bot.store.db import Database

SERIES_SUFFIX = "-by-period"
UTC_ZONE = ZoneInfo("UTC")


async def load_facts(db: Database, *, since: date, until: date, zone: ZoneInfo = UTC_ZONE) -> list[Facts]:
    """One ``Facts`` per mention received from ``since`` to ``until`` (the library's days): the
    input of ``summarize()``, the reference the SQL report is tested against."""
    start, after = local_bounds(since, until, zone)
    async with db.transaction() as session:
        rows = await reports.facts_between(session, start, after)
    return [Facts(*row) for row in rows]


def series_path(path: Path) -> Path:
    """Where the per-period table goes beside the summary CSV at ``path``."""
    return path.with_name(f"{path.stem}{SERIES_SUFFIX}{path.suffix or '.csv'}")


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def summary_csv(report: Report) -> str:
    """One figure per row: (figure, of, value); waits in minutes with one decimal."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "of", "value"])
    writer.writerow(["first day", "", report.since.isoformat()])
    writer.writerow(["last day", "", report.until.isoformat()])
    writer.writerow(["mentions", "all", report.total])
    for group, table in (
        ("platform", report.by_platform),
        ("role", report.by_role),
        ("rule", report.by_rule),
    ):
        for key, count in table.items():
            writer.writerow([f"mentions by {group}", key, count])
    for name, value in (
        ("first claim median (min, opening hours)", report.claim_median),
        ("first claim 90th percentile (min, opening hours)", report.claim_p90),
        ("first reply median (min, opening hours)", report.reply_median),
        ("first reply 90th percentile (min, opening hours)", report.reply_p90),
    ):
        writer.writerow([name, "all", _minutes(value)])
    writer.writerow(["unanswered", "all", report.unanswered])
    for group, table in (
        ("tag", report.by_tag),
        ("READ level", report.by_read),
        ("reference or directional", report.by_kind),
    ):
        for key, count in table.items():
            writer.writerow([f"mentions by {group}", key, count])
    return out.getvalue()


def series_csv(report: Report) -> str:
    """One day or week per row (the chart's bars)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "first day",
            "last day",
            "mentions",
            "median minutes to first claim",
            "median minutes to first reply",
        ]
    )
    for p in report.series:
        writer.writerow(
            [
                p.start.isoformat(),
                p.end.isoformat(),
                p.mentions,
                _minutes(p.median_claim),
                _minutes(p.median_reply),
            ]
        )
    return out.getvalue()


def write_csv(report: Report, path: Path) -> list[Path]:
    """Write the summary to ``path`` and the series beside it; the paths written."""
    path.write_text(summary_csv(report), encoding="utf-8")
    beside = series_path(path)
    beside.write_text(series_csv(report), encoding="utf-8")
    return [path, beside]


def _day(value: date) -> float:
    """A day's start on the chart's date axis (matplotlib's day numbers)."""
    from matplotlib import dates as mdates

    return float(mdates.date2num(datetime.combine(value, time(0), tzinfo=UTC)))


def chart_figure(report: Report) -> Any:
    """The chart as a matplotlib Figure: mentions per day (reports up to a month) or per week
    (bars as wide as their days, the first week starting at ``since``), median minutes to first
    claim and reply as lines; the x axis spans exactly ``since`` to ``until``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5), dpi=110)
    volume = fig.add_subplot()
    starts = [_day(p.start) for p in report.series]
    widths = [((p.end - p.start).days + 1) * 0.85 for p in report.series]
    unit = "day" if report.daily else "week"
    volume.bar(starts, [p.mentions for p in report.series], width=widths, align="edge", color="#9ecae1")
    volume.set_ylabel(f"mentions per {unit}")
    volume.set_xlim(_day(report.since), _day(report.until + timedelta(days=1)))
    top = max((p.mentions for p in report.series), default=0)
    volume.set_ylim(0, max(1, top) * 1.15)
    times = volume.twinx()
    middles = [(_day(p.start) + _day(p.end + timedelta(days=1))) / 2 for p in report.series]
    lines = []
    for attr, colour, marker, label in (
        ("median_claim", "#d62728", "o", "median to first claim"),
        ("median_reply", "#2ca02c", "s", "median to first reply"),
    ):
        values = [getattr(p, attr) if getattr(p, attr) is not None else float("nan") for p in report.series]
        size = 6 if len(middles) <= 20 else 3  # a year of weeks: smaller markers
        lines += times.plot(
            middles, values, color=colour, marker=marker, markersize=size, label=label, clip_on=False
        )
    highest = max(
        (v for p in report.series for v in (p.median_claim, p.median_reply) if v is not None), default=0.0
    )
    times.set_ylim(0, max(1.0, highest) * 1.15)  # room above the highest marker
    times.set_ylabel("minutes (opening hours)")
    locator = mdates.AutoDateLocator(minticks=3, maxticks=12)
    volume.xaxis.set_major_locator(locator)
    volume.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    bars = volume.patches[:1]
    volume.legend(  # below the axes: never over a bar or a marker
        [*bars, *lines],
        [f"mentions per {unit}"] + [str(line.get_label()) for line in lines],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    volume.set_title(f"Patron Desk: {report.total:,} mentions, {report.since} to {report.until}")
    fig.tight_layout()
    return fig


def report_chart(report: Report, path: Path) -> None:
    """Write the chart as a PNG."""
    chart_figure(report).savefig(path)
