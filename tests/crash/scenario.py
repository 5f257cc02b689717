"""A seeded run: the mentions patrons post (and when), what staff do with them, and which pass crashes."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.crashpoints import POINTS

EMULATOR_DROP = "emulator_drop"  # no code point: Slack commits a card post and drops the connection
SLACK_TIMEOUT = "slack_timeout"  # the same drop and no crash: the running bot reconciles (not in the matrix)
ALL_POINTS: tuple[str, ...] = (*POINTS, EMULATOR_DROP)
STAFF = {"alice": "U0ALICE01", "bob": "U0BOB0001", "carol": "U0CAROL01"}

# The highest pass N a seed may pick per point: the scenario below always makes at least this many.
MIN_MENTIONS, MIN_CLAIMS, MIN_REPLIES = 4, 3, 2
MOST: dict[str, int] = {
    "after_fetch": MIN_MENTIONS,
    "in_ingest": MIN_MENTIONS,
    "after_ingest_commit": MIN_MENTIONS,
    "after_lease": 2 * MIN_MENTIONS,
    "before_slack_post": MIN_MENTIONS,
    "after_slack_post": MIN_MENTIONS,
    EMULATOR_DROP: MIN_MENTIONS,
    SLACK_TIMEOUT: MIN_MENTIONS,
    "before_source_reply": MIN_REPLIES,
    "after_source_reply": MIN_REPLIES,
    "in_claim": MIN_CLAIMS,
    "after_claim_commit": MIN_CLAIMS,
    "in_reply": MIN_REPLIES,
    "after_reply_commit": MIN_REPLIES,
    "before_card_update": MIN_CLAIMS,
    "after_card_update": MIN_CLAIMS,
}


@dataclass(frozen=True, slots=True)
class Step:
    """One staff action on one mention's card: a claim (with rival claimers), or a reply."""

    mention: int
    kind: str  # "claim" or "reply"
    users: tuple[str, ...]  # staff keys clicking at once (a claim race when more than one)
    text: str = ""
    pause: float = 0.0  # seconds after the previous step


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one (point, seed) run does."""

    point: str
    seed: int
    nth: int  # the pass of ``point`` that crashes
    tokens: tuple[str, ...]  # one unique word per mention, to find its card and its replies
    visibility: tuple[str, ...]
    early: int  # mentions posted before the bot first starts
    gaps: tuple[float, ...]  # seconds before each later mention
    steps: tuple[Step, ...]

    @property
    def crash_at(self) -> str:
        """The value of PATRON_DESK_CRASH_AT for the first start."""
        return f"{self.point}:{self.nth}"


def scenario(point: str, seed: int) -> Scenario:
    """The run for ``point`` and ``seed``: the same mentions and staff steps for every point."""
    rng = random.Random(seed)
    count = rng.randint(MIN_MENTIONS, MIN_MENTIONS + 2)
    tokens = tuple(f"crashtoken{seed:04d}n{i:02d}x" for i in range(count))
    visibility = tuple(rng.choice(("public", "public", "unlisted", "direct")) for _ in range(count))
    early = rng.randint(0, 2)
    gaps = tuple(round(rng.uniform(0.05, 0.8), 3) for _ in range(count - early))
    steps: list[Step] = []
    for i in range(count):
        claims = i < MIN_CLAIMS or rng.random() < 0.6
        replies = i < MIN_REPLIES or rng.random() < 0.4
        owner = rng.choice(sorted(STAFF))
        if claims:
            racing = i >= MIN_REPLIES  # a rival may win, and then the owner's reply is refused
            rivals = [u for u in sorted(STAFF) if racing and u != owner and rng.random() < 0.3]
            users = (owner, *rivals) if rng.random() < 0.5 else (*rivals, owner)
            steps.append(Step(i, "claim", users, pause=round(rng.uniform(0.0, 0.3), 3)))
        if replies:
            text = f"Reply {i} to {tokens[i]}: yes, we are open until eight."
            steps.append(Step(i, "reply", (owner,), text=text, pause=round(rng.uniform(0.0, 0.3), 3)))
    nth = random.Random(f"{point}/{seed}").randint(1, MOST[point])
    return Scenario(point, seed, nth, tokens, visibility, early, gaps, tuple(steps))
