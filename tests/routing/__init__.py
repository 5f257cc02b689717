"""The routing tests."""
