"""Change an active incident's severity (``v``) and impact (``a``) as it develops.

Each change is a timeline entry (``Severity: high (was critical)``, ``Impact: …``), so the
next stakeholder update and the review carry it; the subject line of later updates shows
the new severity.
"""

from __future__ import annotations

from opsconsole.core.incidents import Impact, IncidentSeverity
from opsconsole.screens.failures import noted
from opsconsole.screens.incident_actions import IncidentActions

__all__ = ["IncidentChangeActions"]


class IncidentChangeActions(IncidentActions):
    """The console App's incident actions, with severity and impact changes."""

    def action_incident_severity(self) -> None:
        """Pick a new severity (v on the incident screen)."""
        from opsconsole.screens.ticket_dialogs import PickScreen

        incident = self._active_or_say()
        if incident is None:
            return
        options = [
            (s.value, f"{s.value}{'  (now)' if s is incident.severity else ''}")
            for s in IncidentSeverity
        ]

        async def chosen(value: str | None) -> None:
            if value is None or value == incident.severity.value:
                return
            with noted(self, "Severity not saved") as outcome:
                await self.incident_service.set_severity(IncidentSeverity(value))
            if not outcome.failed:
                self.notify(f"Severity: {value} (recorded)", markup=False)

        self.push_screen(PickScreen("Incident severity", options), chosen)

    def action_incident_impact(self) -> None:
        """Record a new impact estimate (a on the incident screen)."""
        from opsconsole.screens.incident_dialogs import ImpactScreen

        incident = self._active_or_say()
        if incident is None:
            return

        async def saved(impact: Impact | None) -> None:
            if impact is None or impact == incident.impact:
                return
            with noted(self, "Impact not saved") as outcome:
                await self.incident_service.set_impact(impact)
            if not outcome.failed:
                self.notify(f"Impact: {impact.label()} (recorded)", markup=False)

        self.push_screen(ImpactScreen(incident.impact), saved)
