"""Named crash points for the crash-point matrix: SIGKILL this process at the N-th pass of one point.

``crash_point("after_lease")`` is a no-op unless ``PATRON_DESK_CRASH_AT`` names that point
(``"after_lease"`` for its first pass, ``"after_lease:3"`` for its third); then that pass kills the
process with SIGKILL, as a power cut or the OOM killer would, with nothing flushed or closed.
``PATRON_DESK_NO_RECONCILE=1`` switches off the two reconciliations that make retries safe (the Slack
history search before a repeated card post, Mastodon's ``Idempotency-Key``), for the matrix's negative
control only.

Both variables are read once, here, at import. This is the one sanctioned environment read outside
``bot/config.py``: they are test machinery, not settings, and must stay out of ``Settings``, ``.env``
and the documented interface. ``POINTS`` lists the points, in the order a mention meets them
(release, resolve and ignore pass ``in_<verb>`` and ``after_<verb>_commit`` too, as claim does).
"""

from __future__ import annotations

import os
import signal
import threading

POINTS: dict[str, str] = {
    "after_fetch": "a source yielded a mention, before ingest (bot/app.py)",
    "in_ingest": "inside the ingest transaction, before it commits (bot/core/service.py)",
    "after_ingest_commit": "ingest committed, before the relay is woken (bot/core/service.py)",
    "after_lease": "an outbox row is leased, before the platform is called (bot/core/relay.py)",
    "before_slack_post": "just before chat.postMessage of a card (platforms/slack/desk.py)",
    "after_slack_post": "chat.postMessage answered ok, card row not yet stored (platforms/slack/desk.py)",
    "before_source_reply": "just before a reply is published on the source (bot/core/relay.py)",
    "after_source_reply": "reply published, before it is recorded (bot/core/relay.py)",
    "in_claim": "inside the claim transaction, before it commits (bot/core/actions.py)",
    "after_claim_commit": "claim committed, before the actor is answered (bot/core/actions.py)",
    "in_reply": "inside the reply transaction, before it commits (bot/core/actions.py)",
    "after_reply_commit": "reply queued and committed, before the actor is answered (bot/core/actions.py)",
    "before_card_update": "just before chat.update of a card (bot/core/relay.py)",
    "after_card_update": "card updated, before its outbox row is finished (bot/core/relay.py)",
}


def _parse(raw: str) -> tuple[str, int]:
    name, _, nth = raw.strip().partition(":")
    if not nth:
        return name, 1
    if not nth.isdigit() or int(nth) < 1:
        raise ValueError(f"PATRON_DESK_CRASH_AT={raw!r}: expected NAME or NAME:N with N >= 1")
    return name, int(nth)


_NAME, _NTH = _parse(os.environ.get("PATRON_DESK_CRASH_AT", ""))
_RECONCILE = os.environ.get("PATRON_DESK_NO_RECONCILE", "").strip().lower() not in ("1", "true", "yes", "on")
_lock = threading.Lock()  # in_ingest may run on the SQLite writer thread
_passes = 0


def crash_point(name: str) -> None:
    """Kill this process (SIGKILL) if ``name`` is the armed point and this is its N-th pass.

    Args:
        name: the point's name (one of ``POINTS``).
    """
    global _passes
    if name != _NAME:
        return
    with _lock:
        _passes += 1
        due = _passes == _NTH
    if due:
        os.write(2, f"\ncrash point {name}:{_NTH} reached; SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)


def reconcile_enabled() -> bool:
    """False only in the negative control (``PATRON_DESK_NO_RECONCILE=1``): retries then skip the
    Slack history search and Mastodon's Idempotency-Key, so crashes show up as duplicates."""
    return _RECONCILE
