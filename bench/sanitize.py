"""Sanitizer benchmark: what ``safe_mention`` costs per mention, ordinary and hostile.

Run: .venv/bin/python -m bench.sanitize [--mentions N]
Goal: well under the cost of one ingest transaction (about a millisecond): <= 50 µs for an ordinary
post, and bounded (a few ms) for a post at the 40,000-character cap full of odd characters.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from bot.domain.sanitize import safe_mention
from bot.models import Mention

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ORDINARY = Mention(
    source="mastodon",
    external_id="113456789012345678",
    text="@library Is the branch on Elm Street open on Sunday? My kids want the new atlas 📚 " * 3,
    created_at=NOW - timedelta(minutes=3),
    url="https://social.example/@reader/113456789012345678",
    author_id="109876",
    author_handle="@reader@social.example",
    author_name="A Reader 🌻",
    lang="en",
    reply_ref='{"status_id": "113456789012345678", "acct": "reader@social.example"}',
)
HOSTILE = Mention(
    source="feeds",
    external_id="https://blog.example/" + "x" * 700,
    text=("nul \x00 lone \ud800 e\u0301 \u202e rtl \r\n 👩\u200d👩\u200d👧 \x1b[2J " * 1500)[:60_000],
    created_at=datetime(9999, 12, 31, 23, 59),
    url="https://blog.example/a\n── #99 \u202e",
    author_name="\u202eEve\n" * 200,
    lang="x" * 100,
)


def per_call(mention: Mention, rounds: int) -> list[float]:
    """Microseconds per ``safe_mention`` call, one sample per call."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        safe_mention(mention, now=NOW)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentions", type=int, default=20_000)
    args = parser.parse_args()
    for name, mention, rounds in (("ordinary", ORDINARY, args.mentions), ("hostile", HOSTILE, 200)):
        samples = sorted(per_call(mention, rounds))
        p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99) - 1]
        print(f"safe_mention {name:8s}: {rounds:6d} calls  p50 {p50:8.1f} µs  p99 {p99:8.1f} µs")


if __name__ == "__main__":
    main()
