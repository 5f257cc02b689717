"""The scripted mix of staff actions that several processes run against one database at once.

Every worker gets the same people in a different order, so the same first contact (a new Slack
or Matrix user, a name the rota gives for the first time) happens on two processes together.
"""

from __future__ import annotations

import random
from typing import Any

from bot.models import Claim, DeskQuery, Release, Reply, RotaCommand, StaffAction, StaffRef

RULES = """
default_role = "social-media"

[roles.social-media]
sla_minutes = 30
[roles.circulation]
sla_minutes = 20
backup = "social-media"

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "UALICE1"

[[staff]]
key = "bob"
name = "Bob Baker"
slack_user_id = "UBOB001"

[[staff]]
key = "dora"
name = "Dora"
slack_user_id = "UDORA01"

[[staff]]
key = "erin"
name = "Erin"
matrix_user_id = "@erin:example.org"
"""

# the people the rota commands name are on the staff list: rota commands make nobody up (issue 17)
RULES += "".join(
    f'\n[[staff]]\nkey = "{who}"\n'
    for who in [*(f"rota{n}" for n in range(6)), *(f"cli{n}" for n in range(6))]
)

ROTA_CSV = (
    "person,role,days,start,end\nalice,social-media,mon-fri,09:00,17:00\nbob,circulation,daily,00:00,24:00\n"
)
MENTIONS = 12
NEW_SLACK = 8
NEW_MATRIX = 4
ROTA_NAMES = 6
ALICE = StaffRef("slack", "UALICE1", "alice")
# a newcomer whose name is taken by someone else: gets a key of their own, never dora's row
NAMESAKE = StaffRef("slack", "UDORX99", "Dora")


def people() -> list[StaffRef]:
    """Everyone who acts: rules-file staff who never acted before, and people new to the desk."""
    listed = [StaffRef("slack", "UDORA01", "dora"), StaffRef("matrix", "@erin:example.org", "Erin")]
    slack = [StaffRef("slack", f"UNEW{n:04d}", f"New Person {n}") for n in range(NEW_SLACK)]
    matrix = [StaffRef("matrix", f"@mp{n}:example.org", f"Matrix Person {n}") for n in range(NEW_MATRIX)]
    return [*listed, *slack, *matrix, NAMESAKE]


def rota_line(n: int, hour: int = 0) -> str:
    """A rota command that names ``@rotaN`` (listed staff the rota has never named) for the first time.

    Workers send the same lines: the second of two equal covers is refused as a repeat.
    """
    return f"cover @rota{n} circulation tomorrow {hour + n % 9:02d}:00-{hour + n % 9:02d}:30"


def script(worker: int) -> list[dict[str, Any]]:
    """Worker ``worker``'s actions as JSON-able specs (see ``to_action``)."""
    rng = random.Random(worker)
    specs: list[dict[str, Any]] = []
    for n, who in enumerate(people()):
        mention = 1 + (n + worker) % MENTIONS
        specs.append({"kind": "claim", "who": [who.desk, who.user_id, who.display], "m": mention})
        specs.append({"kind": "reply", "who": [who.desk, who.user_id, who.display], "m": mention})
        specs.append({"kind": "release", "who": [who.desk, who.user_id, who.display], "m": mention})
    specs += [{"kind": "rota", "text": rota_line(n)} for n in range(ROTA_NAMES)]
    specs += [{"kind": "desk", "who": ["slack", "UBOB001", "bob"]} for _ in range(3)]
    rng.shuffle(specs)
    return specs


def to_action(spec: dict[str, Any]) -> StaffAction:
    """The staff action a spec stands for."""
    if spec["kind"] == "rota":
        return RotaCommand(ALICE, spec["text"], is_manager=True)
    who = StaffRef(*spec["who"])
    if spec["kind"] == "desk":
        return DeskQuery(who, "")
    if spec["kind"] == "reply":
        return Reply(spec["m"], who, "Thanks for asking, we are on it.")
    return {"claim": Claim, "release": Release}[spec["kind"]](spec["m"], who)


def expected_keys() -> set[str]:
    """Every staff key the run must end with, each exactly once."""
    keys = {"alice", "bob", "dora", "erin", "administrator", "dora-udorx99"}
    keys |= {f"new-person-{n}" for n in range(NEW_SLACK)}
    keys |= {f"matrix-person-{n}" for n in range(NEW_MATRIX)}
    keys |= {f"rota{n}" for n in range(ROTA_NAMES)}
    keys |= {f"cli{n}" for n in range(CLI_RUNS)}
    return keys


CLI_RUNS = 6


def cli_commands() -> list[list[str]]:
    """`patron-desk rota edit ...` lines: they name the worker's new people and some of their own."""
    lines = []
    for n in range(CLI_RUNS):
        lines.append(["rota", "edit", *rota_line(n, hour=12).split()])  # not a repeat of a worker's
        lines.append(["rota", "edit", "add", f"@cli{n}", "social-media", "sat", "10:00-12:00"])
    return lines
