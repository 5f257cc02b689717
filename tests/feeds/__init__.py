"""The feeds tests."""
