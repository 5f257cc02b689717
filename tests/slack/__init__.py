"""The slack tests."""
