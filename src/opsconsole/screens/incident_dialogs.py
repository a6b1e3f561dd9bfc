"""Dialogs of incident mode: declare, the update prompt, resolve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static, TextArea

from opsconsole.core.incidents import Impact, IncidentSeverity, parse_customers, parse_failing
from opsconsole.screens.placeholder_guard import PlaceholderGuard


@dataclass(frozen=True)
class Declaration:
    """What the declare dialog returns."""

    title: str
    component: str
    severity: IncidentSeverity
    impact: Impact


def _row(label: str, widget: Input | Select[str]) -> Horizontal:
    return Horizontal(Static(label, classes="form-label"), widget, classes="form-row")


def _impact_rows(impact: Impact, prefix: str) -> tuple[Horizontal, Horizontal]:
    """The customers and % failing inputs, pre-filled from ``impact`` (blank: unknown)."""
    customers = "" if impact.customers is None else str(impact.customers)
    failing = "" if impact.failing_percent is None else f"{impact.failing_percent:g}"
    return (
        _row("Customers", Input(customers, id=f"{prefix}-customers", type="integer")),
        _row("% failing", Input(failing, id=f"{prefix}-failing", type="number")),
    )


def _read_impact(screen: ModalScreen[Any], prefix: str, note: str) -> Impact | None:
    """The impact the inputs hold, or None (and a warning) when one is not a number."""
    try:
        customers = parse_customers(screen.query_one(f"#{prefix}-customers", Input).value)
        failing = parse_failing(screen.query_one(f"#{prefix}-failing", Input).value)
    except ValueError as exc:
        screen.notify(str(exc), severity="warning", markup=False)
        return None
    return Impact(customers=customers, failing_percent=failing, note=note)


class DeclareScreen(ModalScreen[Declaration | None]):
    """Title, component, severity and impact (pre-filled from probes and metrics)."""

    BINDINGS = [Binding("ctrl+s", "submit", "Declare"), Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, *, title: str, components: list[str], component: str, impact: Impact
    ) -> None:
        super().__init__(classes="dialog")
        self.default_title = title
        self.components = components if component in components else [component, *components]
        self.component = component
        self.impact = impact

    def compose(self) -> ComposeResult:
        """The form."""
        with Vertical(classes="dialog-box"):
            yield Static(Content.styled("Declare an incident", "bold"), classes="dialog-title")
            yield _row("Title", Input(self.default_title, id="declare-title"))
            yield _row(
                "Component",
                Select(
                    [(c, c) for c in self.components],
                    value=self.component,
                    allow_blank=False,
                    id="declare-component",
                ),
            )
            yield _row(
                "Severity",
                Select(
                    [("critical", "critical"), ("high", "high")],
                    value="critical",
                    allow_blank=False,
                    id="declare-severity",
                ),
            )
            yield from _impact_rows(self.impact, "declare")
            yield Static(Content("ctrl+s declare · escape cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        """Start in the title."""
        self.query_one("#declare-title", Input).focus()

    def action_submit(self) -> None:
        """Return the declaration."""
        title = self.query_one("#declare-title", Input).value.strip()
        if not title:
            self.notify("A title is needed", severity="warning")
            return
        impact = _read_impact(self, "declare", self.impact.note)
        if impact is None:
            return
        self.dismiss(
            Declaration(
                title=title,
                component=str(self.query_one("#declare-component", Select).value),
                severity=IncidentSeverity(str(self.query_one("#declare-severity", Select).value)),
                impact=impact,
            )
        )

    def action_cancel(self) -> None:
        """Close without declaring."""
        self.dismiss(None)


class ImpactScreen(ModalScreen[Impact | None]):
    """The impact estimate now: customers affected and % of requests failing."""

    BINDINGS = [Binding("ctrl+s", "submit", "Save"), Binding("escape", "cancel", "Cancel")]

    def __init__(self, impact: Impact) -> None:
        super().__init__(classes="dialog")
        self.impact = impact

    def compose(self) -> ComposeResult:
        """Two numbers, blank for unknown."""
        with Vertical(classes="dialog-box"):
            yield Static(Content.styled("Impact now", "bold"), classes="dialog-title")
            yield from _impact_rows(self.impact, "impact")
            yield Static(
                Content("blank: unknown · ctrl+s save (recorded) · escape cancel"),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        """Start in customers."""
        self.query_one("#impact-customers", Input).focus()

    def action_submit(self) -> None:
        """Return the new impact (its note is kept)."""
        impact = _read_impact(self, "impact", self.impact.note)
        if impact is not None:
            self.dismiss(impact)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)


@dataclass(frozen=True)
class UpdateChoice:
    """What the update prompt returns: the text and where it goes."""

    text: str
    slack: bool
    copy: bool
    snooze: bool = False


class UpdatePromptScreen(ModalScreen[UpdateChoice | None]):
    """The stakeholder update, pre-filled; send to Slack, copy, or snooze."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send to Slack"),
        Binding("ctrl+o", "copy", "Copy + record"),
        Binding("ctrl+t", "snooze", "Snooze 5 min"),
        Binding("escape", "cancel", "Later"),
    ]

    def __init__(self, text: str, *, title: str, slack_label: str | None) -> None:
        super().__init__(classes="dialog")
        self.text = text
        self.heading = title
        self.slack_label = slack_label
        self._guard = PlaceholderGuard()

    def compose(self) -> ComposeResult:
        """Heading, editor, hint."""
        where = f"ctrl+s send to {self.slack_label} · " if self.slack_label else ""
        with Vertical(classes="dialog-box editor-box"):
            yield Static(Content.styled(self.heading, "bold"), classes="dialog-title")
            yield TextArea(self.text, id="update-text", soft_wrap=True)
            yield Static(
                Content(f"{where}ctrl+o copy to clipboard · ctrl+t snooze 5 min · escape later"),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        """Start in the editor."""
        for editor in self.query("#update-text"):
            editor.focus()

    def _text(self) -> str:
        return self.query_one("#update-text", TextArea).text

    def _not_ready(self, send: str) -> bool:
        """True (and say why) when the text is empty or holds an unfilled placeholder."""
        if not self._text().strip():
            self.notify("The update is empty: write it first (escape: later)", severity="warning")
            return True
        warning = self._guard.check(self._text(), send)
        if warning is not None:
            self.notify(warning, severity="warning", timeout=8, markup=False)
            return True
        return False

    def action_send(self) -> None:
        """Send to Slack (and record)."""
        if not self.slack_label:
            self.notify("No Slack webhook configured: ctrl+o copies instead", severity="warning")
            return
        if self._not_ready("ctrl+s"):
            return
        self.dismiss(UpdateChoice(self._text(), slack=True, copy=False))

    def action_copy(self) -> None:
        """Copy to the clipboard (and record)."""
        if self._not_ready("ctrl+o"):
            return
        self.dismiss(UpdateChoice(self._text(), slack=False, copy=True))

    def action_snooze(self) -> None:
        """Ask again in 5 minutes (recorded)."""
        self.dismiss(UpdateChoice("", slack=False, copy=False, snooze=True))

    def action_cancel(self) -> None:
        """Close; the banner keeps counting."""
        self.dismiss(None)


@dataclass(frozen=True)
class Resolution:
    """What the resolve dialog returns."""

    root_cause: str
    fix: str
    override: str
    all_clear: str


class ResolveScreen(ModalScreen[Resolution | None]):
    """Root cause, fix, an override reason when still monitoring, and the all-clear text."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Send all-clear"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, *, drafter: Callable[[str, str], str], window_note: str) -> None:
        super().__init__(classes="dialog")
        self.drafter = drafter
        self.window_note = window_note
        self._guard = PlaceholderGuard()

    def compose(self) -> ComposeResult:
        """The form and the all-clear editor."""
        with Vertical(classes="dialog-box editor-box"):
            yield Static(Content.styled("Resolve: the all-clear", "bold"), classes="dialog-title")
            yield _row("Root cause", Input(id="resolve-cause"))
            yield _row("Fix", Input(id="resolve-fix"))
            if self.window_note:
                yield Static(Content(self.window_note), classes="dialog-hint")
                yield _row(
                    "Override",
                    Input(placeholder="reason to skip the window", id="resolve-override"),
                )
            yield TextArea(self.drafter("", ""), id="resolve-text", soft_wrap=True)
            yield Static(
                Content("ctrl+s send the all-clear and write the review · escape cancel"),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        """Start with the root cause."""
        self.query_one("#resolve-cause", Input).focus()

    @on(Input.Changed, "#resolve-cause, #resolve-fix")
    def _redraft(self) -> None:
        cause = self.query_one("#resolve-cause", Input).value.strip()
        fix = self.query_one("#resolve-fix", Input).value.strip()
        self.query_one("#resolve-text", TextArea).text = self.drafter(cause, fix)

    def action_submit(self) -> None:
        """Return the resolution with the (possibly edited) all-clear."""
        cause = self.query_one("#resolve-cause", Input).value.strip()
        fix = self.query_one("#resolve-fix", Input).value.strip()
        overrides = self.query("#resolve-override")
        override = overrides.first(Input).value.strip() if overrides else ""
        text = self.query_one("#resolve-text", TextArea).text
        warning = self._guard.check(text)
        if warning is not None:
            self.notify(warning, severity="warning", timeout=8, markup=False)
            return
        self.dismiss(Resolution(cause, fix, override, text))

    def action_cancel(self) -> None:
        """Close."""
        self.dismiss(None)
