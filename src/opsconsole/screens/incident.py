"""The incident screen: summary, the guide's §8 playbook, the timeline, and history."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from opsconsole.core.durations import format_duration
from opsconsole.core.incidents import (
    PLAYBOOK,
    Incident,
    IncidentStatus,
    all_clear_allowed,
    duration_label,
    incident_metrics,
    mean_time_to_resolve,
)
from opsconsole.core.text import sanitize_terminal
from opsconsole.screens.failures import noted
from opsconsole.widgets.incident_banner import IncidentBanner
from opsconsole.widgets.key_footer import KeyFooter


def _one(text: str, limit: int = 200) -> str:
    return sanitize_terminal(text, single_line=True, limit=limit)


class IncidentScreen(Screen[None]):
    """``u`` update, ``n`` note, ``s`` status, ``v`` severity, ``a`` impact, ``z`` snooze,
    ``R`` resolve, ``d`` review done."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("u", "app.incident_update", "Update"),
        Binding("n", "app.incident_note", "Note"),
        Binding("s", "app.incident_status", "Status"),
        Binding("v", "app.incident_severity", "Severity"),
        Binding("a", "app.incident_impact", "Impact"),
        Binding("z", "app.incident_snooze", "Snooze"),
        Binding("R", "app.incident_resolve", "Resolve", key_display="R"),
        Binding("d", "app.incident_review_done", "Review done"),
    ]

    _ready = False

    def compose(self) -> ComposeResult:
        """Banner, body, footer."""
        yield IncidentBanner()
        with VerticalScroll(id="incident-body"):
            yield Static("", id="incident-summary")
            yield Static("", id="incident-playbook-title")
            yield SelectionList[str](id="incident-playbook")
            yield Static("", id="incident-timeline")
            yield Static("", id="incident-history")
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Draw now and every second (timer, window countdown)."""
        self._ready = True  # compose is done: every widget exists from here on
        await self.reload()
        self.set_interval(1.0, self._tick)

    @property
    def service(self) -> Any:
        """The app's IncidentService."""
        return getattr(self.app, "incident_service", None)

    async def reload(self) -> None:
        """Re-read the incident and history and redraw (skipped while mounting or closing)."""
        try:
            await self._reload()
        except NoMatches:  # the screen is being composed or torn down: nothing to draw
            return

    async def _reload(self) -> None:
        service = self.service
        if service is None or not self._ready:
            return  # not mounted yet (a refresh can arrive while the screen is being pushed)
        with noted(self.app, "Reading the incident", once=True) as outcome:
            incident = await service.active()
            history = await service.store.list_incidents(limit=20)
        if outcome.failed:  # keep what is shown (the operator has been told once)
            return
        self._incident = incident
        self._render_summary(incident)
        self._render_playbook(incident)
        self._render_timeline(incident)
        self._render_history(history)

    def _tick(self) -> None:
        if self._ready:
            with contextlib.suppress(NoMatches):  # closing
                self._render_summary(getattr(self, "_incident", None))

    def _render_summary(self, incident: Incident | None) -> None:
        box = self.query_one("#incident-summary", Static)
        service = self.service
        if incident is None or service is None:
            box.update(
                Content.assemble(
                    ("No active incident. ", "bold"),
                    "Press I to declare one (guide §8 Step 1: confirm, then notify within 15 min).",
                )
            )
            return
        now = service.clock()
        state, remaining = service.update_state(incident, now)
        allowed, window = all_clear_allowed(
            incident, now, window=service.config.incident.monitoring_window
        )
        lines = [
            Content.assemble((f"#{incident.id}  {_one(incident.title)}", "bold")),
            Content.assemble(
                ("Component ", "dim"),
                _one(incident.component, 40),
                ("   Severity ", "dim"),
                incident.severity.value,
                ("   Status ", "dim"),
                (incident.status.value, "bold"),
                ("   Running ", "dim"),
                format_duration(now - incident.started_at),
            ),
            Content.assemble(("Impact    ", "dim"), _one(incident.impact.label())),
            Content.assemble(
                ("Next update ", "dim"),
                (
                    f"OVERDUE by {format_duration(-remaining)}"
                    if remaining < timedelta(0)
                    else f"in {format_duration(remaining)}",
                    "bold $error" if state.value == "overdue" else "",
                ),
            ),
        ]
        if incident.status is IncidentStatus.MONITORING:
            window_text = (
                "all-clear allowed"
                if allowed
                else f"monitoring window: {format_duration(window)} left before the all-clear"
            )
            lines.append(Content.assemble(("Step 6    ", "dim"), window_text))
        box.update(Content("\n").join(lines))

    def _render_playbook(self, incident: Incident | None) -> None:
        title = self.query_one("#incident-playbook-title", Static)
        steps = self.query_one("#incident-playbook", SelectionList)
        steps.clear_options()
        if incident is None:
            title.display = steps.display = False
            return
        title.display = steps.display = True
        title.update(Content.styled("Playbook (guide §8) — space ticks a step", "bold underline"))
        evidence_of = getattr(self.app, "runbook_evidence", None)
        times = dict(incident.playbook_times)
        tz = self.service.config.tz if self.service else None
        options = []
        for step in PLAYBOOK:
            label = f"Step {step.step}: {step.text}"
            if step.key in times and tz is not None:
                label += f"  ✓ {times[step.key].astimezone(tz):%H:%M}"
            live = evidence_of(step.evidence) if evidence_of and step.evidence else None
            if live:
                label += f"   [{live}]"
            options.append(
                Selection(Content(_one(label, 220)), step.key, step.key in incident.playbook)
            )
        steps.add_options(options)

    @on(SelectionList.SelectionToggled, "#incident-playbook")
    async def _toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        service = self.service
        if service is None:
            return
        key = str(event.selection.value)
        with noted(self.app, "Playbook step not saved") as outcome:
            await service.tick_playbook(key, key in event.selection_list.selected)
        if outcome.failed:
            await self.reload()  # show the ticks as stored

    def _render_timeline(self, incident: Incident | None) -> None:
        box = self.query_one("#incident-timeline", Static)
        if incident is None:
            box.display = False
            return
        box.display = True
        lines = [Content.styled("Timeline (UTC)", "bold underline")]
        for entry in incident.timeline:
            delivery = f"  [{entry.delivery}]" if entry.delivery else ""
            first = entry.text.splitlines()[0] if entry.text else ""
            lines.append(
                Content.assemble(
                    (entry.at.strftime("%H:%M:%S"), "dim"),
                    "  ",
                    (f"{entry.kind.value:<9}", "bold"),
                    " ",
                    _one(first, 150),
                    (_one(delivery, 80), "dim"),
                )
            )
        box.update(Content("\n").join(lines))

    def _render_history(self, history: list[Incident]) -> None:
        service = self.service
        box = self.query_one("#incident-history", Static)
        if service is None:
            return
        lines = [Content.styled("History", "bold underline")]
        now = service.clock()
        for incident in history:
            metrics = incident_metrics(incident, service.every, now)
            first = (
                duration_label(metrics.time_to_first_update)
                if metrics.time_to_first_update is not None
                else "—"
            )
            kept = f"{metrics.cadence_kept:.0f}%" if metrics.cadence_kept is not None else "—"
            review = (
                "review done"
                if incident.review_done_at
                else ("review due" if incident.resolved_at else "")
            )
            lines.append(
                Content.assemble(
                    (f"#{incident.id:<4}", "bold"),
                    f"{incident.started_at:%Y-%m-%d %H:%M}  ",
                    (f"{incident.status.value:<14}", ""),  # "investigating" is 13
                    f"duration {duration_label(metrics.duration):<10} first update {first:<8} "
                    f"cadence kept {kept:<5} ",
                    (review, "dim"),
                    "  ",
                    _one(incident.title, 60),
                )
            )
        if not history:
            lines.append(Content.styled("no incidents yet", "dim"))
        mttr = mean_time_to_resolve(history)
        if mttr is not None:
            resolved = sum(1 for i in history if not i.active)
            lines.append(
                Content.assemble(
                    ("MTTR ", "dim"),
                    f"{duration_label(mttr)}",
                    (f" over {resolved} resolved", "dim"),
                )
            )
        box.update(Content("\n").join(lines))
