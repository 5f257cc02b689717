"""Privacy guard and saved answers benchmark: what the reply path adds before a reply is queued.

Run: .venv/bin/python -m bench.privacy_guard [--rounds N]
Goal: negligible next to one reply transaction (about a millisecond): <= 50 µs to scan an ordinary
post and reply, bounded (tens of ms at most) for hostile text at the scan limit (long digit runs, `a@` runs,
repeated house numbers), and a few µs to fill a saved answer.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

from bot.domain.answers import Fill, expand, parse_answers
from bot.domain.privacy import SCAN_LIMIT, PrivacyGuard, compile_card_pattern

GUARD = PrivacyGuard(compile_card_pattern(r"\b2\d{13}\b"))
ORDINARY = "@library Is the branch on Elm Street open on Sunday? Can I renew my books online? 📚 " * 2
HOSTILE = {
    "digits": "1 " * (SCAN_LIMIT // 2),
    "at-signs": "a@" * (SCAN_LIMIT // 2),
    "houses": "12 Aa " * (SCAN_LIMIT // 6),
    "fines": "fine $" * (SCAN_LIMIT // 6),
}
BOOK = parse_answers(
    '[constants]\nrenew_url = "https://catalogue.example.org/account"\n'
    "[answers.renewals]\n"
    'text = "Hi {patron}, renew at {renew_url}. Today {today_hours}, Sat {hours:saturday}."\n'
)
FILL = Fill(patron="Pat", today=date(2026, 12, 7), hours_on=lambda day: "09:00-17:00")


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    """p50 and p99 in microseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[[], object], int]] = [
        ("scan ordinary", lambda: GUARD.scan(ORDINARY), args.rounds),
        ("fill /renewals", lambda: expand("/renewals", BOOK, FILL, lang=None), args.rounds),
    ]
    cases += [(f"scan hostile {k}", lambda t=t: GUARD.scan(t), 50) for k, t in HOSTILE.items()]
    for name, call, rounds in cases:
        p50, p99 = timed(call, rounds)
        print(f"{name:24s}: {rounds:6d} calls  p50 {p50:9.1f} µs  p99 {p99:9.1f} µs")


if __name__ == "__main__":
    main()
