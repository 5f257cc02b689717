"""Persistence: SQLAlchemy 2.0 async tables, engine and queries."""
