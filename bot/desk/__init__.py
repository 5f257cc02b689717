"""The staff side: the service (use cases) and one file per chat surface."""
