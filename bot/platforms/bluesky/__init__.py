"""Bluesky: the AT Protocol source (notifications, replies with facets)."""
