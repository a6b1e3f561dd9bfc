"""Incident mode services (engine layer): declare, update, timeline, resolve."""
