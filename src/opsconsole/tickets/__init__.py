"""Ticket workflow services (engine layer): intake, triage, replies, escalation."""
