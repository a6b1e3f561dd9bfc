"""A modal showing one item's details and its link: ``c`` copies, ``o`` opens it."""

from __future__ import annotations

import webbrowser

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from opsconsole.core.text import sanitize_terminal


class LinkDetailScreen(ModalScreen[None]):
    """Details of a Sentry issue or a metric, built from (label, value) pairs."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("c", "copy", "Copy link"),
        Binding("o", "open", "Open link"),
    ]

    def __init__(self, title: str, fields: list[tuple[str, str]], url: str | None) -> None:
        super().__init__()
        self.heading = title
        self.fields = fields
        self.url = url

    def compose(self) -> ComposeResult:
        """Title, fields, link and a hint line."""
        width = max((len(label) for label, _ in self.fields), default=0)
        lines = [
            Content.assemble((f"{label:>{width}}", "bold $accent"), "  ", clean(value))
            for label, value in self.fields
        ]
        with Vertical(id="detail-box"):
            yield Static(Content(clean(self.heading)), id="detail-title")
            yield Static(Content("\n").join(lines), id="detail-fields")
            link = clean(self.url) if self.url else "no link available"
            yield Static(Content.assemble(("link  ", "bold"), link), id="detail-link")
            yield Static(
                Content("c copy link · o open in browser · escape close"), id="detail-hint"
            )

    async def action_dismiss(self, result: None = None) -> None:
        """Close."""
        self.dismiss(result)

    def action_copy(self) -> None:
        """Copy the link to the clipboard (OSC 52: works over SSH in most terminals)."""
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.notify("Link copied to the clipboard")
        else:
            self.notify("No link to copy", severity="warning")

    def action_open(self) -> None:
        """Open the link in the default browser, off the event loop."""
        if not self.url:
            self.notify("No link to open", severity="warning")
            return
        url = self.url
        self.run_worker(lambda: webbrowser.open(url), thread=True, group="browser")
        self.notify("Opening the link in your browser")


def clean(text: str) -> str:
    """Untrusted text for one line of a detail view."""
    return sanitize_terminal(text, single_line=True, limit=300)
