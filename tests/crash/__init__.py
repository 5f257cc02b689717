"""The crash-point matrix: the bot as a subprocess, killed with SIGKILL at named points."""

import sys
from pathlib import Path

# The Slack emulator and its payloads live in tests/slack, which is not a package.
_SLACK_TESTS = str(Path(__file__).resolve().parent.parent / "slack")
if _SLACK_TESTS not in sys.path:
    sys.path.insert(0, _SLACK_TESTS)
