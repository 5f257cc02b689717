"""`make check` runs every test except those marked slow: the crash, scale and storms folders are."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import SLOW_FOLDERS, TESTS


def collected(*args: str) -> dict[str, int]:
    """Test file -> how many of its tests ``pytest --collect-only`` selects with these arguments."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    found = {}
    for line in done.stdout.splitlines():
        path, _, count = line.rpartition(": ")
        if path.endswith(".py") and count.isdigit():
            found[path] = int(count)
    return found


def test_the_slow_folders_are_left_out_of_the_fast_loop_and_only_they() -> None:
    folders = [f"tests/{name}" for name in SLOW_FOLDERS]
    slow = collected(*folders, "-m", "slow")
    assert {path.split("/")[1] for path in slow} == set(SLOW_FOLDERS)
    here = "tests/ops/test_slow_marker.py"  # in the same run: each pytest start costs seconds
    assert collected(*folders, here, "-m", "not slow") == {here: 1}
