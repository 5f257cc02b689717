"""The matrix tests."""
