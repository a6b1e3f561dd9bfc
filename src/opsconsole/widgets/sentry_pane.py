"""The Sentry pane: issue counts and the top issues (Enter shows details)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Static

from opsconsole.core.durations import short_age
from opsconsole.core.sources import SentryIssue, SentrySnapshot
from opsconsole.core.text import sanitize_terminal
from opsconsole.screens.link_detail import LinkDetailScreen
from opsconsole.widgets.fast_table import FastTable
from opsconsole.widgets.source_pane import SourcePane
from opsconsole.widgets.static_update import update_static

LEVEL_STYLE = {"fatal": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


class SentryPane(SourcePane):
    """Unresolved / new-in-24h / new-this-shift counts, then the top issues."""

    source_name = "sentry"
    title = "Sentry"

    def compose_body(self) -> ComposeResult:
        """Counts line and the issues table."""
        yield Static("", id="sentry-counts", markup=False)
        table: FastTable[Text] = FastTable(id="sentry-issues", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        """Columns."""
        super().on_mount()
        table = self.query_one("#sentry-issues", DataTable)
        for label, key, width in (
            ("Issue", "id", 12),
            ("Level", "level", 7),
            ("Events", "events", 7),
            ("Users", "users", 5),
            ("Last", "last", 4),
            ("Title", "title", None),
        ):
            table.add_column(Text(label), key=key, width=width)
        self._issues: dict[str, SentryIssue] = {}

    def show(self, data: object) -> None:
        """Render a :class:`SentrySnapshot`."""
        assert isinstance(data, SentrySnapshot)
        now = self.clock()
        shift = data.shift_start.astimezone(self.timezone).strftime("%H:%M")
        per_project = "  ".join(
            f"{sanitize_terminal(p.project, single_line=True, limit=20)} {p.unresolved}/{p.new_24h}"
            for p in data.projects
        )
        counts = Content.assemble(
            ("Unresolved ", "dim"),
            (str(data.unresolved), "bold"),
            ("   New 24h ", "dim"),
            (str(data.new_24h), "bold $warning" if data.new_24h else "bold"),
            (f"   New since {shift} ", "dim"),
            (str(data.new_since_shift), "bold $error" if data.new_since_shift else "bold"),
            ("   ", ""),
            (per_project, "dim"),
        )
        update_static(self.query_one("#sentry-counts", Static), counts)
        table = self.query_one("#sentry-issues", FastTable)
        cursor = table.cursor_row
        self._issues = {}
        rows: list[tuple[Text, ...]] = []
        keys: list[str | None] = []
        for index, issue in enumerate(data.top):
            # Row keys are positions, not issue ids: ids come from the server, and a
            # repeated or missing one must not make the table refuse the rows.
            self._issues[str(index)] = issue
            keys.append(str(index))
            rows.append(
                (
                    Text(sanitize_terminal(issue.short_id, single_line=True, limit=14)),
                    Text(
                        sanitize_terminal(issue.level, single_line=True, limit=7),
                        style=LEVEL_STYLE.get(issue.level, ""),
                    ),
                    Text(f"{issue.events:,}", justify="right"),
                    Text(str(issue.users), justify="right"),
                    Text(short_age(issue.last_seen, now)),
                    Text(sanitize_terminal(issue.title, single_line=True, limit=200)),
                )
            )
        if not data.top:
            rows.append((Text("no unresolved issues", style="dim"), *[Text("")] * 5))
            keys.append(None)
        if table.replace_rows(rows, keys) and data.top:
            table.move_cursor(row=min(cursor, len(data.top) - 1))

    @on(DataTable.RowSelected, "#sentry-issues")
    def _selected(self, event: DataTable.RowSelected) -> None:
        issue = self._issues.get(str(event.row_key.value))
        if issue is None:
            return
        tz = self.timezone

        def when(value: datetime | None) -> str:
            return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if value else "—"

        fields = [
            ("Issue", issue.short_id),
            ("Project", issue.project),
            ("Level", issue.level),
            ("Culprit", issue.culprit or "—"),
            ("Events", f"{issue.events:,}"),
            ("Users", str(issue.users)),
            ("First seen", when(issue.first_seen)),
            ("Last seen", when(issue.last_seen)),
        ]
        self.app.push_screen(LinkDetailScreen(issue.title, fields, issue.permalink))
