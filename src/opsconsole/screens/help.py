"""The ``?`` help screen: every key binding, one per line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("p", "Pause / resume polling"),
    ("r", "Re-run every probe now"),
    ("↑ ↓ / j k", "Move in the Health table"),
    ("ctrl+p", "Command palette (every action is there)"),
    ("?", "This help"),
    ("q", "Quit"),
)


class HelpScreen(ModalScreen[None]):
    """Lists the key bindings; any of escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        """One line per binding."""
        lines = [Content.assemble((f"{key:>10}", "bold $accent"), "  ", text) for key, text in KEYS]
        with Vertical(id="help-box"):
            yield Static(Content("Keys"), id="help-title")
            yield Static(Content("\n").join(lines), id="help-keys")
            yield Static(Content("escape closes this screen"), id="help-hint")

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help screen."""
        self.dismiss(result)
