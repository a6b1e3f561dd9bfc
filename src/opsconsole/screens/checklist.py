"""The checklist screen: today's §9 items, the automatic ones verified with evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from opsconsole.core.checklists import Cadence, ItemResult, ItemStatus, evaluate, todays_items
from opsconsole.core.shift import shift_start
from opsconsole.core.text import sanitize_terminal
from opsconsole.screens.failures import noted, one_line
from opsconsole.screens.ticket_dialogs import ComposeResultData, EditorScreen
from opsconsole.widgets.incident_banner import IncidentBanner
from opsconsole.widgets.key_footer import KeyFooter

ICON = {
    ItemStatus.PASS: ("✔", "bold $success"),
    ItemStatus.FAIL: ("✘", "bold $error"),
    ItemStatus.UNKNOWN: ("?", "bold $warning"),
    ItemStatus.MANUAL: ("·", "dim"),
    ItemStatus.DONE: ("✔", "$success"),
    ItemStatus.SKIPPED: ("–", "dim"),
}


class ChecklistScreen(Screen[None]):
    """space ticks a manual item, n adds a note, r re-checks, escape closes."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("n", "note", "Note"),
        Binding("r", "recheck", "Re-check"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="checklist-screen")
        self.results: dict[str, ItemResult] = {}
        self.run_id: int | None = None
        self._unsaved: dict[str, ItemResult] = {}
        self._resumed = False
        self._shift: datetime | None = None
        self.problem = ""
        """Why the list is not fresh or not saved (shown in the title line), or ''."""

    def compose(self) -> ComposeResult:
        """Banner, heading, the items, the last runs."""
        yield IncidentBanner()
        with VerticalScroll(id="checklist-body"):
            yield Static("", id="checklist-title")
            yield SelectionList[str](id="checklist-items")
            yield Static("", id="checklist-runs")
        yield KeyFooter()

    @property
    def store(self) -> Any:
        """The history database (with checklist runs)."""
        return getattr(self.app, "store", None)

    async def on_mount(self) -> None:
        """Start (or continue) today's run and verify; re-verify every 5 s as data arrives."""
        await self.recheck()
        self.query_one("#checklist-items", SelectionList).focus()
        self.set_interval(5.0, self.recheck)

    async def recheck(self) -> None:
        """Evaluate the automatic items now; keep manual ticks; store changes."""
        app: Any = self.app
        config = app.config
        now = app.clock()
        today = now.astimezone(config.tz).date()
        store = self.store
        checklists = config.checklists
        shift = shift_start(now, config.shift.starts, config.tz)
        if self._shift is not None and shift != self._shift:
            # Left open into the next shift: that shift gets its own run and fresh ticks
            # (what the last one still had waiting goes into its own run first).
            await self._save([], once=True)
            self.results, self.run_id, self._resumed = {}, None, False
            self._unsaved.clear()
        self._shift = shift
        with noted(self.app, "Re-checking the checklist", once=True) as outcome:
            if not self._resumed:
                await self._resume(now)
            last_done = (
                await store.last_done_dates(tz=config.tz)
                if store is not None and hasattr(store, "last_done_dates")
                else {}
            )
            due = todays_items(
                checklists.all_items(),
                today,
                weekly_day=checklists.weekly_day,
                monthly_day=checklists.monthly_day,
                last_done=last_done,
            )
            sla = any(item.auto == "sla_review" for item, _ in due)
            facts = await app.gather_facts(with_sla=sla)
        if outcome.failed:  # keep what is shown; the title line says why it is not fresh
            assert outcome.error is not None
            await self._save([], once=True)  # retry what is waiting to be saved
            self._show_problem(f"could not re-check: {one_line(outcome.error)}")
            return
        changed: list[ItemResult] = []
        results: dict[str, ItemResult] = {}
        for item, overdue in due:
            result = evaluate(item, facts)
            result = replace(result, overdue=overdue)
            previous = self.results.get(item.key)
            if previous is not None:
                result = replace(result, note=previous.note)  # notes stay, automatic or not
                if result.status is ItemStatus.MANUAL:
                    result = replace(result, status=previous.status)
            elif (
                result.status is ItemStatus.MANUAL
                and item.cadence is not Cadence.DAILY
                and last_done.get(item.key) == today
            ):
                result = replace(result, status=ItemStatus.DONE)  # ticked earlier today
            if previous is None or (previous.status, previous.evidence) != (
                result.status,
                result.evidence,
            ):
                changed.append(result)
            results[item.key] = result
        self.results = results
        self.problem = ""  # re-checked; _save says so if saving fails
        await self._save(changed, once=True)
        self._draw(today)
        await self._render_runs()

    async def _resume(self, now: Any) -> None:
        """Continue this operator's run of the current shift, if there is one: its manual
        ticks and notes come back, and no second run is started for the same shift."""
        store, app = self.store, self.app
        if store is None or not hasattr(store, "checklist_runs"):
            self._resumed = True
            return
        config = app.config  # type: ignore[attr-defined]
        start = shift_start(now, config.shift.starts, config.tz)
        runs = await store.checklist_runs(limit=5)
        self._resumed = True
        for run in runs:
            if run.started_at >= start and run.operator == config.operator.name:
                self.run_id = run.id
                self.results = {r.key: r for r in run.results}
                return

    async def _save(self, results: list[ItemResult], *, once: bool = False) -> None:
        """Record ``results`` in today's run (started on first use). What cannot be saved
        now (a disk error, a lock) is kept and saved with the next re-check, in 5 s."""
        for result in results:
            self._unsaved[result.key] = result
        store, app = self.store, self.app
        if store is None or not hasattr(store, "start_checklist_run") or not self._unsaved:
            return
        with noted(app, "Saving the checklist", once=once) as outcome:
            if self.run_id is None:
                operator = app.config.operator.name  # type: ignore[attr-defined]
                self.run_id = await store.start_checklist_run(operator, app.clock())  # type: ignore[attr-defined]
            for key, result in list(self._unsaved.items()):
                await store.record_checklist_item(self.run_id, result, app.clock())  # type: ignore[attr-defined]
                del self._unsaved[key]
        if outcome.failed:
            assert outcome.error is not None
            self._show_problem(f"not saved yet: {one_line(outcome.error)}")
        else:
            self._show_problem("")

    def _show_problem(self, problem: str) -> None:
        """Show (or clear) why the list is not fresh or not saved, in its title line."""
        if problem != self.problem:
            self.problem = problem
            self._draw(self.app.clock().astimezone(self.app.config.tz).date())  # type: ignore[attr-defined]

    async def action_close(self) -> None:
        """Close (escape): the run is marked finished now (reopening continues it)."""
        store, app = self.store, self.app
        if self.run_id is not None and store is not None and hasattr(store, "finish_checklist_run"):
            await self._save([], once=True)  # what is waiting to be saved, first
            with noted(app, "Saving the checklist", once=True):
                await store.finish_checklist_run(self.run_id, app.clock())  # type: ignore[attr-defined]
        if app.screen is self:
            app.pop_screen()

    async def action_recheck(self) -> None:
        """Verify again now."""
        await self.recheck()
        self.notify("Checklist re-checked")

    def _draw(self, today: Any) -> None:
        cadence_label = {
            Cadence.DAILY: "",
            Cadence.WEEKLY: " (weekly)",
            Cadence.MONTHLY: " (monthly)",
        }
        failed = sum(r.status is ItemStatus.FAIL for r in self.results.values())
        passed = sum(r.status in (ItemStatus.PASS, ItemStatus.DONE) for r in self.results.values())
        self.query_one("#checklist-title", Static).update(
            Content.assemble(
                (f"Start-of-shift checklist · {today:%A %d %b}", "bold"),
                f"   {passed}/{len(self.results)} done",
                (f" · {failed} failing" if failed else "", "bold $error"),
                ("   space ticks a manual item · n note · r re-check", "dim"),
                (f"   {self.problem}" if self.problem else "", "bold $error"),
            )
        )
        items = self.query_one("#checklist-items", SelectionList)
        highlighted = items.highlighted
        items.clear_options()
        options = []
        for key, result in self.results.items():
            icon, _style = ICON[result.status]
            label = f"{icon} {result.text}{cadence_label[result.cadence]}"
            if result.overdue:
                label += "  OVERDUE"
            if result.evidence:
                label += f"   — {result.evidence}"
            if result.note:
                label += f"   [note: {result.note}]"
            done = result.status in (ItemStatus.PASS, ItemStatus.DONE)
            options.append(
                Selection(Content(sanitize_terminal(label, single_line=True, limit=220)), key, done)
            )
        items.add_options(options)
        if highlighted is not None and options:
            items.highlighted = min(highlighted, len(options) - 1)

    async def _render_runs(self) -> None:
        store = self.store
        box = self.query_one("#checklist-runs", Static)
        if store is None or not hasattr(store, "checklist_runs"):
            box.update(Content.styled("Runs are not stored (no history database)", "dim"))
            return
        with noted(self.app, "Reading checklist runs", once=True) as outcome:
            runs = await store.checklist_runs(limit=5)
        if outcome.failed:
            return  # keep the last list shown
        tz = self.app.config.tz  # type: ignore[attr-defined]
        lines = [Content.styled("Last runs", "bold underline")]
        for run in runs:
            failed = sum(r.status is ItemStatus.FAIL for r in run.results)
            done = sum(r.status in (ItemStatus.PASS, ItemStatus.DONE) for r in run.results)
            lines.append(
                Content(
                    f"#{run.id}  {run.started_at.astimezone(tz):%a %d %b %H:%M}  "
                    f"{sanitize_terminal(run.operator, single_line=True, limit=30)}  "
                    f"{done}/{len(run.results)} done, {failed} failing"
                )
            )
        box.update(Content("\n").join(lines))

    @on(SelectionList.SelectionToggled, "#checklist-items")
    async def _toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        key = str(event.selection.value)
        result = self.results.get(key)
        if result is None:
            return
        if result.status in (ItemStatus.PASS, ItemStatus.FAIL, ItemStatus.UNKNOWN):
            self.notify("Automatic items are checked by the console (r re-checks)")
            self._draw(self.app.clock().astimezone(self.app.config.tz).date())  # type: ignore[attr-defined]
            return
        ticked = key in event.selection_list.selected
        status = ItemStatus.DONE if ticked else ItemStatus.MANUAL
        await self._store(replace(result, status=status))

    async def _store(self, result: ItemResult) -> None:
        self.results[result.key] = result
        await self._save([result])

    def action_move(self, step: int) -> None:
        """j / k."""
        items = self.query_one("#checklist-items", SelectionList)
        if step > 0:
            items.action_cursor_down()
        else:
            items.action_cursor_up()

    def action_note(self) -> None:
        """Add a note to the highlighted item."""
        items = self.query_one("#checklist-items", SelectionList)
        if items.highlighted is None:
            return
        key = str(items.get_option_at_index(items.highlighted).value)
        result = self.results.get(key)
        if result is None:
            return
        editor = EditorScreen(
            f"Note: {result.text}",
            drafts={"note": ("", result.note)},
            with_subject=False,
            submit_label="save",
        )

        async def done(data: ComposeResultData | None) -> None:
            if data is not None:
                note = sanitize_terminal(data.body, single_line=True, limit=300)
                await self._store(replace(result, note=note))
                self._draw(self.app.clock().astimezone(self.app.config.tz).date())  # type: ignore[attr-defined]

        self.app.push_screen(editor, done)
