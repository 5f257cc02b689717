"""Shared Graph API code for the Meta platforms (not a platform itself: no registry entry)."""
