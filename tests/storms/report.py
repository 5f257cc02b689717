"""The storm figures: one line per platform and scenario, printed as the tests go and in the summary."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .gate import Gate

FULL = os.environ.get("PATRON_DESK_FULL") == "1"
LINES: list[str] = []


def size(reduced: int, full: int) -> int:
    """A count for this run's size."""
    return full if FULL else reduced


@dataclass(frozen=True, slots=True)
class Figures:
    """What one storm did to one platform."""

    platform: str
    scenario: str
    requests: int
    limited: int
    max_rate: str
    early: int
    lost: int
    duplicates: int
    recovery: float
    note: str = ""

    def line(self) -> str:
        """The report line."""
        return (
            f"{self.platform:<10} {self.scenario:<26} requests {self.requests:>5}  429s {self.limited:>4}  "
            f"max rate {self.max_rate:<18} early {self.early}  lost {self.lost}  dup {self.duplicates}  "
            f"recovery {self.recovery:5.2f}s" + (f"  ({self.note})" if self.note else "")
        )


def gate_figures(
    gate: Gate, scenario: str, *, lost: int, duplicates: int, recovery: float, note: str = ""
) -> Figures:
    """Figures from a gate's books."""
    limit = f"limit {gate.limit}" if gate.limit else "no fixed limit"
    rate = f"{gate.max_in_window()}/{gate.window:g}s ({limit})"
    return Figures(
        gate.name,
        scenario,
        len(gate.requests),
        len(gate.limited),
        rate,
        gate.early,
        lost,
        duplicates,
        recovery,
        note,
    )


def record(figures: Figures) -> None:
    """Print a line now (seen with ``-s``) and keep it for the end-of-run summary."""
    line = figures.line()
    LINES.append(line)
    print("\nSTORM " + line)
