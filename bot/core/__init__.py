"""The use cases: the service, claims, rota administration, relay, timers, retention, directory, views."""
