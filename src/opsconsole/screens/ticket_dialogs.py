"""Small modal dialogs used by triage: pick one option, or edit a text (note, reply, escalation)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from opsconsole.screens.placeholder_guard import PlaceholderGuard


class PickScreen(ModalScreen[str | None]):
    """Pick one of ``options`` (value, label); escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]]) -> None:
        super().__init__(classes="dialog")
        self.heading = title
        self.options = list(options)

    def compose(self) -> ComposeResult:
        """Title and the option list."""
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.heading), classes="dialog-title")
            yield OptionList(
                *[Option(Content(label), id=value) for value, label in self.options],
                id="pick-options",
            )
            yield Static(Content("enter choose · escape cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        """Keys go to the list."""
        options = self.query_one("#pick-options", OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)


class ComposeResultData:
    """What an editor returns: subject and body (and the chosen template or level)."""

    def __init__(self, subject: str, body: str, choice: str | None) -> None:
        self.subject = subject
        self.body = body
        self.choice = choice


class EditorScreen(ModalScreen[ComposeResultData | None]):
    """Edit a subject and body, optionally chosen from ``choices`` (templates or levels).

    ``drafts`` maps each choice to its (subject, body); picking another choice replaces the
    text. ctrl+s sends, escape cancels.
    """

    BINDINGS = [
        Binding("ctrl+s", "submit", "Send"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        title: str,
        *,
        drafts: dict[str, tuple[str, str]],
        labels: dict[str, str] | None = None,
        with_subject: bool = True,
        submit_label: str = "send",
        check_placeholders: bool = False,
    ) -> None:
        super().__init__(classes="dialog")
        self.heading = title
        self.drafts = drafts
        self.labels = labels or {k: k for k in drafts}
        self.with_subject = with_subject
        self.submit_label = submit_label
        self.choice = next(iter(drafts)) if drafts else None
        self.check_placeholders = check_placeholders  # a customer reply: see placeholder_guard
        self._guard = PlaceholderGuard()

    def compose(self) -> ComposeResult:
        """Choice, subject, body, hint."""
        subject, body = self.drafts.get(self.choice or "", ("", ""))
        with Vertical(classes="dialog-box editor-box"):
            yield Static(Content(self.heading), classes="dialog-title")
            if len(self.drafts) > 1:
                yield Select(
                    [(self.labels[k], k) for k in self.drafts],
                    value=self.choice,
                    allow_blank=False,
                    id="editor-choice",
                )
            if self.with_subject:
                yield Input(subject, id="editor-subject")
            yield TextArea(body, id="editor-body", soft_wrap=True)
            yield Static(
                Content(f"ctrl+s {self.submit_label} · escape cancel"), classes="dialog-hint"
            )

    def on_mount(self) -> None:
        """Start in the body."""
        self.query_one("#editor-body", TextArea).focus()

    @on(Select.Changed, "#editor-choice")
    def _choice_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or event.value == self.choice:
            return
        self.choice = event.value
        subject, body = self.drafts[event.value]
        if self.with_subject:
            self.query_one("#editor-subject", Input).value = subject
        self.query_one("#editor-body", TextArea).text = body

    def action_submit(self) -> None:
        """Return the edited text."""
        body = self.query_one("#editor-body", TextArea).text
        if not body.strip():
            self.notify("The text is empty", severity="warning")
            return
        subject = self.query_one("#editor-subject", Input).value if self.with_subject else ""
        warning = self._guard.check(f"{subject}\n{body}") if self.check_placeholders else None
        if warning is not None:
            self.notify(warning, severity="warning", timeout=8, markup=False)
            return
        self.dismiss(ComposeResultData(subject, body, self.choice))

    def action_cancel(self) -> None:
        """Close without sending."""
        self.dismiss(None)

    def reopened(self, result: ComposeResultData) -> EditorScreen:
        """A new editor like this one, holding ``result`` (sending it failed): its choice
        shows the text as edited, the other choices keep their drafts."""
        choice = result.choice or self.choice or ""
        drafts = {choice: (result.subject, result.body)}
        drafts.update({k: v for k, v in self.drafts.items() if k != choice})
        return EditorScreen(
            self.heading,
            drafts=drafts,
            labels=self.labels,
            with_subject=self.with_subject,
            submit_label=self.submit_label,
            check_placeholders=self.check_placeholders,
        )
