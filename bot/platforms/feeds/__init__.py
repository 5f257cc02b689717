"""Web feeds (RSS, Atom, JSON Feed): a read-only source polled with conditional requests."""
