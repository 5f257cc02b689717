"""``patron-desk check --connect``: which of the permissions a Meta platform needs the token lacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import PatronDeskError
from bot.platforms.meta.graph import GraphClient


def granted_scopes(body: Any) -> frozenset[str] | None:
    """The scopes of a ``GET /debug_token`` answer; None when it does not list them."""
    data = body.get("data") if isinstance(body, Mapping) else None
    scopes = data.get("scopes") if isinstance(data, Mapping) else None
    if not isinstance(scopes, list):
        return None
    return frozenset(s for s in scopes if isinstance(s, str))


def missing_line(needed: tuple[str, ...], granted: frozenset[str] | None) -> str:
    """``"; missing permissions: a, b"``, ``"; all permissions granted"`` or why it is unknown."""
    if granted is None:
        return "; permissions unknown (the token's debug info did not list them)"
    missing = [scope for scope in needed if scope not in granted]
    return f"; missing permissions: {', '.join(missing)}" if missing else "; all permissions granted"


async def permissions_line(client: GraphClient, token: str, needed: tuple[str, ...]) -> str:
    """Ask ``/debug_token`` about ``token`` and say what is missing (a failure is said, not raised)."""
    try:
        body = await client.get("debug_token", input_token=token)
    except PatronDeskError as exc:
        return f"; permissions unknown ({exc})"
    return missing_line(needed, granted_scopes(body))
