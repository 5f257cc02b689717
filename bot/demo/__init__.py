"""The demo behind `patron-desk run --demo` (`make run`): a feed, stand-ins for the social platforms
and a few scripted patrons, all on loopback, so the whole loop runs offline with the real adapters.

Each platform's stand-in lives in its own package (``bot/platforms/<name>/standin.py``, named by its
spec's ``build_standin``); this package holds what they share and the demo's running order.
"""

from bot.demo.feed import FEED_NAME, DemoFeed, DemoFeedServer, Snapshot, default_feed_path

__all__ = ["FEED_NAME", "DemoFeed", "DemoFeedServer", "Snapshot", "default_feed_path"]
