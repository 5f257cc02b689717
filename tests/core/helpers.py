"""Builders for core tests: a service on a real database with a small rules file and rota."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.core.service import DeskService
from bot.models import Mention, StaffRef
from bot.platforms import source_platforms
from bot.rota.rota import Rota, Shift
from bot.routing.rules import RuleSet, load_rules
from bot.store.db import Database
from bot.store.rota_repo import sync_roles, sync_staff

RULES = """
default_role = "social-media"

[roles.social-media]
sla_minutes = 30
[roles.circulation]
sla_minutes = 20
backup = "social-media"

[[rules]]
name = "renewals"
role = "circulation"
keywords = ["renew", "overdue"]

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "UALICE1"

[[staff]]
key = "bob"
name = "Bob Baker"
slack_user_id = "UBOB001"
"""

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday afternoon


def rules() -> RuleSet:
    """The small rules file above."""
    return load_rules(RULES, platforms=source_platforms())


def rota() -> Rota:
    """Alice on social media and Bob on circulation, every day, all day."""
    every = frozenset(range(7))
    return Rota(
        zone=ZoneInfo("UTC"),
        shifts=(
            Shift(id=1, role="social-media", person="alice", days=every, start=time(0), end=time(0)),
            Shift(id=2, role="circulation", person="bob", days=every, start=time(0), end=time(0)),
        ),
    )


def mention(n: int, text: str = "Can I renew my book online?", source: str = "fake") -> Mention:
    """A mention with a stable external id."""
    return Mention(
        source=source,
        external_id=f"ext-{n}",
        text=text,
        created_at=NOW,
        url=f"https://social.example/@patron/{n}",
        author_handle="@patron@social.example",
        author_name="A Patron",
    )


def staff(n: int) -> StaffRef:
    """A Slack identity for claimer number n."""
    return StaffRef("slack", f"UCLAIM{n:04d}", f"Claimer {n}")


async def make_service(
    db: Database, *, desks: tuple[str, ...] = ("test",), now: datetime = NOW
) -> DeskService:
    """A started service with the rules above, roles and staff seeded."""
    ruleset = rules()
    async with db.transaction() as session:
        await sync_roles(session, ruleset)
        await sync_staff(session, ruleset.staff)
    service = DeskService(db, rules=ruleset, rota=rota(), desks=desks, clock=lambda: now)
    await service.start()
    return service
