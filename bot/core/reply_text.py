"""Before a reply is queued: a saved answer's call (``/renewals``) filled in, and the privacy guard.

Both are pure (``bot/domain/answers.py``, ``bot/domain/privacy.py``); this module gives them what the
service knows: the opening hours in the library's zone, the patron's name, the mention's language.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from bot.domain.answers import Fill, expand
from bot.domain.privacy import findings
from bot.models import OpenForm, Reply, Visibility
from bot.platforms import replies_private
from bot.rota.branches import branch_hours
from bot.rota.hours import Hours
from bot.rota.timespec import format_range
from bot.store import mentions
from bot.views import ActionResult

if TYPE_CHECKING:
    from bot.core.context import Context
    from bot.store.mentions import StoredMention


def hours_on(ctx: Context, day: date, role: str = "") -> str:
    """`09:00-17:00` (windows joined by commas), or `closed`: the opening hours of one day (at the
    branch of ``role`` when it has one)."""
    branch = ctx.rules.branch_of(role)
    book = branch_hours(branch, ctx.branch_hours) if branch else ctx.dated_hours or Hours(ctx.opening_hours)
    windows = book.on(day)
    if not windows:
        return "closed"
    return ", ".join(format_range(a.time(), b.time()) for a, b in windows)


def fill_for(ctx: Context, row: StoredMention) -> Fill:
    """What a saved answer's variables mean for this mention, today in the library's zone."""
    today = ctx.clock().astimezone(ctx.rota.zone_of(row.role)).date()
    return Fill(
        patron=row.author_name or row.author_handle or "there",
        local_date=today,
        hours_on=lambda day: hours_on(ctx, day, row.role),
    )


def filled(ctx: Context, row: StoredMention, text: str) -> str:
    """``text`` itself, or the saved answer it calls filled in; ``ValueError`` for an unknown name."""
    answer = expand(text, ctx.answers, fill_for(ctx, row), lang=row.lang)
    return text if answer is None else answer.strip()


def guard_findings(ctx: Context, row: StoredMention, text: str) -> str:
    """What the privacy guard finds before a reply is published ("" for a private conversation)."""
    if row.visibility == Visibility.DIRECT.value or replies_private(row.source):
        return ""
    return findings(ctx.guard, reply=text, post=row.text or "")


def held_because(ctx: Context, row: StoredMention, action: Reply, text: str) -> str:
    """Why a public reply waits for a confirmation (what the guard found, how to confirm), or ""."""
    if action.confirmed or action.visibility is Visibility.DIRECT:
        return ""
    found = guard_findings(ctx, row, text)
    if not found:
        return ""
    return (
        f"Not sent yet: {found}, which must not be made public. Answer privately (ask the patron to "
        "write to the library directly), or, if it is safe to publish, send it again with ! after "
        "reply (`reply! …`)."
    )


async def answers_query(ctx: Context, arg: str) -> ActionResult:
    """`answers`: the saved answers; `answers N /name`: that answer filled in for card N (a form
    fills its text box with it; nothing is sent)."""
    number, _, call = arg.strip().partition(" ")
    if not number:
        return ActionResult(True, ctx.answers.listing(), choices=ctx.answers.names)
    digits = number.lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10 or not call.strip():
        return ActionResult(False, "Say which card and answer: `answers 3 /renewals`.")
    async with ctx.db.transaction() as session:
        row = await ctx.row(session, int(digits))
    call = call.strip() if call.strip().startswith("/") else "/" + call.strip()
    try:
        text = expand(call, ctx.answers, fill_for(ctx, row), lang=row.lang)
    except ValueError as exc:
        return ActionResult(False, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    if text is None:
        return ActionResult(False, "Name one saved answer: `answers 3 /renewals`.")
    return ActionResult(True, text, ctx.render(row), choices=ctx.answers.names)


async def open_form(ctx: Context, action: OpenForm) -> ActionResult:
    """The card a form shows, the saved answers it offers, and (for a draft) the guard's findings."""
    async with ctx.db.transaction() as session:
        row = await mentions.get(session, action.mention_id)
    if row is None:
        return ActionResult(True, "", choices=ctx.answers.names)
    if not action.text:
        return ActionResult(True, "", ctx.render(row), choices=ctx.answers.names)
    try:
        text = filled(ctx, row, action.text)
    except ValueError as exc:
        return ActionResult(False, f"{str(exc)[:1].upper()}{str(exc)[1:]}.", ctx.render(row))
    found = guard_findings(ctx, row, text)
    return ActionResult(True, found, ctx.render(row), choices=ctx.answers.names, extra=(text,))
