"""The incident banner shown on every screen: timer, status, next-update countdown."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from opsconsole.core.durations import format_duration
from opsconsole.core.incidents import UpdateState
from opsconsole.core.text import sanitize_terminal

STATE_STYLE = {
    UpdateState.OK: "bold $success",
    UpdateState.WARNING: "bold $warning reverse",
    UpdateState.OVERDUE: "bold $error reverse",
}


class IncidentBanner(Static):
    """Hidden unless an incident is active or its review is still due."""

    def __init__(self) -> None:
        super().__init__("", classes="incident-banner")

    def on_mount(self) -> None:
        """Redraw every second (the timer and countdown move)."""
        self.update_banner()
        self.set_interval(1.0, self.update_banner)

    def update_banner(self) -> None:
        """Read the app's current incident and draw the line."""
        app = self.app
        service = getattr(app, "incident_service", None)
        incident = getattr(app, "incident", None)
        review = getattr(app, "review_pending", None)
        if service is None or (incident is None and review is None):
            self.display = False
            return
        self.display = True
        now = service.clock()
        if incident is None:
            assert review is not None
            due = review.review_due
            left = format_duration(due - now) if due else "soon"
            self.update(
                Content.assemble(
                    (" REVIEW ", "bold $warning reverse"),
                    f"  post-incident review of #{review.id} due in {left}",
                    ("  · i: open · mark done with d", "dim"),
                )
            )
            return
        state, remaining = service.update_state(incident, now)
        elapsed = format_duration(now - incident.started_at)
        if state is UpdateState.OVERDUE:
            countdown = f"update OVERDUE by {format_duration(-remaining)}"
        else:
            countdown = f"next update in {format_duration(remaining)}"
        title = sanitize_terminal(incident.title, single_line=True, limit=60)
        self.update(
            Content.assemble(
                (f" INCIDENT #{incident.id} ", "bold $error reverse"),
                f"  {elapsed}  ",
                (incident.status.value.upper(), "bold"),
                f"  {incident.severity.value} · {title}  ",
                (f" {countdown} ", STATE_STYLE[state]),
                ("  i: incident · u: update", "dim"),
            )
        )
