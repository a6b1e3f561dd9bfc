"""Textual widgets (panes)."""
