"""Reports out of the database: the facts query, a CSV a spreadsheet opens, and a PNG chart."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from pathlib import Path

from bot.reports.stats import Facts, Report
from bot.store import reports
from bot.store.db import Database


async def load_facts(db: Database, *, since: date, until: date) -> list[Facts]:
    """Facts of the mentions received from ``since`` to ``until`` (inclusive, UTC days)."""
    start = datetime.combine(since, time(0), tzinfo=UTC)
    end = datetime.combine(until, time.max, tzinfo=UTC)
    async with db.transaction() as session:
        rows = await reports.facts_between(session, start, end)
    return [Facts(*row) for row in rows]


def report_csv(report: Report) -> str:
    """Two tables in one CSV: the summary figures, then one row per week."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "value"])
    writer.writerow(["period", f"{report.since} to {report.until}"])
    writer.writerow(["mentions", report.total])
    for group, table in (
        ("platform", report.by_platform),
        ("role", report.by_role),
        ("rule", report.by_rule),
    ):
        for key, count in table.items():
            writer.writerow([f"mentions by {group}: {key}", count])
    for name, value in (
        ("first claim median (min, opening hours)", report.claim_median),
        ("first claim 90th percentile (min)", report.claim_p90),
        ("first reply median (min, opening hours)", report.reply_median),
        ("first reply 90th percentile (min)", report.reply_p90),
    ):
        writer.writerow([name, "" if value is None else f"{value:.1f}"])
    writer.writerow(["unanswered", report.unanswered])
    writer.writerow([])
    writer.writerow(
        ["week starting", "mentions", "median minutes to first claim", "median minutes to first reply"]
    )
    for week in report.weeks:
        writer.writerow(
            [
                week.start.isoformat(),
                week.mentions,
                "" if week.median_claim is None else f"{week.median_claim:.1f}",
                "" if week.median_reply is None else f"{week.median_reply:.1f}",
            ]
        )
    return out.getvalue()


def report_chart(report: Report, path: Path) -> None:
    """Weekly volume (bars) and median minutes to first claim and reply (lines), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    labels = [w.start.strftime("%d %b") for w in report.weeks]
    fig, volume = plt.subplots(figsize=(9, 4.5), dpi=110)
    volume.bar(labels, [w.mentions for w in report.weeks], color="#9ecae1", label="mentions")
    volume.set_ylabel("mentions per week")
    volume.set_xlabel("week starting")
    times = volume.twinx()
    claim = [w.median_claim if w.median_claim is not None else float("nan") for w in report.weeks]
    reply = [w.median_reply if w.median_reply is not None else float("nan") for w in report.weeks]
    times.plot(labels, claim, color="#d62728", marker="o", label="median to first claim")
    times.plot(labels, reply, color="#2ca02c", marker="s", label="median to first reply")
    times.set_ylabel("minutes (opening hours)")
    times.set_ylim(bottom=0)
    bars, bar_labels = volume.get_legend_handles_labels()
    lines, line_labels = times.get_legend_handles_labels()
    volume.legend(bars + lines, bar_labels + line_labels, loc="upper left", fontsize=8)
    volume.set_title(f"Patron Desk: {report.total} mentions, {report.since} to {report.until}")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
