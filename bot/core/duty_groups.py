"""Chat user groups that follow the rota (a role's ``slack_usergroup``): on each shift change the group
is set to whoever holds the role, so staff can mention "whoever has reference now".

When nobody holds the role the group keeps its last people (Slack cannot empty a group with
``usergroups.users.update``, and a mention that reaches the last holder beats one that reaches nobody).
The wanted people are kept in ``meta`` and the outbox row reads them when it runs, so a retry after a
429 never puts back an earlier shift.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain.outbox import DutyPayload, OutboxKind, dedupe_key, encode
from bot.platforms import REGISTRY
from bot.store import outbox
from bot.store.duty import swap

if TYPE_CHECKING:
    from bot.core.context import Context


def groups(ctx: Context) -> list[tuple[str, str, str]]:
    """``(desk, role, group)`` for every role with a user group on a desk this service posts to."""
    out = []
    for name, spec in sorted(REGISTRY.items()):
        if spec.duty_group_field is None or name not in ctx.desks:
            continue
        for role, role_spec in sorted(ctx.rules.roles.items()):
            group = str(getattr(role_spec, spec.duty_group_field, "") or "")
            if group:
                out.append((name, role, group))
    return out


async def sync(ctx: Context, now: datetime) -> None:
    """Queue a group update for each role whose holders changed since the last one (once, whatever
    the number of processes)."""
    for desk, role, group in groups(ctx):
        holders = ctx.rota.on_duty(role, now)
        users = sorted({ref.user_id for ref in ctx.directory.refs(holders) if ref.desk == desk})
        if not users:
            continue  # nobody on duty (or nobody known on this desk): the group keeps its people
        async with ctx.db.transaction() as session:
            if not await swap(session, desk, role, users):
                continue
            await outbox.enqueue(
                session,
                kind=OutboxKind.DUTY_GROUP,
                target=desk,
                mention_id=None,
                dedupe_key=dedupe_key(OutboxKind.DUTY_GROUP, desk, None, role, now.isoformat()),
                now=now,
                payload=encode(DutyPayload(role=role, group=group)),
            )
        ctx.wake(desk)
