"""Incident mode's app-level actions and its one-second tick (a mixin of the App)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from textual.app import App

from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentStatus,
    UpdateState,
    all_clear_allowed,
    duration_label,
    suggest_declaring,
)
from opsconsole.core.models import ProbeState
from opsconsole.core.redact import redact_text
from opsconsole.core.sources import AlertsSnapshot, MetricsSnapshot, SentrySnapshot
from opsconsole.core.text import sanitize_terminal
from opsconsole.screens.failures import noted, one_line
from opsconsole.screens.navigation import open_screen

if TYPE_CHECKING:
    from opsconsole.screens.incident_dialogs import Declaration, UpdateChoice
    from opsconsole.screens.ticket_dialogs import ComposeResultData

# The dialogs (TextArea and its document machinery, ~11 ms to import) are imported where
# they open, not before the dashboard's first frame.

log = logging.getLogger(__name__)
SENTRY_SPIKE = 5  # new issues in 24 h between two polls that count as a spike


class IncidentActions(App[None]):
    """Declare (I), open (i), update (u) and the automatic prompt, banner and timeline."""

    config: Any
    clock: Any
    incident: Incident | None = None
    review_pending: Incident | None = None
    incident_service: Any = None
    _prompted_for: Any = None
    _overdue_rung: Any = None
    _suggested: set[str]
    _down_since: dict[str, Any]
    _last_sentry_new: int | None = None
    _known_alerts: set[str]

    def _incidents_init(self) -> None:
        self._suggested = set()
        self._down_since = {}
        self._known_alerts = set()
        self._critical_alerts: list[str] = []
        # Automatic timeline entries (kind, text, when) not yet written: a failed write is
        # retried with the next sync, in order, with its original time.
        self._auto_pending: list[tuple[EntryKind, str, Any]] = []
        self._auto_lock = asyncio.Lock()

    def _active_or_say(self) -> Incident | None:
        """The active incident, or None after saying there is none."""
        if self.incident is None or self.incident_service is None:
            self.notify("No active incident", severity="warning")
            return None
        return self.incident

    async def start_incidents(self, store: Any) -> None:
        """Build the service, load the active incident, start the tick and the outbox."""
        from opsconsole.incidents.service import IncidentService

        slack = None
        settings = self.config.incident
        if settings.slack is not None:
            from opsconsole.adapters.slack import SlackWebhook

            slack = SlackWebhook(settings.slack.webhook.get_secret_value())
        self.incident_service = IncidentService(
            store,
            self.config,
            clock=self.clock,
            slack=slack,
            listener=self._incident_changed,
        )
        self.incident = await self.incident_service.active()
        self.review_pending = await self.incident_service.pending_review()
        self.refresh_banners()
        self.set_interval(1.0, self.incident_tick)
        self.set_interval(15.0, self._flush_outbox)
        self.set_interval(30.0, lambda: self.suggest_incident(self._critical_alerts))
        self.set_interval(5.0, self._sync_incident)

    async def _sync_incident(self) -> None:
        """Another console on the same database may have declared or resolved one."""
        if self._auto_pending:
            await self._write_auto()
        try:
            current = await self.incident_service.active()
        except Exception:
            log.exception("incident sync failed")
            return
        before = self.incident
        if (before is None) != (current is None) or (
            current is not None and before is not None and current.id != before.id
        ):
            if current is not None and before is None:
                self.notify(
                    f"Incident #{current.id} was declared: "
                    f"{sanitize_terminal(current.title, single_line=True, limit=80)}",
                    markup=False,
                )
            self._incident_changed(current)
        elif (
            current is not None
            and before is not None
            and (current != before or current.timeline != before.timeline)
        ):
            # Changed elsewhere (the CLI sent an update, another console snoozed, a
            # queued post got through): the banner, the prompt's clock and the incident
            # screen must all follow, not only the next local change.
            self._incident_changed(current)

    def refresh_banners(self) -> None:
        """Redraw every incident banner now (they also tick every second)."""
        from opsconsole.widgets.incident_banner import IncidentBanner

        for screen in self.screen_stack:
            for banner in screen.query(IncidentBanner):
                banner.update_banner()

    def _incident_changed(self, incident: Incident | None) -> None:
        self.incident = incident
        self.refresh_banners()
        self.run_worker(self._refresh_incident_views(), group="incident-views", exclusive=True)

    async def _refresh_incident_views(self) -> None:
        from opsconsole.screens.incident import IncidentScreen

        if self.incident_service is not None:
            with noted(self, "Reading reviews", once=True):
                self.review_pending = await self.incident_service.pending_review()
        for screen in self.screen_stack:
            if isinstance(screen, IncidentScreen):
                await screen.reload()

    async def _flush_outbox(self) -> None:
        before = self.incident
        queued = {
            e.id
            for e in (before.timeline if before is not None else ())
            if (e.delivery or "").startswith("slack: queued")
        }
        try:
            sent = await self.incident_service.flush_outbox()
        except Exception:
            log.exception("outbox flush failed")
            return
        if sent:
            self.notify(f"{sent} queued update(s) delivered to Slack", markup=False)
        if not queued:
            return
        try:
            current = await self.incident_service.active()
        except Exception:
            log.exception("incident read after the outbox flush failed")
            return
        refused = [
            e
            for e in (current.timeline if current is not None else ())
            if e.id in queued and (e.delivery or "").startswith("slack: failed")
        ]
        for entry in refused:  # queued earlier, now refused for good (a 4xx): say so
            reason = sanitize_terminal(entry.delivery or "", single_line=True, limit=160)
            self.notify(
                f"A queued update was NOT delivered ({reason}); it stays on the timeline",
                severity="error",
                timeout=20,
                markup=False,
            )
        if refused and current is not None:
            self._incident_changed(current)

    # -- the tick: prompt, overdue bell, suggestions -----------------------------------

    def incident_tick(self) -> None:
        """Every second: open the update prompt when due; ring when overdue."""
        incident, service = self.incident, self.incident_service
        if incident is None or service is None:
            return
        state, remaining = service.update_state(incident)
        due = service.next_update(incident)
        if remaining.total_seconds() <= 0 and self._prompted_for != due:
            self._prompted_for = due
            self.action_incident_update()
        if state is UpdateState.OVERDUE and self._overdue_rung != due:
            self._overdue_rung = due
            self.bell()
            self.notify(
                "Stakeholder update is OVERDUE (guide §8 Step 5: every "
                f"{duration_label(service.every)})",
                title=f"Incident #{incident.id}",
                severity="error",
                timeout=20,
                markup=False,
            )

    def observe_probe(
        self, name: str, state: ProbeState, reason: str, *, since: Any = None
    ) -> None:
        """Probe transitions feed the timeline and the declare suggestion.

        ``since`` is when the probe entered ``state`` if known (after a restart, from the
        history), so "down for 15 minutes" counts from then, not from the restart.
        """
        now = self.clock()
        was_down = name in self._down_since
        if state is ProbeState.DOWN and not was_down:
            self._down_since[name] = since if since is not None and since <= now else now
            self._auto(EntryKind.PROBE, f"Probe {name} DOWN: {reason}")
            if self._down_since[name] < now:  # down since before this start: tell at once
                self.suggest_incident(self._critical_alerts)
        elif state in (ProbeState.UP, ProbeState.DEGRADED) and was_down:
            self._down_since.pop(name, None)
            self._auto(EntryKind.PROBE, f"Probe {name} back {state.value.upper()}")

    def observe_source(self, name: str, data: object) -> None:
        """Alerts firing/resolved and Sentry spikes feed the timeline."""
        if isinstance(data, AlertsSnapshot):
            firing = {f"{a.name}|{a.severity}" for a in data.firing if not a.silenced}
            for key in sorted(firing - self._known_alerts):
                alert, severity = key.split("|", 1)
                self._auto(EntryKind.ALERT, f"Alert {alert} ({severity}) firing")
            for key in sorted(self._known_alerts - firing):
                self._auto(EntryKind.ALERT, f"Alert {key.split('|', 1)[0]} resolved")
            self._known_alerts = firing
            self._critical_alerts = [
                a.name
                for a in data.firing
                if a.severity.lower() in ("critical", "page") and not a.silenced
            ]
            self.suggest_incident(self._critical_alerts)
        elif isinstance(data, SentrySnapshot):
            if (
                self._last_sentry_new is not None
                and data.new_24h - self._last_sentry_new >= SENTRY_SPIKE
            ):
                spike = data.new_24h - self._last_sentry_new
                self._auto(
                    EntryKind.SENTRY, f"Sentry spike: {spike} new issues since the last poll"
                )
            self._last_sentry_new = data.new_24h

    def _auto(self, kind: EntryKind, text: str) -> None:
        if self.incident is not None and self.incident_service is not None:
            self._auto_pending.append((kind, redact_text(text), self.clock()))
            self.run_worker(self._write_auto(), group="incident-auto")

    async def _write_auto(self) -> None:
        """Write the pending automatic entries in order; stop at the first failure."""
        async with self._auto_lock:
            while self._auto_pending and self.incident_service is not None:
                kind, text, at = self._auto_pending[0]
                with noted(
                    self, "Writing the timeline (kept, retried every 5 s)", once=True
                ) as outcome:
                    await self.incident_service.record(kind, text, at=at)
                if outcome.failed:
                    return  # kept; the 5 s incident sync tries again
                self._auto_pending.pop(0)

    def suggest_incident(self, critical_alerts: list[str]) -> None:
        """Suggest declaring: a probe down 15 minutes, or a critical alert firing."""
        if self.incident is not None or self.incident_service is None:
            return
        settings = self.config.incident
        reason = suggest_declaring(
            self._down_since,
            critical_alerts,
            self.clock(),
            after=settings.suggest_after,
        )
        if reason and reason not in self._suggested:
            self._suggested.add(reason)
            self.bell()
            self.notify(
                f"{sanitize_terminal(reason, single_line=True)} — press I to declare an incident",
                title="Declare an incident?",
                severity="warning",
                timeout=30,
                markup=False,
            )

    # -- actions ----------------------------------------------------------------------

    def _prefilled_impact(self) -> Impact:
        hub = getattr(self, "hub", None)
        poller = hub.pollers.get("metrics") if hub is not None else None
        data = poller.status.data if poller is not None else None
        failing = None
        if isinstance(data, MetricsSnapshot):
            for reading in data.readings:
                if "5xx" in reading.name and reading.value is not None:
                    failing = round(reading.value, 2)
        down = ", ".join(sorted(self._down_since))
        return Impact(customers=None, failing_percent=failing, note=f"down: {down}" if down else "")

    def action_incident_declare(self) -> None:
        """Declare an incident (I)."""
        from opsconsole.screens.incident_dialogs import DeclareScreen

        if self.incident_service is None:
            self.notify("Incidents need the history database", severity="warning")
            return
        if self.incident is not None:
            self.notify(f"Incident #{self.incident.id} is already active (press i)", markup=False)
            return
        settings = self.config.incident
        down = sorted(self._down_since)
        title = f"{down[0]} down" if down else ""
        component = "API"
        dialog = DeclareScreen(
            title=title,
            components=list(settings.components),
            component=component,
            impact=self._prefilled_impact(),
        )

        async def declared(result: Declaration | None) -> None:
            if result is None:
                return
            try:
                incident = await self.incident_service.declare(
                    result.title, result.component, result.severity, result.impact
                )
            except Exception as exc:
                self.notify(f"Could not declare: {exc}", severity="error", markup=False)
                return
            every = duration_label(self.incident_service.every)
            self.notify(
                f"Incident #{incident.id} declared: first update due in {every}", markup=False
            )
            self.action_incident()

        self.push_screen(dialog, declared)

    def action_incident(self) -> None:
        """Open the incident screen (i)."""
        from opsconsole.screens.incident import IncidentScreen

        if self.incident_service is None:
            self.notify("Incidents need the history database", severity="warning")
            return
        open_screen(self, IncidentScreen, IncidentScreen)

    def action_incident_update(self) -> None:
        """Open the update prompt (u, and automatically when an update is due)."""
        from opsconsole.screens.incident_dialogs import UpdatePromptScreen

        incident, service = self._active_or_say(), self.incident_service
        if incident is None:
            return
        if isinstance(self.screen, UpdatePromptScreen):
            return
        label = None
        settings = self.config.incident
        if service.slack is not None and settings.slack is not None:
            label = settings.slack.channel_label

        def make_prompt(text: str) -> UpdatePromptScreen:
            return UpdatePromptScreen(
                text, title=f"Stakeholder update — incident #{incident.id}", slack_label=label
            )

        prompt = make_prompt(service.draft_update(incident))

        async def chosen(choice: UpdateChoice | None) -> None:
            if choice is None:
                return
            if choice.snooze:
                await self.action_incident_snooze()
                return
            if choice.copy:
                self.copy_to_clipboard(choice.text)
            from opsconsole.incidents.service import IncidentError, UpdateRecordedWithProblem

            undelivered: IncidentError | None = None
            with noted(self, "Update NOT recorded (your text is kept)") as outcome:
                try:
                    entry = await service.send_update(
                        choice.text, slack=choice.slack, copied=choice.copy
                    )
                except IncidentError as exc:  # recorded in the timeline; delivery failed
                    undelivered = exc
            if outcome.failed:  # not even recorded: the prompt again, with the text
                self.push_screen(make_prompt(choice.text), chosen)
            elif isinstance(undelivered, UpdateRecordedWithProblem):
                # On the timeline and delivered as it says: never offered again (a second
                # send would post it twice); the database problem is told.
                self.notify(
                    f"Update {one_line(undelivered)}",
                    severity="warning",
                    timeout=15,
                    markup=False,
                )
            elif undelivered is not None:
                self.notify(
                    f"Update recorded, but not delivered: {one_line(undelivered)}",
                    severity="error",
                    timeout=15,
                    markup=False,
                )
            else:
                self.notify(f"Update recorded ({entry.delivery})", markup=False)

        self.push_screen(prompt, chosen)

    def action_incident_note(self) -> None:
        """Add a timeline note (n on the incident screen)."""
        from opsconsole.screens.ticket_dialogs import EditorScreen

        if self._active_or_say() is None:
            return
        editor = EditorScreen(
            "Timeline note", drafts={"note": ("", "")}, with_subject=False, submit_label="add"
        )

        async def done(result: ComposeResultData | None) -> None:
            if result is None:
                return
            with noted(self, "Note NOT saved (your text is kept)") as outcome:
                await self.incident_service.note(result.body)
            if outcome.failed:
                self.push_screen(editor.reopened(result), done)

        self.push_screen(editor, done)

    def action_incident_status(self) -> None:
        """Change the status (s on the incident screen)."""
        from opsconsole.screens.ticket_dialogs import PickScreen

        if self._active_or_say() is None:
            return
        options = [(s.value, s.value) for s in IncidentStatus if s is not IncidentStatus.RESOLVED]

        async def chosen(value: str | None) -> None:
            if value is not None:
                with noted(self, "Status not saved") as outcome:
                    await self.incident_service.set_status(IncidentStatus(value))
                if outcome.failed:
                    return
                if value == IncidentStatus.MONITORING.value:
                    window = duration_label(self.config.incident.monitoring_window)
                    self.notify(
                        f"Monitoring: the all-clear unlocks after {window} (guide §8 Step 6)",
                        markup=False,
                    )

        self.push_screen(PickScreen("Incident status", options), chosen)

    async def action_incident_snooze(self) -> None:
        """Snooze the update prompt 5 minutes (z)."""
        if self.incident is not None:
            with noted(self, "Snooze not saved") as outcome:
                await self.incident_service.snooze(5)
            if not outcome.failed:
                self.notify("Update prompt snoozed for 5 minutes")

    def action_incident_resolve(self) -> None:
        """Resolve: the all-clear and the post-incident review (R on the incident screen)."""
        from dataclasses import replace

        from opsconsole.incidents.service import (
            AllClearNotDelivered,
            IncidentAlreadyResolved,
            ResolvedWithProblem,
            ReviewNotWritten,
        )
        from opsconsole.screens.incident_dialogs import ResolveScreen

        incident, service = self._active_or_say(), self.incident_service
        if incident is None:
            return
        allowed, remaining = all_clear_allowed(
            incident, self.clock(), window=self.config.incident.monitoring_window
        )
        note = ""
        if not allowed:
            minutes = int(remaining.total_seconds() // 60)
            window = int(self.config.incident.monitoring_window.total_seconds() // 60)
            note = (
                f"Step 6: {minutes} min of the {window}-minute monitoring window left "
                "(set status to monitoring first) — give a reason to override"
            )

        def drafter(cause: str, fix: str) -> str:
            text: str = service.draft_all_clear(replace(incident, root_cause=cause, fix=fix))
            return text

        async def done(result: Any) -> None:
            if result is None:
                return
            try:
                closed, path = await service.resolve(
                    root_cause=result.root_cause,
                    fix=result.fix,
                    override=result.override,
                    all_clear=result.all_clear,
                    incident_id=incident.id,
                )
            except IncidentAlreadyResolved as exc:  # another console or the CLI was first
                self.notify(one_line(exc), severity="warning", timeout=15, markup=False)
                await self._sync_incident()  # the banner and screens follow at once
                return
            except ReviewNotWritten as exc:  # closed and announced; only the file is missing
                self.notify(one_line(exc), severity="warning", timeout=20, markup=False)
                return
            except AllClearNotDelivered as exc:  # closed and written; Slack refused it
                self.notify(one_line(exc), severity="error", timeout=20, markup=False)
                return
            except ResolvedWithProblem as exc:  # closed and announced; a later write failed
                self.notify(one_line(exc), severity="warning", timeout=20, markup=False)
                return
            except Exception as exc:
                reason = one_line(exc)
                self.notify(f"Not resolved: {reason}", severity="error", timeout=15, markup=False)
                return
            self.notify(
                f"Incident #{closed.id} resolved; review written to {path}",
                timeout=15,
                markup=False,
            )

        self.push_screen(ResolveScreen(drafter=drafter, window_note=note), done)

    async def action_incident_review_done(self) -> None:
        """Mark the post-incident review done (d on the incident screen)."""
        pending = self.review_pending
        if pending is None or self.incident_service is None:
            self.notify("No review pending")
            return
        with noted(self, "Review not marked done") as outcome:
            await self.incident_service.mark_review_done(pending.id)
            self.review_pending = await self.incident_service.pending_review()
        if not outcome.failed:
            self.notify(f"Review of incident #{pending.id} marked done", markup=False)
