"""The demo's scripted patrons: realistic questions spread over the first few minutes."""

from __future__ import annotations

from bot.demo.standin import Patron

# Seconds after start. The first comes quickly so a new user has something to claim at once.
SCRIPT: tuple[Patron, ...] = (
    Patron("Maya Lindqvist", "mayareads", "are you open Monday? It's a holiday here.", 4),
    Patron("Tomás Rivera", "tomasr", "can I renew online? My books are due tomorrow.", 12),
    Patron("Priya Nair", "priya_n", "do you still run the Saturday story time for toddlers?", 40),
    Patron("Sam O'Connell", "samoc", "the self-checkout on the 2nd floor keeps rejecting my card", 75),
    Patron("June Park", "junepark", "is there a quiet room I can book for a video interview?", 110),
    Patron("Ahmed Haddad", "ahaddad", "thank you for the tax help session yesterday, it was great!", 150),
)


def assigned(platforms: list[str]) -> list[tuple[str, Patron]]:
    """Each scripted patron with the platform they post on, taking the platforms in turn."""
    if not platforms:
        return []
    return [(platforms[index % len(platforms)], patron) for index, patron in enumerate(SCRIPT)]
