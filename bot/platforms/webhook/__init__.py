"""The webhook: a signed HTTP endpoint a web form posts to (a push source)."""
