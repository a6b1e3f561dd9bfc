"""Adapters that talk to the outside world (HTTP, TCP, SQLite)."""
