"""Prometheus metrics and the health report behind `/metrics` and `/healthz`.

Labels are platform, desk, role and action names only: never patron text, handles or ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

INGESTED = Counter("patron_desk_mentions_ingested", "New mentions stored", ["source"], registry=REGISTRY)
ROUTED = Counter("patron_desk_mentions_routed", "Routing decisions", ["role", "queued"], registry=REGISTRY)
POSTED = Counter("patron_desk_cards_posted", "Cards posted on a desk", ["desk"], registry=REGISTRY)
ACTIONS = Counter(
    "patron_desk_staff_actions", "Staff actions by outcome", ["action", "outcome"], registry=REGISTRY
)
REPLIED = Counter(
    "patron_desk_replies_published", "Replies published on a source", ["source"], registry=REGISTRY
)
ERRORS = Counter(
    "patron_desk_errors", "Failed attempts by platform and kind", ["platform", "kind"], registry=REGISTRY
)
RESTARTS = Counter(
    "patron_desk_part_restarts", "Parts restarted after an unexpected error", ["part"], registry=REGISTRY
)
QUARANTINED = Counter(
    "patron_desk_items_quarantined",
    "Items set aside because they could not be stored",
    ["source", "reason"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge("patron_desk_outbox_depth", "Pending outbox rows", registry=REGISTRY)
OUTBOX_AGE = Gauge(
    "patron_desk_outbox_oldest_age_seconds", "Age of the oldest pending row", registry=REGISTRY
)
FAILED = Gauge(
    "patron_desk_outbox_failed", "Outbox rows parked as failed (kept, never dropped)", registry=REGISTRY
)


def render(*, depth: int, oldest: datetime | None, failed: int, now: datetime) -> bytes:
    """The metrics page, with the outbox gauges read just now."""
    OUTBOX_DEPTH.set(depth)
    OUTBOX_AGE.set((now - oldest).total_seconds() if oldest else 0)
    FAILED.set(failed)
    return generate_latest(REGISTRY)


@dataclass
class Health:
    """Each part's state: "ok", "starting", or a short reason it is not working."""

    parts: dict[str, str] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)  # part -> restarts after an unexpected error

    def set(self, part: str, state: str) -> None:
        """Record a part's state."""
        self.parts[part] = state

    def restarted(self, part: str) -> None:
        """Count one restart of a part."""
        self.restarts[part] = self.restarts.get(part, 0) + 1

    def report(self, outbox: Mapping[str, object]) -> tuple[int, dict[str, object]]:
        """HTTP status (200 when every part is ok, else 503) and the JSON body."""
        healthy = all(state == "ok" for state in self.parts.values())
        body: dict[str, object] = {
            "status": "ok" if healthy else "degraded",
            "parts": dict(sorted(self.parts.items())),
            "restarts": dict(sorted(self.restarts.items())),
            "outbox": outbox,
        }
        return (200 if healthy else 503), body
