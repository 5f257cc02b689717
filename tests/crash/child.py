"""A child process that passes one crash point a number of times (tests of bot/crashpoints.py).

Usage: python -m tests.crash.child NAME TIMES
Prints "reconcile on|off", then "passed K" after each pass that did not kill it.
"""

from __future__ import annotations

import sys

from bot.crashpoints import crash_point, reconcile_enabled


def main(name: str, times: int) -> None:
    print("reconcile", "on" if reconcile_enabled() else "off", flush=True)
    for k in range(1, times + 1):
        crash_point(name)
        print("passed", k, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
