"""Mastodon: the source (notifications by polling or streaming, replies with visibility)."""
