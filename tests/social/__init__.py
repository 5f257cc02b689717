"""Mastodon, Bluesky and webhook sources against loopback servers and recorded payload shapes."""
