"""The explicit registry of source adapters: name -> module holding `build(settings, deps)`.

Modules are imported only when their platform is configured, which keeps start-up quick.
"""

from __future__ import annotations

SOURCES: dict[str, str] = {
    "feeds": "bot.adapters.feeds",
    "mastodon": "bot.adapters.mastodon",
    "bluesky": "bot.adapters.bluesky",
    "matrix": "bot.adapters.matrix",
    "slack": "bot.adapters.slack",
    "webhook": "bot.adapters.webhook",
}

DESKS: dict[str, str] = {
    "slack": "bot.desk.slack",
    "matrix": "bot.desk.matrix",
    "console": "bot.desk.console",
}
