"""Hostile input reaches every pane and screen that shows untrusted text (issue 7 item 4).

RELIABILITY-AND-PERFORMANCE.md §A1: untrusted text must never reach the markup parser,
never put a control sequence on the terminal, and never crash rendering. Hypothesis
generates strings built from terminal attacks (OSC 52/8/0, CSI, DCS, 8-bit C1, ``\\r``,
NUL, bidi overrides), markup (lone ``[``, ``[/x]``, ``[@click=app.quit]``, ``[link=…]``),
very long strings and emoji/combining characters; each group of widgets is driven by
the real app (``run_test`` with fakes) and every frame is checked:

* no exception, the app still runs (a ``[@click=app.quit]`` that was clicked did not quit);
* the text of the rendered segments holds no C0/C1/DEL/bidi control (a benign baseline
  holds none either, so the ESC count of the content is 0 in both);
* the terminal byte stream the frame would produce holds no OSC 52/8/0, no DCS, no
  ``\\x9b``, no raw U+202E, and only the kinds of escape sequences the benign baseline uses
  (Textual's own SGR colours and cursor moves);
* no segment carries a ``@click`` action or a link that the baseline does not;
* the markup in a visible field appears literally on screen.

One app per widget group serves all of that group's examples: the app runs in a thread
with its own event loop and each example is a coroutine run inside ``run_test``'s task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual._compositor import LayoutUpdate
from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import WorkerCancelled

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.core.incidents import EntryKind, Impact, IncidentSeverity
from opsconsole.core.models import ConditionResult, Outcome, ProbeResult, ProbeState
from opsconsole.core.sla import next_deadline
from opsconsole.core.sources import (
    Alert,
    AlertsSnapshot,
    FiredAlert,
    MetricReading,
    MetricsSnapshot,
    SentryIssue,
    SentryProjectCounts,
    SentrySnapshot,
    SourceError,
    StatusComponent,
    StatusIncident,
    StatusPageSnapshot,
)
from opsconsole.core.tickets import (
    Attachment,
    Category,
    Direction,
    Requester,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)
from opsconsole.engine import ProbeStatus
from opsconsole.screens.incident import IncidentScreen
from opsconsole.screens.link_detail import LinkDetailScreen
from opsconsole.screens.ticket_detail import TicketScreen
from opsconsole.screens.tickets import TicketsScreen
from opsconsole.widgets.health_pane import HealthPane
from opsconsole.widgets.incident_banner import IncidentBanner
from opsconsole.widgets.ticket_queue_pane import TicketQueuePane

from fakes import (
    FROZEN,
    FakeSource,
    MutableClock,
    ScriptedRunner,
    all_fakes,
    sources_config,
)
from ticket_fixtures import ticket_config

SIZE = (240, 70)
# 25 examples per group keeps the file near a minute; HOSTILE_EXAMPLES=1000 for a soak.
EXAMPLES = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # examples are cheap to regenerate; keep CI deterministic per seed
)

# -- hostile strings -----------------------------------------------------------------------

ATTACKS = [
    "\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07",  # OSC 52: clipboard write (BEL)
    "\x1b]52;c;ZXZpbA==\x1b\\",  # OSC 52 (ST)
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]0;pwned title\x07",  # OSC 0: window title
    "\x1b]9;7;calc.exe\x07",  # ConEmu: run a program
    "\x1b[2J",  # clear screen
    "\x1b[H",  # cursor home
    "\x1b[10;20H",  # cursor move
    "\x1b[31;1m",  # SGR from the content
    "\x1b[>0q",  # XTVERSION: makes the terminal answer
    "\x1bP+q544e\x1b\\",  # DCS (XTGETTCAP)
    "\x1bc",  # RIS: full reset
    "\x9b2J",  # 8-bit CSI
    "\x9d0;title\x9c",  # 8-bit OSC and ST
    "\x90q\x9c",  # 8-bit DCS
    "\x1b",
    "\r",
    "\x00",
    "\x07",
    "\x08",
    "\x7f",
    "\x85",
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u2069",
    "\u200f",
    "[",
    "]",
    "[/x]",
    "[/]",
    "[b]",
    "[@click=app.quit]quit[/]",
    "[@click=app.simulate_key('q')]q[/]",
    "[link=https://evil.example]link[/link]",
    "[link='https://evil.example']",
    "[on red]",
    "$warning",
    "\\[",
    "${HOME}",
    "e\u0301",  # combining acute
    "\u0338\u0338\u0338",  # stacked combining marks
    "👩‍💻",  # ZWJ sequence
    "🇺🇸",
    "ｗｉｄｅ",
    "\u200b",
    "\ufeff",
    "\n",
    "\t",
]
_piece = st.one_of(
    st.sampled_from(ATTACKS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)
short_hostile = st.lists(_piece, min_size=1, max_size=6).map("".join)
hostile = st.one_of(
    short_hostile,
    short_hostile,
    short_hostile,
    st.builds(lambda s, n: s * n, short_hostile, st.integers(100, 600)),  # very long
)

# A prefix that must show literally (markup not parsed) wherever its field is visible.
MARK = "[@click=app.quit]Q[/]"
LINK = "[link=https://evil.example]L[/link]"


def marked(text: str) -> str:
    return MARK + text


# -- frames ----------------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ESCAPE = re.compile(r"\x1b(?:\[([0-9;:?<>=]*)[ -/]*([@-~])|(.))")


@dataclass
class Frame:
    """One full render of the current screen (and the screens below a modal)."""

    lines: list[str]  # the text of each screen row, from the segments
    stream: str  # what would be written to the terminal
    clicks: set[str]  # @click actions carried by segment styles
    links: set[str]  # links carried by segment styles
    controls: bool  # a segment that is a control code

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def escape_kinds(self) -> set[str]:
        """``[m``, ``[H``…: the kinds of escape sequences in the stream."""
        kinds = set()
        for params, final, other in ESCAPE.findall(self.stream):
            kinds.add(f"[{'?' if params.startswith('?') else ''}{final}" if final else other)
        return kinds


def capture(app: Any) -> Frame:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert isinstance(update, LayoutUpdate)
    lines, clicks, links, controls = [], set(), set(), False
    for row in update.strips:
        text = []
        for strip in row:
            for segment in strip:
                text.append(segment.text)
                controls = controls or bool(segment.control)
                style = segment.style
                if style is not None:
                    if style.link:
                        links.add(style.link)
                    meta = style.meta
                    if meta.get("@click"):
                        clicks.add(str(meta["@click"]))
        lines.append("".join(text))
    return Frame(lines, update.render_segments(app.console), clicks, links, controls)


def assert_clean(frame: Frame, baseline: Frame, where: str) -> None:
    """The checks of §A1 on one frame, against a benign frame of the same app."""
    for line in frame.lines:
        bad = CONTROL.search(line)
        assert bad is None, f"{where}: control {bad.group()!r} in the rendered line {line!r}"
    assert frame.text.count("\x1b") == baseline.text.count("\x1b") == 0, where
    assert not frame.controls, f"{where}: a control segment"
    # Sanitized text shows "^[]52;…" literally; only a real ESC/C1 introducer is an attack.
    for needle in ("\x1b]", "\x1bP", "\x1bc", "\x9b", "\x9d", "\x90", "\u202e", "\u2066"):
        assert needle not in frame.stream, f"{where}: {needle!r} reached the terminal stream"
    stray = ESCAPE.sub("", frame.stream)
    assert "\x1b" not in stray, f"{where}: a malformed escape reached the terminal stream"
    extra = frame.escape_kinds() - baseline.escape_kinds()
    assert not extra, f"{where}: escape sequences the baseline never emits: {extra}"
    assert frame.clicks <= baseline.clicks, f"{where}: markup actions {frame.clicks}"
    assert frame.links <= baseline.links, f"{where}: links {frame.links}"


def where_is(frame: Frame, needle: str) -> list[tuple[int, int]]:
    """Screen cells where ``needle`` starts (column counted in cells, not characters)."""
    from rich.cells import cell_len

    found = []
    for y, line in enumerate(frame.lines):
        start = line.find(needle)
        while start != -1:
            found.append((cell_len(line[:start]), y))
            start = line.find(needle, start + 1)
    return found


# -- the harness: running apps, examples sent to their loops -----------------------------

Step = Callable[[Any, Any], Awaitable[Any]]


class Harness:
    """Runs ``app.run_test()`` in a thread; :meth:`run` executes a step inside it.

    Starting an app and pushing a screen cost far more than re-rendering one, so each
    app is started once and serves every example of its group, and a view that needs
    its own screen (the Tickets screen, the ticket screen) gets its own app.
    """

    def __init__(self, app: Any, setup: Step | None = None) -> None:
        self.app = app
        self._setup = setup
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Step, concurrent.futures.Future[Any]] | None]
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._queue = asyncio.Queue()
        async with self.app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.pause()
            if self._setup is not None:
                await self._setup(self.app, pilot)
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            while (item := await self._queue.get()) is not None:
                step, future = item
                try:
                    future.set_result(await step(self.app, pilot))
                except BaseException as exc:
                    future.set_exception(exc)

    def run(self, step: Step, timeout: float = 60.0) -> Any:
        assert self._loop is not None, self._error
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (step, future))
        return future.result(timeout)

    def start(self) -> Harness:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error
        assert self._loop is not None, "the app did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)
        self._thread.join(60)
        assert not self._thread.is_alive(), "the app did not shut down"
        if self._error is not None:
            raise self._error


@contextmanager
def harnesses(*apps: tuple[Any, Step | None]) -> Iterator[list[Harness]]:
    """Start every app (in order), stop them in reverse; errors inside an app surface."""
    started: list[Harness] = []
    try:
        for app, setup in apps:
            started.append(Harness(app, setup).start())
        yield started
    finally:
        for h in reversed(started):
            h.stop()


async def settle(app: Any, pilot: Any, rounds: int = 2) -> None:
    for _ in range(5):  # an exclusive worker replaced by a newer one raises WorkerCancelled
        try:
            await app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    for _ in range(rounds):
        await pilot.pause()


def still_running(app: Any) -> None:
    assert app.is_running and app._exception is None and app.return_code is None


async def alive(app: Any, pilot: Any) -> None:
    still_running(app)


async def click_mark(app: Any, pilot: Any, frame: Frame) -> None:
    """Click the first visible MARK in a text widget (a markup action would fire here)."""
    for x, y in where_is(frame, MARK):
        widget, _ = app.screen.get_widget_at(x, y)
        if isinstance(widget, Static):
            await pilot.click(offset=(x + 1, y))
            await pilot.pause()
            break
    still_running(app)


def merged(frames: list[Frame]) -> Frame:
    """One baseline from several benign frames: the union of what they emit."""
    first = frames[0]
    return (
        Frame(
            [line for f in frames for line in f.lines],
            "".join(f.stream for f in frames),
            set().union(*(f.clicks for f in frames)),
            set().union(*(f.links for f in frames)),
            any(f.controls for f in frames),
        )
        if len(frames) > 1
        else first
    )


# -- group 1: the dashboard's probe and source panes, and the link detail modal --------


# Fields the panes show without sanitize_terminal (found by this test; see KNOWN_LEAKS).
BENIGN_LEVEL = "error"


def sentry_of(h: list[str], level: str = BENIGN_LEVEL) -> SentrySnapshot:
    return SentrySnapshot(
        projects=(SentryProjectCounts(h[0], 3, 2, 1), SentryProjectCounts(h[1], 1, 0, 0)),
        top=(
            SentryIssue(
                "1",
                h[2],
                marked(LINK + h[3]),
                h[4],
                level,
                h[6],
                1234,
                17,
                FROZEN - timedelta(hours=3),
                FROZEN - timedelta(minutes=3),
                "https://acme.sentry.io/issues/1/" + h[7],
            ),
        ),
        shift_start=FROZEN - timedelta(hours=8),
    )


def metrics_of(h: list[str]) -> MetricsSnapshot:
    series = tuple((1000.0 + i * 60, 400.0 + i) for i in range(10))
    return MetricsSnapshot(
        readings=(
            MetricReading(marked(h[0]), "ms", 812.0, "warn", series, 800, 1000, h[1]),
            MetricReading(h[2], "", None, "unknown", error=marked(h[3])),
        )
    )


def alerts_of(h: list[str]) -> AlertsSnapshot:
    labels = ((h[4], h[5]), ("alertname", h[0]))
    return AlertsSnapshot(
        firing=(
            Alert(marked(h[0]), h[1], marked(LINK + h[2]), FROZEN, "active", False, False, h[3]),
            Alert(h[6], "critical", h[7], FROZEN, "suppressed", True, False, "f2", labels),
        ),
        fired_since_shift=(FiredAlert(h[0], h[1], labels), FiredAlert(h[6], "page")),
    )


def statuspage_of(h: list[str], leaky: list[str] | None = None) -> StatusPageSnapshot:
    indicator, component, status, impact = leaky or ["minor", "major_outage", "identified", "major"]
    return StatusPageSnapshot(
        page=h[0],
        indicator=indicator,
        description=marked(h[2]),
        components=(StatusComponent(marked(h[3]), component),),
        incidents=(StatusIncident(marked(h[5]), status, impact, FROZEN, h[6], h[7]),),
        maintenances=(StatusIncident(h[4], "in_progress", "maintenance", FROZEN, None, ""),),
    )


def probe_statuses(h: list[str]) -> list[ProbeStatus]:
    down = ProbeResult(h[0], FROZEN, Outcome.ERROR, error=marked(h[1]))
    failing = ProbeResult(
        h[2],
        FROZEN,
        Outcome.FAILED_CONDITIONS,
        status=503,
        latency_ms=12.0,
        conditions=(ConditionResult("[STATUS] == 200", False, marked(h[3])),),
    )
    return [
        ProbeStatus(marked(h[0]), h[4], ProbeState.DOWN, down),
        ProbeStatus(h[2], h[5], ProbeState.DOWN, failing),
        ProbeStatus(h[6], marked(h[7]), ProbeState.UNKNOWN, None),
    ]


def build_sources_app(tmp_path: Path) -> tuple[Any, dict[str, FakeSource]]:
    clock = MutableClock()
    fakes = all_fakes()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "s.db", clock=clock)

    app = make_app(
        sources_config(),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: fakes,
        clock=clock,
        poll=False,
    )
    return app, fakes


async def poll_sources(app: Any, pilot: Any) -> None:
    assert app.hub is not None
    await app.hub.poll_all_once()
    await settle(app, pilot, 2)


async def open_detail(app: Any, pilot: Any, table_id: str) -> Frame:
    """Enter on a pane's first row (the pane's real handler): the link detail modal."""
    table = app.query_one(f"#{table_id}", DataTable)
    table.focus()
    table.move_cursor(row=0)
    table.action_select_cursor()
    await settle(app, pilot)
    assert isinstance(app.screen, LinkDetailScreen), type(app.screen)
    frame = capture(app)
    await click_mark(app, pilot, frame)
    app.screen.dismiss()
    await settle(app, pilot)
    assert not isinstance(app.screen, ModalScreen)
    return frame


def test_dashboard_panes(tmp_path: Path) -> None:
    """Health, Sentry, Metrics, Alerts, Status page: data, then every source failing."""
    app, fakes = build_sources_app(tmp_path)
    examples = iter(range(10_000))

    def feed(h: list[str], error: str | None) -> None:
        for name, snapshot in (
            ("sentry", sentry_of(h) if error is None else SourceError(error)),
            ("metrics", metrics_of(h) if error is None else SourceError(error)),
            ("alerts", alerts_of(h) if error is None else RuntimeError(error)),  # adapter bug
            ("statuspage", statuspage_of(h) if error is None else SourceError(error)),
        ):
            fakes[name].items.clear()
            fakes[name].items.append(snapshot)

    async def baseline(app: Any, pilot: Any) -> Frame:
        await poll_sources(app, pilot)
        frames = [capture(app)]
        frames.append(await open_detail(app, pilot, "sentry-issues"))
        frames.append(await open_detail(app, pilot, "metrics-table"))
        return merged(frames)

    with harnesses((app, None)) as (h,):
        base = h.run(baseline)
        assert "KeyError: 'policy_id' [bold]not markup[/bold]" in base.text

        @EXAMPLES
        @given(st.lists(hostile, min_size=8, max_size=8), hostile)
        def example(strings: list[str], error: str) -> None:
            async def step(app: Any, pilot: Any) -> None:
                n = next(examples)
                if n % 2:  # every source fails: the reason on each pane's first line
                    feed(strings, error)
                    await poll_sources(app, pilot)
                    frame = capture(app)
                    assert_clean(frame, base, "dashboard with every source failing")
                    app.clear_notifications()  # a toast can cover a mark (see below)
                    await pilot.pause()
                    frame = capture(app)
                    assert len(where_is(frame, MARK)) >= 3, frame.text  # last good data
                    still_running(app)
                    return
                feed(strings, None)
                health = app.query_one(HealthPane)
                health.clear()
                health._cells.clear()
                health.show(probe_statuses(strings))
                await poll_sources(app, pilot)
                frame = capture(app)
                assert_clean(frame, base, "dashboard")  # toasts included
                # A toast (the declare suggestion for a critical alert) can cover a pane's
                # mark: count the marks with the notifications gone.
                app.clear_notifications()
                await pilot.pause()
                frame = capture(app)
                assert_clean(frame, base, "dashboard")
                # health ×3, sentry title, metric name and error, alert name and summary,
                # status page description, component and incident
                assert len(where_is(frame, MARK)) >= 10, frame.text
                await click_mark(app, pilot, frame)
                if n % 6 == 0:  # the modal through the panes' real Enter handlers
                    assert_clean(await open_detail(app, pilot, "sentry-issues"), base, "sentry")
                    assert_clean(await open_detail(app, pilot, "metrics-table"), base, "metric")
                still_running(app)

            h.run(step)

        example()


def test_link_detail_modal() -> None:
    """The detail modal of a Sentry issue or a metric: title, fields and link."""

    class Host(App[None]):
        pass

    async def setup(app: Any, pilot: Any) -> None:
        await app.push_screen(LinkDetailScreen("TypeError: x", [("Culprit", "a.b")], "https://x"))
        await settle(app, pilot)

    async def show(app: Any, pilot: Any, title: str, fields: list[str], url: str) -> Frame:
        screen = app.screen
        assert isinstance(screen, LinkDetailScreen)
        screen.heading = title
        screen.fields = [(f"Field {i}", value) for i, value in enumerate(fields)]
        screen.url = url
        await screen.recompose()
        await settle(app, pilot, 1)
        return capture(app)

    with harnesses((Host(), setup)) as (h,):
        base = h.run(lambda app, pilot: show(app, pilot, "Title", ["a", "b"], "https://x"))

        @EXAMPLES
        @given(hostile, st.lists(hostile, min_size=1, max_size=6), hostile)
        def example(title: str, fields: list[str], url: str) -> None:
            async def step(app: Any, pilot: Any) -> None:
                frame = await show(app, pilot, marked(title), [marked(f) for f in fields], url)
                assert_clean(frame, base, "link detail")
                assert len(where_is(frame, MARK)) >= 1 + len(fields), frame.text
                await click_mark(app, pilot, frame)

            h.run(step)

        example()


# -- group 2: tickets in the queue pane, the Tickets screen and the ticket screen -------


def build_ticket_app(tmp_path: Path, db: str = "t.db", **extra: object) -> tuple[Any, Any]:
    clock = MutableClock()
    config = ticket_config(tmp_path, **extra)

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / db, clock=clock)

    app = make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )
    return app, config


async def create_ticket(app: Any, config: Any, h: list[str], n: int) -> int:
    """A ticket straight into the store (bypassing intake's own sanitizing)."""
    store = app.ticket_service.store
    ticket = Ticket(
        number=0,
        subject=marked(LINK + h[0]),
        requester=Requester(h[1], marked(h[2]), h[3] if n % 2 else ""),
        received_at=FROZEN - timedelta(minutes=5),
        category=Category.BUG,
        severity=Severity.CRITICAL,
        triage_rule=h[4],
        defects=(h[5],),
    )
    policy = config.sla.to_policy(config.tz)
    ticket = replace(ticket, next_due=next_deadline(ticket, policy, FROZEN))
    first = ThreadMessage(
        direction=Direction.INBOUND,
        at=ticket.received_at,
        author=h[2],
        subject=h[0],
        body=marked(h[6]) + "\n" + h[7],
        message_id=f"<hostile-{n}@example.com>",
        attachments=(Attachment(marked(h[8]), 1234, h[9]),),
        defects=(h[5],),
    )
    created = await store.create_ticket(ticket, first, actor=h[9])
    note = ThreadMessage(Direction.NOTE, FROZEN, h[1], h[7], message_id=f"<note-{n}@x>")
    await store.add_message(created.number, note, actor=h[1])
    await store.update_ticket(created.number, {"assignee": marked(h[3])}, actor=h[4], at=FROZEN)
    return int(created.number)


def test_ticket_queue_tickets_screen_and_ticket_screen(tmp_path: Path) -> None:
    """Three consoles on one database: the dashboard's queue, the Tickets screen, a ticket."""
    queue_app, config = build_ticket_app(tmp_path)
    list_app, _ = build_ticket_app(tmp_path)
    detail_app, _ = build_ticket_app(tmp_path)
    counter = iter(range(10_000))

    async def open_list(app: Any, pilot: Any) -> None:
        app.action_tickets()
        await settle(app, pilot)
        assert isinstance(app.screen, TicketsScreen)

    async def open_ticket(app: Any, pilot: Any) -> None:
        await app.push_screen(TicketScreen(0))
        await settle(app, pilot)

    async def in_queue(app: Any, pilot: Any) -> Frame:
        await app.query_one(TicketQueuePane).reload()
        await settle(app, pilot, 1)
        return capture(app)

    async def in_list(app: Any, pilot: Any) -> Frame:
        await app.screen.refresh_tickets()
        await settle(app, pilot, 1)
        return capture(app)

    def in_detail(number: int) -> Step:
        async def step(app: Any, pilot: Any) -> Frame:
            screen = app.screen
            assert isinstance(screen, TicketScreen)
            screen.number = number
            await screen.refresh_tickets()
            await settle(app, pilot, 1)
            frame = capture(app)
            await click_mark(app, pilot, frame)
            return frame

        return step

    with harnesses((queue_app, None), (list_app, open_list), (detail_app, open_ticket)) as (
        queue,
        listing,
        detail,
    ):

        def frames_for(strings: list[str]) -> list[tuple[str, Frame]]:
            async def create(app: Any, pilot: Any) -> int:
                return await create_ticket(app, config, strings, next(counter))

            number = queue.run(create)
            frames = [
                ("queue pane", queue.run(in_queue)),
                ("tickets screen", listing.run(in_list)),
                ("ticket screen", detail.run(in_detail(number))),
            ]

            async def close(app: Any, pilot: Any) -> None:
                store = app.ticket_service.store
                await store.update_ticket(number, {"status": Status.CLOSED}, actor="t", at=FROZEN)

            queue.run(close)  # the next example's ticket is the only open one
            return frames

        benign = ["Dashboard shows wrong data", "Kim Park", "kim@globex.com", "globex.com"]
        benign += ["severity: high", "no Date header", "Hello", "Thanks", "a.png", "image/png"]
        base = merged([frame for _, frame in frames_for(benign)])

        @EXAMPLES
        @given(st.lists(hostile, min_size=10, max_size=10))
        def example(strings: list[str]) -> None:
            for where, frame in frames_for(strings):
                assert_clean(frame, base, where)
                assert MARK in frame.text, f"{where}: markup not shown literally"
            for h in (queue, listing, detail):
                h.run(alive)

        example()


# -- group 3: incidents in the banner, the incident screen and the "declared" toast ------


def test_incident_banner_screen_and_toast(tmp_path: Path) -> None:
    """One console declares and writes the timeline; a second one notices it (toast,
    banner) and shows the incident screen (summary, timeline, and the history listing
    the earlier examples' incidents); the first shows its banner."""
    incident = {"reviews_dir": str(tmp_path / "reviews")}
    declaring, _ = build_ticket_app(tmp_path, "i.db", incident=incident)
    watching, _ = build_ticket_app(tmp_path, "i.db", incident=incident)

    async def open_incident(app: Any, pilot: Any) -> None:
        await app.push_screen(IncidentScreen())
        await settle(app, pilot)

    async def declare(app: Any, pilot: Any) -> None:
        await app.incident_service.declare("Declared", "API", IncidentSeverity.CRITICAL)

    def write(h: list[str]) -> Step:
        """The declaring console retitles it and writes the timeline: all hostile."""

        async def step(app: Any, pilot: Any) -> Frame:
            service = app.incident_service
            incident = await service.active()
            title = {"title": marked(LINK + h[0]), "component": h[1]}
            await service.store.update_incident(incident.id, title, actor=h[1], at=FROZEN)
            await service.set_impact(Impact(3, 2.0, marked(h[2])))
            await service.note(marked(h[3]))
            await service.record(EntryKind.ALERT, h[4])
            await service.record(EntryKind.TICKET, h[5] + "\n" + h[6])
            app.query_one(IncidentBanner).update_banner()
            await settle(app, pilot, 1)
            return capture(app)

        return step

    async def sync(app: Any, pilot: Any) -> Frame:
        await app._sync_incident()  # what its 5-second timer does
        await settle(app, pilot)
        return capture(app)

    async def notice(app: Any, pilot: Any) -> Frame:
        await app._sync_incident()
        screen = app.screen
        assert isinstance(screen, IncidentScreen)
        await screen.reload()
        screen.query_one(IncidentBanner).update_banner()
        await settle(app, pilot, 1)
        frame = capture(app)
        await click_mark(app, pilot, frame)
        return frame

    async def resolve(app: Any, pilot: Any) -> None:
        await app.incident_service.resolve(override="hostile-input test", slack=False)
        await settle(app, pilot, 1)

    async def forget(app: Any, pilot: Any) -> None:
        await app._sync_incident()  # so that the next declaration is toasted again
        app.clear_notifications()

    with harnesses((declaring, None), (watching, open_incident)) as (first, second):

        def frames_for(strings: list[str]) -> list[tuple[str, Frame]]:
            # The toast names the title at declaration (a known leak, see below): the
            # second console notices the incident before it is retitled.
            first.run(declare)
            frames = [("second console: declared toast", second.run(sync))]
            frames.append(("declaring console", first.run(write(strings))))
            frames.append(("second console: banner, incident screen", second.run(notice)))
            first.run(resolve)
            second.run(forget)
            return frames

        benign = ["API down", "API", "EU only", "restarted", "HighErrorRate", "Ticket #101", "x"]
        frames = frames_for(benign)
        assert "was declared" in frames[0][1].text  # the toast is in the frame
        base = merged([frame for _, frame in frames])

        @EXAMPLES
        @given(st.lists(hostile, min_size=7, max_size=7))
        def example(strings: list[str]) -> None:
            for where, frame in frames_for(strings):
                assert_clean(frame, base, where)
                assert MARK in frame.text, f"{where}: markup not shown literally"
            for h in (first, second):
                h.run(alive)

        example()


# -- leaks this suite found (fixed): regression tests ----------------------------------


@pytest.mark.parametrize("field", ["sentry level", "statuspage statuses", "declared toast"])
def test_known_unsanitized_fields(tmp_path: Path, field: str) -> None:
    attack = "\x1b]52;c;ZXZpbA==\x07\x1b[2J"
    plain = [f"field {i}" for i in range(8)]
    if field == "declared toast":
        incident = {"reviews_dir": str(tmp_path / "reviews")}
        first, _ = build_ticket_app(tmp_path, "i.db", incident=incident)
        second, _ = build_ticket_app(tmp_path, "i.db", incident=incident)
        severity = IncidentSeverity.CRITICAL

        async def declare(app: Any, pilot: Any) -> None:
            await app.incident_service.declare(attack, "API", severity)

        async def notice(app: Any, pilot: Any) -> tuple[Frame, Frame]:
            before = capture(app)
            await app._sync_incident()
            await settle(app, pilot)
            return before, capture(app)

        with harnesses((first, None), (second, None)) as (one, two):
            one.run(declare)
            before, after = two.run(notice)
    else:
        app, fakes = build_sources_app(tmp_path)
        if field == "sentry level":
            fakes["sentry"].items[0] = sentry_of(plain, level=attack)
        else:
            fakes["statuspage"].items[0] = statuspage_of(plain, [attack] * 4)

        async def step(app: Any, pilot: Any) -> tuple[Frame, Frame]:
            before = capture(app)
            await poll_sources(app, pilot)
            return before, capture(app)

        with harnesses((app, None)) as (h,):
            before, after = h.run(step)
    assert_clean(after, before, field)
