"""The Textual app: built by :func:`make_app`, never global."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen

from opsconsole.adapters.logging_setup import config_secrets
from opsconsole.adapters.telemetry import TelemetryAppMixin
from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.incidents import EntryKind
from opsconsole.core.models import ProbeState
from opsconsole.core.probe_state import overall_state
from opsconsole.core.redact import redact_text
from opsconsole.core.sources import SourceStatus
from opsconsole.core.store import Store
from opsconsole.core.text import sanitize_terminal
from opsconsole.engine import ProbeEngine, ProbeStatus, Runner
from opsconsole.evidence import escalation_evidence, runbook_evidence
from opsconsole.gc_tuning import GcTuningMixin
from opsconsole.messages import ProbeUpdated, SourceUpdated
from opsconsole.polling import SOURCE_ORDER, Source, SourceHub, source_sections
from opsconsole.screens.help import HelpScreen
from opsconsole.screens.incident_change import IncidentChangeActions
from opsconsole.screens.navigation import open_screen
from opsconsole.screens.shift_actions import ShiftActions
from opsconsole.widgets import textual_cycles
from opsconsole.widgets.alerts_pane import AlertsPane
from opsconsole.widgets.health_pane import HealthPane
from opsconsole.widgets.incident_banner import IncidentBanner
from opsconsole.widgets.key_footer import KeyFooter
from opsconsole.widgets.metrics_pane import MetricsPane
from opsconsole.widgets.sentry_pane import SentryPane
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.status_header import StatusHeader
from opsconsole.widgets.statuspage_pane import StatusPagePane
from opsconsole.widgets.ticket_queue_pane import TicketQueuePane

if TYPE_CHECKING:
    from opsconsole.core.templates import Evidence
    from opsconsole.tickets.service import TicketService

log = logging.getLogger(__name__)

StoreFactory = Callable[[], Awaitable[Store]]
RunnerFactory = Callable[[], Runner]
SourcesFactory = Callable[[], dict[str, Source]]
PANES: dict[str, type[SourcePane]] = {
    "sentry": SentryPane,
    "metrics": MetricsPane,
    "alerts": AlertsPane,
    "statuspage": StatusPagePane,
}
FOCUS_KEYS = ("health", *SOURCE_ORDER)
FIRST_FRAME_BUDGET = 2.0  # seconds we wait for history before drawing without it


class OpsConsoleApp(TelemetryAppMixin, GcTuningMixin, ShiftActions, IncidentChangeActions):
    """The opsconsole dashboard."""

    CSS_PATH = "opsconsole.tcss"
    TITLE = "opsconsole"
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause/Resume"),
        Binding("r", "refresh_now", "Re-run probes"),
        Binding("t", "tickets", "Tickets"),
        Binding("c", "checklist", "Checklist"),
        Binding("h", "handover", "Handover"),
        Binding("g", "reports", "Reports"),
        Binding("I", "incident_declare", "Declare incident", key_display="I"),
        Binding("i", "incident", "Incident"),
        Binding("u", "incident_update", "Update", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        *[
            Binding(str(n), f"focus_pane('{name}')", f"Focus {name}", show=False)
            for n, name in enumerate(FOCUS_KEYS, start=1)
        ],
    ]

    def __init__(
        self,
        config: Config,
        *,
        store_factory: StoreFactory | None,
        runner_factory: RunnerFactory,
        sources_factory: SourcesFactory | None = None,
        clock: Clock = system_clock,
        poll: bool = True,
        pane_notes: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        textual_cycles.install()  # drawn lines must not be reference cycles (see the module)
        self.pane_notes = pane_notes or {}
        self._sources_factory = sources_factory
        self.hub: SourceHub | None = None
        self.source_names = [n for n in SOURCE_ORDER if n in configured_sources(config)]
        self.config = config
        self.clock = clock
        self.poll = poll
        self._store_factory = store_factory
        self._runner_factory = runner_factory
        self.store: Store | None = None
        self.runner: Runner | None = None
        self.engine: ProbeEngine | None = None
        self._health: HealthPane | None = None
        self.ticket_service: TicketService | None = None
        self._incidents_init()
        self._probe_states: dict[str, ProbeState] = {}
        self._linked_tickets: set[object] = set()
        self._status_note = ""
        self._background: list[asyncio.Task[None]] = []

    crash_hint = "the full traceback is in the opsconsole log file"
    """Shown after a crash; the CLI sets it to the log file's path."""

    def _fatal_error(self) -> None:
        """After an unhandled exception: one redacted line on the terminal, details in the log.

        Textual's default prints a traceback with local variables, which can hold tokens.
        """
        error = sys.exc_info()[1]
        log.error("opsconsole crashed", exc_info=error)
        secrets = config_secrets(self.config)
        summary = f"{type(error).__name__}: {error}" if error else "unknown error"
        # redacted, then one printable line: an exception's text can come from a server
        # (an OSC 52 clipboard write, an ESC[2J) and must not reach the terminal raw
        summary = sanitize_terminal(redact_text(summary, secrets), single_line=True, limit=300)
        self.bell()
        self._exit_renderables.append(
            Text(f"opsconsole crashed: {summary}\n{self.crash_hint}", style="bold red")
        )
        self._close_messages_no_wait()

    def compose(self) -> ComposeResult:
        """Header; Health and Alerts on the left, the other sources on the right; footer.

        Panes of sources that are not configured are not composed at all.
        """
        yield StatusHeader(service=self.config.service, timezone=self.config.tz, clock=self.clock)
        yield IncidentBanner()
        right = [n for n in self.source_names if n != "alerts"]
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield HealthPane(
                    timezone=self.config.tz, uptime_target=self.config.uptime_target, id="health"
                )
                yield TicketQueuePane()
                if "alerts" in self.source_names:
                    yield AlertsPane(clock=self.clock, timezone=self.config.tz)
            if right:
                with Vertical(id="right"):
                    for name in right:
                        yield PANES[name](clock=self.clock, timezone=self.config.tz)
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Open the store, show the last known state, then start polling."""
        opening: asyncio.Future[Store] | None = None
        if self._store_factory is not None:
            opening = asyncio.ensure_future(self._store_factory())
            try:
                # shield: a slow open (a busy disk, a locked file) keeps going in the background
                self.store = await asyncio.wait_for(asyncio.shield(opening), FIRST_FRAME_BUDGET)
                opening = None
            except TimeoutError:
                self._set_note("opening the history database…")
                log.warning("the store took longer than %ss to open", FIRST_FRAME_BUDGET)
            except Exception as exc:  # the console still works without history
                opening = None
                self._set_note(f"history unavailable: {exc}")
                log.warning("could not open the store: %s", exc)
        self.runner = self._runner_factory()
        self.engine = ProbeEngine(
            self.config,
            store=self.store,
            runner=self.runner,
            clock=self.clock,
            listener=self._on_probe_status,
        )
        await self._attach_store()
        if opening is not None:
            self.run_worker(self._store_opened_late(opening), group="store", exclusive=True)
        self._health = self.query_one(HealthPane)
        self._health.show(self.engine.statuses())
        self._update_overall()
        self.set_interval(0.5, self._update_overall)
        for pane in self.query(SourcePane):
            if pane.source_name in self.pane_notes:
                note = self.pane_notes[pane.source_name]
                pane.apply(SourceStatus(pane.source_name, timedelta(0)).failed(note, self.clock()))
        if not self.poll:
            self._build_hub()  # tests drive the sources themselves, straight away
        # Startup objects live as long as the app: freeze them out of the cyclic GC's full
        # scans (≈100 ms each on a 130k-object heap) once the first frame is up.
        self.call_after_refresh(self._freeze_startup_heap)
        if self.poll:
            # After the first frame: the source adapters import httpx, requests and urllib3
            # (~40 ms) and the first probe builds httpx's TLS context (~35 ms); until then
            # the source panes say "waiting for the first poll…".
            self.call_after_refresh(self._start_polling)
            if not self.is_headless:  # tests drive the checklist explicitly
                self.call_after_refresh(self.maybe_open_checklist)

    async def _attach_store(self) -> None:
        """History, tickets and incidents, once the store is open."""
        assert self.engine is not None
        try:
            await asyncio.wait_for(self.engine.load_history(), FIRST_FRAME_BUDGET)
        except TimeoutError:
            log.warning("history took longer than %ss; drawing without it", FIRST_FRAME_BUDGET)
        try:
            await self._start_tickets()
        except Exception as exc:  # the dashboard must come up even if the queue cannot
            log.exception("ticket queue unavailable")
            self.ticket_service = None
            self._set_note(f"tickets unavailable: {exc}")
        if self.store is not None and hasattr(self.store, "create_incident"):
            try:
                await self.start_incidents(self.store)
            except Exception as exc:
                log.exception("incident mode unavailable")
                self._set_note(f"incidents unavailable: {exc}")

    async def _store_opened_late(self, opening: asyncio.Future[Store]) -> None:
        """The store opened after the first frame: wire it in now."""
        try:
            self.store = await opening
        except Exception as exc:
            self._set_note(f"history unavailable: {exc}")
            log.warning("could not open the store: %s", exc)
            return
        if self.engine is not None:
            self.engine.store = self.store
        self._set_note("")
        await self._attach_store()
        if self.engine is not None and self._health is not None:
            self._health.show(self.engine.statuses())

    def _build_hub(self) -> None:
        """Build the configured sources' adapters and the hub that polls them."""
        if self.hub is not None or self._sources_factory is None or not self.source_names:
            return
        sources = {k: v for k, v in self._sources_factory().items() if k in self.source_names}
        self.hub = SourceHub(
            self.config, sources, clock=self.clock, listener=self._on_source_status
        )

    async def _start_polling(self) -> None:
        if self.engine is not None:
            await self.engine.start()
        self._build_hub()
        if self.hub is not None:
            if self.engine is not None and self.engine.paused:
                self.hub.pause()  # p was pressed before the first frame
            self.hub.start()

    async def _start_tickets(self) -> None:
        """The ticket service needs a store that keeps tickets; mail intake needs ``email``."""
        if self.store is None or not hasattr(self.store, "create_ticket"):
            return
        from opsconsole.tickets import service
        from opsconsole.tickets.runtime import LazySender, SlaWatcher

        self.ticket_service = service.TicketService(
            self.store,  # type: ignore[arg-type]
            self.config,
            clock=self.clock,
            sender=LazySender(self.config),
            listener=self._ticket_event,
        )
        await self.query_one(TicketQueuePane).reload()
        # After the first frame: recomputing the stored deadlines for an edited sla: takes
        # seconds at 100k tickets; the queue re-sorts when it is done.
        self.run_worker(self._refresh_deadlines(), group="sla-policy", exclusive=True)
        if not self.poll:
            return
        self._sla_watcher = SlaWatcher(self.ticket_service)
        self.set_interval(5.0, self._watch_sla)
        email = self.config.email
        if email is not None and (email.maildir is not None or email.imap is not None):
            from opsconsole.tickets.intake import MailboxPoller

            poller = MailboxPoller(self.ticket_service, self.config)
            self.mail_poller = poller
            interval = email.poll_interval.total_seconds()
            self._background.append(asyncio.create_task(poller.run(interval)))

    def _ticket_event(self, ticket: object) -> None:
        """Refresh the queue; during an incident, new urgent tickets join its timeline."""
        self._tickets_changed()
        number = getattr(ticket, "number", None)
        severity = getattr(getattr(ticket, "severity", None), "value", "")
        seen = self._linked_tickets
        if self.incident is not None and number not in seen and severity in ("critical", "high"):
            seen.add(number)
            subject = getattr(ticket, "subject", "")
            self._auto(EntryKind.TICKET, f"Ticket #{number} ({severity}): {subject}")

    async def _refresh_deadlines(self) -> None:
        """Recompute the stored ``next_due`` the queue sorts by if ``sla:`` changed."""
        service = self.ticket_service
        if service is None:
            return
        try:
            changed = await service.refresh_deadlines()
        except Exception:  # the queue still works, in the order of the deadlines stored
            log.exception("could not recompute the ticket deadlines for the SLA policy")
            return
        if changed:
            watcher = getattr(self, "_sla_watcher", None)
            if watcher is not None:  # its next check only records: tickets the new order
                watcher.known.clear()  # brings into its first page are not news
            self._tickets_changed()

    def _tickets_changed(self) -> None:
        """A ticket was created or changed: refresh the queue and any open ticket screen."""
        self.query_one(TicketQueuePane).run_worker(
            self.query_one(TicketQueuePane).reload(), group="queue", exclusive=True
        )

    async def _watch_sla(self) -> None:
        """Bell and a notification when a ticket turns at risk or breached."""
        watcher = getattr(self, "_sla_watcher", None)
        if watcher is None:
            return
        try:
            alerts = await watcher.check()
        except Exception:
            log.exception("SLA watcher failed")
            return
        for alert in alerts:
            self.bell()
            word = "BREACHED" if alert.state.value == "breached" else "AT RISK"
            subject = sanitize_terminal(redact_text(alert.subject), single_line=True, limit=80)
            self.notify(
                f"#{alert.number} {word}: {alert.label}\n{subject}",
                title="SLA",
                severity="error" if word == "BREACHED" else "warning",
                timeout=15,
                markup=False,
            )

    async def on_unmount(self) -> None:
        """Stop polling and release sockets and the database."""
        self._thaw_heap()
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        slack = getattr(self.incident_service, "slack", None)
        if slack is not None:
            await slack.aclose()
        if self.hub is not None:
            await self.hub.stop()
        if self.engine is not None:
            await self.engine.stop()
        close = getattr(self.runner, "aclose", None)
        if close is not None:
            await close()
        if self.store is not None:
            await self.store.close()

    def _on_probe_status(self, status: ProbeStatus) -> None:
        if self._health is not None:
            self._health.post_message(ProbeUpdated(status))
        if self._probe_states.get(status.name) is not status.state:
            self._probe_states[status.name] = status.state
            reason = status.result.reason if status.result is not None else ""
            self.observe_probe(status.name, status.state, reason, since=status.since)

    def _on_source_status(self, status: SourceStatus) -> None:
        if status.error is None and status.data is not None:
            self.observe_source(status.source, status.data)
        for pane in self.query(SourcePane):
            if pane.source_name == status.source:
                pane.post_message(SourceUpdated(status))

    def _set_note(self, note: str) -> None:
        """A standing warning in the header (kept until replaced)."""
        self._status_note = note
        self.query_one(StatusHeader).note = note

    def _update_overall(self) -> None:
        """Refresh the header's overall state (on a timer: O(probes), not per result)."""
        if self.engine is None:
            return
        header = next(iter(self.query(StatusHeader)), None)
        if header is None:  # shutting down: the dashboard is already torn down
            return
        header.overall = overall_state(self.engine.states())
        header.note = self.engine.store_error or self._status_note

    # -- actions ----------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        """Pause or resume polling."""
        if self.engine is None:
            return
        if self.engine.paused:
            self.engine.resume()
            if self.hub is not None:
                self.hub.resume()
            self.notify("Polling resumed")
        else:
            self.engine.pause()
            if self.hub is not None:
                self.hub.pause()
            self.notify("Polling paused: press p to resume")
        self.query_one(StatusHeader).paused = self.engine.paused

    def action_refresh_now(self) -> None:
        """Run every probe now."""
        if self.engine is None:
            return
        if self.poll:
            self.engine.run_now()
            if self.hub is not None:
                self.hub.run_now()
        else:
            self.run_worker(self.engine.run_once(), group="probes", exclusive=True)
            if self.hub is not None:
                self.run_worker(self.hub.poll_all_once(), group="sources", exclusive=True)
        self.notify("Refreshing every probe and source")

    def action_focus_pane(self, name: str) -> None:
        """Focus a pane by name (keys 1-5); panes that are not configured are skipped."""
        target = "#health" if name == "health" else f"#{name}-pane DataTable"
        widgets = self.query(target)
        if not widgets and name != "health":
            widgets = self.query(f"#{name}-pane")
        if widgets:
            widgets.first().focus()
        else:
            self.notify(
                f"{name} is not configured in checks.yaml", severity="warning", markup=False
            )

    def action_tickets(self) -> None:
        """Open the Tickets screen."""
        if self.ticket_service is None:
            self.notify("Tickets need the history database", severity="warning")
            return
        from opsconsole.screens.tickets import TicketsScreen

        open_screen(self, TicketsScreen, TicketsScreen)

    def escalation_evidence(self) -> Evidence:
        """Current probe states and Sentry counts for the §5 escalation block."""
        return escalation_evidence(self.engine, self.hub)

    def runbook_evidence(self, key: str) -> str | None:
        """Live evidence for a runbook step (``probe:<name>``, ``sentry``, ``statuspage``)."""
        return runbook_evidence(key, self.engine, self.hub)

    def action_help(self) -> None:
        """Show the key bindings."""
        open_screen(self, HelpScreen, HelpScreen)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action is also in the command palette."""
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Pause / resume polling", "Stop or restart the probes", self.action_toggle_pause
        )
        yield SystemCommand(
            "Re-run probes now", "Run every probe immediately", self.action_refresh_now
        )
        yield SystemCommand("Show key bindings", "The help screen", self.action_help)
        yield SystemCommand("Open the ticket queue", "Key t", self.action_tickets)
        yield SystemCommand("Start-of-shift checklist", "Key c", self.action_checklist)
        yield SystemCommand("Write the shift handover", "Key h", self.action_handover)
        yield SystemCommand("Reports: uptime, SLA, volume, incidents", "Key g", self.action_reports)
        yield SystemCommand("Declare an incident", "Key I", self.action_incident_declare)
        yield SystemCommand("Open the incident", "Key i", self.action_incident)
        yield SystemCommand("Send a stakeholder update", "Key u", self.action_incident_update)
        for n, name in enumerate(FOCUS_KEYS, start=1):
            if name == "health" or name in self.source_names:
                yield SystemCommand(
                    f"Focus the {name} pane",
                    f"Key {n}",
                    lambda name=name: self.action_focus_pane(name),
                )


def make_app(
    config: Config,
    *,
    store_factory: StoreFactory | None,
    runner_factory: RunnerFactory,
    sources_factory: SourcesFactory | None = None,
    clock: Clock = system_clock,
    poll: bool = True,
    pane_notes: dict[str, str] | None = None,
) -> OpsConsoleApp:
    """Build the app; tests pass fakes and a frozen clock through here.

    ``pane_notes`` maps a pane to a standing message shown instead of data (the demo uses
    it to say how to install Prometheus when it is missing).
    """
    return OpsConsoleApp(
        config,
        store_factory=store_factory,
        runner_factory=runner_factory,
        sources_factory=sources_factory,
        clock=clock,
        poll=poll,
        pane_notes=pane_notes,
    )


def configured_sources(config: Config) -> set[str]:
    """Names of the source panes that ``config`` enables."""
    return {name for name, section in source_sections(config).items() if section is not None}
