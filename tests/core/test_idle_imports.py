"""Idle memory (issue 13): a start with every adapter imported leaves the heavy rare-path libraries out.

Each named module holds megabytes for the life of the process once imported: Alembic and Mako (only
while migrating, done by a child process at ``run``), icalendar and recurring-ical-events (only
when a calendar is read or a rota feed is served), and rich, pygments and click (httpx's
command-line client, which the bot never runs). Pydantic is not used at all: settings and the rules
file are read by ``bot.domain.fields``, and the command line is argparse, because Typer imports
pydantic, click and rich (together about 10 MiB, resident for as long as `run` runs). No timing:
only what ``sys.modules`` holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    *("alembic", "mako", "icalendar", "recurring_ical_events", "rich", "pygments", "click"),
    *("pydantic", "pydantic_core", "pydantic_settings", "typer"),
)
ROOT = Path(__file__).resolve().parents[2]


def test_a_start_on_a_new_database_with_every_adapter_imports_none_of_the_heavy_modules(
    tmp_path: Path,
) -> None:
    from bench.footprint import EVERYTHING  # every module the bot imports with each source and desk on

    code = EVERYTHING + (
        "import bot.__main__  # the command line `run` starts from\n"
        "import asyncio, json, sys\n"
        "from bot.store.db import Database, migrate_apart\n"
        "from bot.store.revisions import _at_head\n"
        "async def main():\n"
        f"    url = 'sqlite+aiosqlite:///{tmp_path}/new.db'\n"
        "    await migrate_apart(url)  # as `run` does before the app opens\n"
        "    db = Database(url)\n"
        "    await db.migrate()  # the app's own call: at head already\n"
        "    async with db.engine.connect() as conn:\n"
        "        at_head = await conn.run_sync(_at_head)\n"
        "    await db.aclose()\n"
        "    from bot.config import load_settings\n"
        "    load_settings()  # settings and the rules file are read at every start\n"
        "    from bot.routing.rules_file import parse_rules\n"
        "    from bot.platforms import REGISTRY\n"
        "    parse_rules(open('examples/rules.toml').read(), platforms=list(REGISTRY))\n"
        "    return at_head\n"
        "at_head = asyncio.run(main())\n"
        f"heavy = set({list(HEAVY)!r})\n"
        "print(json.dumps([at_head, sorted({m.split('.')[0] for m in sys.modules} & heavy)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    at_head, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert at_head
    assert loaded == []
