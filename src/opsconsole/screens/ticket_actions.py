"""Keyboard triage shared by the Tickets screen and the ticket screen (k9s-style keys)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from opsconsole.core.templates import TEMPLATES
from opsconsole.core.tickets import Category, Level, Severity, Status, Ticket
from opsconsole.screens.failures import noted, one_line
from opsconsole.screens.ticket_dialogs import ComposeResultData, EditorScreen, PickScreen

if TYPE_CHECKING:
    from opsconsole.tickets.service import TicketService

TRIAGE_BINDINGS = [
    Binding("1", "severity('critical')", "Critical", show=False),
    Binding("2", "severity('high')", "High", show=False),
    Binding("3", "severity('medium')", "Medium", show=False),
    Binding("4", "severity('low')", "Low", show=False),
    Binding("c", "category", "Category"),
    Binding("a", "assign", "Assign"),
    Binding("s", "status", "Status"),
    Binding("n", "note", "Note"),
    Binding("r", "reply", "Reply"),
    Binding("e", "escalate", "Escalate"),
    Binding("x", "resolve", "Resolve"),
]
TRIAGE_HELP: tuple[tuple[str, str], ...] = (
    ("enter", "Open the ticket"),
    ("1 2 3 4", "Severity: critical, high, medium, low"),
    ("c", "Category"),
    ("a", "Assign to me, or pick someone"),
    ("s", "Status"),
    ("n", "Internal note"),
    ("r", "Reply with a guide §6 template (ctrl+s sends)"),
    ("e", "Escalate to L2 / L3 with the §5 info block"),
    ("x", "Resolve"),
)
TRIAGE_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Severity: critical", "Key 1", "severity('critical')"),
    ("Severity: high", "Key 2", "severity('high')"),
    ("Severity: medium", "Key 3", "severity('medium')"),
    ("Severity: low", "Key 4", "severity('low')"),
    ("Set the category", "Key c", "category"),
    ("Assign to me, or pick someone", "Key a", "assign"),
    ("Set the status", "Key s", "status"),
    ("Add an internal note", "Key n", "note"),
    ("Reply with a template", "Key r", "reply"),
    ("Escalate to L2 / L3", "Key e", "escalate"),
    ("Resolve the ticket", "Key x", "resolve"),
)
"""The triage keys as command palette entries: (title, help, action on the screen)."""
STATUS_CHOICES = [
    (Status.NEW, "new"),
    (Status.OPEN, "open"),
    (Status.PENDING_CUSTOMER, "pending customer (pauses the SLA)"),
    (Status.ESCALATED, "escalated"),
    (Status.RESOLVED, "resolved"),
    (Status.CLOSED, "closed"),
]


class TicketCommands(Provider):
    """The ticket keys of the screen the palette was opened from, as palette commands.

    The app's system commands are the same on every screen; without this, the triage
    keys were in the help screen but not in the command palette.
    """

    def _commands(self) -> tuple[tuple[str, str, str], ...]:
        commands = getattr(self.screen, "palette_commands", None)
        return commands() if callable(commands) else ()

    async def discover(self) -> Hits:
        """Every ticket command, for the palette opened with no text."""
        for title, help_text, action in self._commands():
            yield DiscoveryHit(title, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        """The ticket commands matching ``query``."""
        matcher = self.matcher(query)
        for title, help_text, action in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.screen.run_action, action),
                    help=help_text,
                )


class TicketActions(Screen[Any]):
    """Mixin-like base: subclasses say which ticket is current and how to refresh."""

    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {TicketCommands}

    def palette_commands(self) -> tuple[tuple[str, str, str], ...]:
        """(title, help, action) of each command palette entry on this screen."""
        return TRIAGE_COMMANDS

    def current_number(self) -> int | None:
        """The ticket the keys act on (subclasses)."""
        return None

    def seen_ticket(self) -> Ticket | None:
        """The ticket as the operator saw it (for conflict detection; subclasses)."""
        return None

    async def refresh_tickets(self) -> None:
        """Reload what the screen shows (subclasses)."""

    @property
    def service(self) -> TicketService | None:
        """The app's ticket service (None when tickets are unavailable)."""
        return getattr(self.app, "ticket_service", None)

    async def _run(
        self, what: str, call: Callable[[TicketService, int], Awaitable[object]]
    ) -> bool:
        """Run one change to the current ticket; True when it was done."""
        service, number = self.service, self.current_number()
        if service is None or number is None:
            self.notify("No ticket selected", severity="warning")
            return False
        from opsconsole.tickets.service import SentNotRecorded

        try:
            await call(service, number)
        except SentNotRecorded as exc:  # the mail went out: never offer to send it again
            self.notify(f"#{number}: {one_line(exc)}", severity="warning", timeout=15, markup=False)
            return True
        except Exception as exc:  # SMTP refused, a conflict, a store error: say so, keep going
            reason = one_line(exc)
            self.notify(
                f"#{number}: not done: {reason}", severity="error", timeout=10, markup=False
            )
            await self.refresh_tickets()  # show what is stored now (e.g. after a conflict)
            return False
        await self.refresh_tickets()
        self.notify(f"#{number}: {what}", markup=False)
        return True

    def _edit(
        self,
        editor: EditorScreen,
        send: Callable[[ComposeResultData], Awaitable[bool]],
    ) -> None:
        """Open ``editor``; when sending fails, open it again with the text as edited."""

        async def done(result: ComposeResultData | None) -> None:
            if result is not None and not await send(result):
                self.app.push_screen(editor.reopened(result), done)

        self.app.push_screen(editor, done)

    async def action_severity(self, value: str) -> None:
        """Set the severity (1–4)."""
        severity = Severity(value)
        seen = self.seen_ticket()
        await self._run(f"severity {value}", lambda s, n: s.set_severity(n, severity, seen=seen))

    def action_category(self) -> None:
        """Pick a category."""
        options = [(c.value, c.value) for c in Category]
        self._pick("Category", options, self._category_chosen)

    async def _category_chosen(self, value: str) -> None:
        seen = self.seen_ticket()
        await self._run(
            f"category {value}", lambda s, n: s.set_category(n, Category(value), seen=seen)
        )

    def action_assign(self) -> None:
        """Assign to me, someone on the team, or nobody."""
        service = self.service
        if service is None:
            return
        me = service.operator.name
        options = [(me, f"me ({me})")]
        options += [(name, name) for name in service.config.team if name != me]
        options.append(("", "unassigned"))
        self._pick("Assign to", options, self._assignee_chosen)

    async def _assignee_chosen(self, value: str) -> None:
        label = value or "unassigned"
        seen = self.seen_ticket()
        await self._run(f"assigned to {label}", lambda s, n: s.assign(n, value or None, seen=seen))

    def action_status(self) -> None:
        """Pick a status."""
        self._pick("Status", [(s.value, label) for s, label in STATUS_CHOICES], self._status_chosen)

    async def _status_chosen(self, value: str) -> None:
        seen = self.seen_ticket()
        await self._run(f"status {value}", lambda s, n: s.set_status(n, Status(value), seen=seen))

    async def action_resolve(self) -> None:
        """Resolve (stops the resolution clock).

        Like ``s``, it sends the status the operator saw: a ticket someone else changed
        meanwhile (reopened, set pending, …) is a conflict, not silently resolved."""
        seen = self.seen_ticket()
        await self._run("resolved", lambda s, n: s.set_status(n, Status.RESOLVED, seen=seen))

    async def action_note(self) -> None:
        """Write an internal note."""
        if self.current_number() is None:
            self.notify("No ticket selected", severity="warning")
            return
        editor = EditorScreen(
            "Internal note", drafts={"note": ("", "")}, with_subject=False, submit_label="save"
        )

        async def send(result: ComposeResultData) -> bool:
            return await self._run("note added", lambda s, n: s.add_note(n, result.body))

        self._edit(editor, send)

    async def action_reply(self) -> None:
        """Reply with one of the guide's templates, edited in a TextArea."""
        ticket = await self._ticket()
        if ticket is None or self.service is None:
            return
        service = self.service
        drafts = {key: service.draft_reply(ticket, key) for key in TEMPLATES}
        labels = {key: template.title for key, template in TEMPLATES.items()}
        editor = EditorScreen(
            f"Reply to #{ticket.number}", drafts=drafts, labels=labels, check_placeholders=True
        )

        async def send(result: ComposeResultData) -> bool:
            return await self._run(
                "reply sent", lambda s, n: s.reply(n, result.subject, result.body)
            )

        self._edit(editor, send)

    async def action_escalate(self) -> None:
        """Escalate to L2 engineering or L3 on-call with the guide's §5 info block."""
        ticket = await self._ticket()
        if ticket is None or self.service is None:
            return
        service = self.service
        evidence_of = getattr(self.app, "escalation_evidence", None)
        evidence = evidence_of() if evidence_of else None
        from opsconsole.core.templates import Evidence

        evidence = evidence or Evidence(probes=(), sentry=None, links=())
        drafts = {
            level.value: service.draft_escalation(ticket, level, evidence)
            for level in (Level.L2, Level.L3)
        }
        labels = {
            "L2": f"L2 engineering ({service.escalation_address(Level.L2)})",
            "L3": f"L3 on-call ({service.escalation_address(Level.L3)})",
        }
        editor = EditorScreen(f"Escalate #{ticket.number}", drafts=drafts, labels=labels)

        async def send(result: ComposeResultData) -> bool:
            if result.choice is None:
                return True
            level = Level(result.choice)
            self.app.copy_to_clipboard(result.body)
            return await self._run(
                f"escalated to {level.value} (copied to clipboard)",
                lambda s, n: s.escalate(n, level, result.subject, result.body),
            )

        self._edit(editor, send)

    async def _ticket(self) -> Ticket | None:
        number, service = self.current_number(), self.service
        if number is None or service is None:
            self.notify("No ticket selected", severity="warning")
            return None
        ticket: Ticket | None = None
        with noted(self.app, f"#{number} could not be read"):
            ticket = await service.store.get_ticket(number)
        return ticket

    def _pick(
        self,
        title: str,
        options: list[tuple[str, str]],
        then: Callable[[str], Awaitable[None]],
    ) -> None:
        if self.current_number() is None:
            self.notify("No ticket selected", severity="warning")
            return

        async def chosen(value: str | None) -> None:
            if value is not None:
                await then(value)

        self.app.push_screen(PickScreen(title, options), chosen)
