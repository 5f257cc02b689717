"""Slack: one shared client, a source for public channels and the staff desk (cards, modals, roster)."""
