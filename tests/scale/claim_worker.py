"""A claim-race worker process: claims every trial's mention with its share of claimers.

Usage: python -m tests.scale.claim_worker URL SCHEMA WORKER TRIALS CLAIMERS
Prints one JSON line: {"wins": [trial, ...], "losses": N, "wrong_messages": N}.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bot.models import Claim, StaffRef
from bot.store.db import Database
from tests.core.helpers import make_service


async def main(url: str, schema: str, worker: int, trials: int, claimers: int) -> None:
    kwargs = {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {}
    db = Database(url, **kwargs)
    service = await make_service(db)
    wins, losses, wrong = [], 0, 0
    for trial in range(trials):
        actors = [StaffRef("slack", f"U{worker}X{n:04d}", f"W{worker} C{n}") for n in range(claimers)]
        results = await asyncio.gather(*(service.handle(Claim(trial + 1, actor)) for actor in actors))
        for result in results:
            if result.ok:
                wins.append(trial)
            else:
                losses += 1
                wrong += "is already claimed by" not in result.message
    await db.aclose()
    print(json.dumps({"wins": wins, "losses": losses, "wrong_messages": wrong}))


if __name__ == "__main__":
    url, schema, worker, trials, claimers = sys.argv[1:6]
    asyncio.run(main(url, schema, int(worker), int(trials), int(claimers)))
