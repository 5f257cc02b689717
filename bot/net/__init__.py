"""Shared HTTP plumbing for the platform clients: status to domain error, retries, timestamps."""
