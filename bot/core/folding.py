"""Summary cards: list a page of a fold's items, claim or resolve every waiting one.

Each item goes through the same use case as a click on its own card (``bot/core/actions.py``), so
the status table, guards and audit apply to every one; the summary card is refreshed by each change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.fold import fold_command
from bot.core import actions
from bot.core.cards import source_name
from bot.errors import NotFound
from bot.models import MAX_ID, Claim, FoldAction, Resolve, Status
from bot.platforms import REGISTRY
from bot.store import folds
from bot.views import ActionResult, FoldView

if TYPE_CHECKING:
    from bot.core.context import Context
    from bot.store.folds import FoldStats

PAGE = 20
CLAIMED = frozenset({Status.CLAIMED.value, Status.REPLIED.value})
HANDLED = frozenset({Status.RESOLVED.value, Status.IGNORED.value})


def fold_view(stats: FoldStats) -> FoldView:
    """The summary card's counts."""
    claimed = sum(n for s, n in stats.statuses.items() if s in CLAIMED)
    handled = sum(n for s, n in stats.statuses.items() if s in HANDLED)
    waiting = stats.total - claimed - handled
    return FoldView(stats.id, stats.source, stats.role, stats.total, waiting, claimed, handled)


async def run(ctx: Context, action: FoldAction) -> ActionResult:
    """List, claim all or resolve all."""
    if not 0 < action.fold_id <= MAX_ID:
        raise NotFound(f"no summary card {action.fold_id}")
    async with ctx.db.transaction() as session:
        stats = await folds.stats(session, action.fold_id)
    if stats is None:
        raise NotFound(f"no summary card {action.fold_id}")
    if action.verb == "list":
        return await _list(ctx, action, stats)
    return await _all(ctx, action)


async def _list(ctx: Context, action: FoldAction, stats: FoldStats) -> ActionResult:
    pages = max((stats.total + PAGE - 1) // PAGE, 1)
    page = min(max(action.page, 0), pages - 1)
    async with ctx.db.transaction() as session:
        rows = await folds.members(session, action.fold_id, offset=page * PAGE, limit=PAGE)
    name = source_name(stats.source)
    head = f"Summary card {stats.id} ({name}): {stats.total} items, page {page + 1} of {pages}."
    lines = []
    for row in rows:
        who = f" by {ctx.directory.name(row.assignee)}" if row.assignee else ""
        title = " ".join(row.text.split())[:120]
        lines.append(f"#{row.id} · {row.status}{who} · {title} · {row.url or 'no link'}")
    prefix = command_prefix(action.actor.desk)
    if page + 1 < pages:
        lines.append(f"More: {fold_command(stats.id, f'list {page + 2}', prefix=prefix)}")
    lines.append(
        f"Each item takes the usual commands by its number (claim {rows[0].id if rows else 'N'} ...)."
    )
    return ActionResult(True, head, extra=tuple(lines))


async def _all(ctx: Context, action: FoldAction) -> ActionResult:
    async with ctx.db.transaction() as session:
        ids = await folds.member_ids(session, action.fold_id)
    verb = Claim if action.verb == "claim" else Resolve
    done = 0
    for mention_id in ids:
        result = await actions.change(ctx, verb(mention_id, action.actor))
        done += result.ok
    past = "Claimed" if verb is Claim else "Marked handled"
    skipped = len(ids) - done
    note = f" ({skipped} were already taken or closed)" if skipped else ""
    return ActionResult(
        True, f"{past} {done} of the {len(ids)} items on summary card {action.fold_id}{note}."
    )


def command_prefix(desk: str) -> str:
    """What staff type before ``desk`` on this desk ("/" on Slack, "!" on Matrix, "" at a terminal)."""
    spec = REGISTRY.get(desk)
    return "" if spec is None or spec.local else spec.command_prefix
