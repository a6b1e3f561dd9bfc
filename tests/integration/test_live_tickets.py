"""The ticket queue's "Done when", in the real app: a ticket arrives, is answered, its clock stops.

The app is built by ``make_app`` with a real history database (SqliteStore), the real probe
runner and ``poll=True``; the config sets only ``email.maildir`` (a temp Maildir) and
``email.poll_interval: 1s``. Nothing else is configured: no SMTP, so replies go to the
default outbox under ``$XDG_DATA_HOME`` (pointed at tmp_path). Mail is delivered the
Maildir way (written to ``tmp/``, renamed into ``new/``) while the app runs, and every wait
is a deadline poll, never a fixed sleep.
"""

from __future__ import annotations

import mailbox
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from opsconsole.adapters.http_probe import ProbeRunner
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import OpsConsoleApp, make_app
from opsconsole.config.loader import loads_config
from opsconsole.polling import build_sources
from opsconsole.screens.ticket_detail import TicketScreen
from opsconsole.screens.ticket_dialogs import EditorScreen
from opsconsole.screens.tickets import TicketsScreen
from opsconsole.widgets.ticket_queue_pane import TicketQueuePane

from hostile_mail import ew_b, message
from ticket_fixtures import raw_mail

SIZE = (160, 48)
ARRIVAL_SECONDS = 10.0  # poll_interval is 1 s: a ticket shows within a poll or two (~1 s);
# the slack is for loaded CI machines (ticket writes fsync: synchronous=FULL)
UI_SECONDS = 8.0  # a key's effect that goes through the database (usually well under 1 s)
FORBIDDEN = ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u202d", "\u2066")
"""ESC, BEL, NUL, C1 CSI and bidi overrides/isolates: none may reach the terminal."""

CRITICAL_MAIL = raw_mail(
    "CRITICAL: API returning 500 errors",
    "What happened:\nEvery POST /v1/check returns 500 since 02:10 UTC.\n",
    sender="Ops Team <ops@acme.io>",
    message_id="<crit-1@acme.io>",
)
GUIDE_SUBJECT = "Dashboard not loading for our team"
GUIDE_MAIL = raw_mail(
    GUIDE_SUBJECT,
    "What happened:\nThe dashboard shows a blank page after login since this morning.\n\n"
    "Expected behavior:\nThe usage overview loads.\n\n"
    "Steps to reproduce:\n1. Log in\n2. Open Dashboard\n\n"
    "Environment:\n- Browser: Firefox 128\n- API key: prod-key-07\n",
    sender="Dana Whitfield <dana@globex.com>",
    message_id="<dash-1@globex.com>",
)


@pytest.fixture
def maildir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Maildir; the default outbox lives under tmp_path too."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    box = tmp_path / "inbox"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    return box


def _outbox(tmp_path: Path) -> Path:
    return tmp_path / "data" / "opsconsole" / "outbox"


def _app(tmp_path: Path, maildir: Path) -> OpsConsoleApp:
    config = loads_config(
        yaml.safe_dump(
            {
                "service": "AI Governance API",
                "timezone": "UTC",
                "email": {"maildir": str(maildir), "poll_interval": "1s"},
            }
        )
    )
    assert config.email is not None and config.email.smtp is None
    assert config.email.outbox == _outbox(tmp_path)

    async def open_store() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "history.db")

    return make_app(
        config,
        store_factory=open_store,
        runner_factory=lambda: ProbeRunner(max_concurrency=config.max_concurrency),
        sources_factory=lambda: build_sources(config),
        poll=True,
    )


def _deliver(maildir: Path, raw: bytes, name: str) -> None:
    """Deliver like an MTA: write into tmp/, then rename into new/ (atomic)."""
    staging = maildir / "tmp" / name
    staging.write_bytes(raw)
    os.replace(staging, maildir / "new" / name)


async def _until(
    pilot: Pilot[None], predicate: Callable[[], bool], what: str, seconds: float
) -> float:
    """Let the app run until ``predicate`` holds; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        elapsed = time.monotonic() - start
        assert elapsed < seconds, f"timed out after {seconds}s waiting for {what}"
        await pilot.pause(0.05)
    return time.monotonic() - start


async def _tickets_screen(pilot: Pilot[None]) -> TicketsScreen:
    """The Tickets screen once its first page has loaded (the load goes through the DB)."""
    app = pilot.app
    await _until(
        pilot,
        lambda: isinstance(app.screen, TicketsScreen) and bool(app.screen.rows),
        "the Tickets screen's first page",
        UI_SECONDS,
    )
    assert isinstance(app.screen, TicketsScreen)
    return app.screen


def _pane_rows(app: OpsConsoleApp) -> list[list[str]]:
    table = app.query_one(TicketQueuePane).query_one(DataTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def _pane_shows(app: OpsConsoleApp, number: int, subject: str) -> bool:
    return any(row[0] == f"#{number}" and subject in row[3] for row in _pane_rows(app))


def _sla_cell(screen: TicketsScreen, number: int) -> str:
    table = screen.query_one("#tickets-table", DataTable)
    return str(table.get_cell(str(number), "sla").plain)


def _static(screen: object, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


def _rendered(app: OpsConsoleApp) -> str:
    """Every character the compositor would write for the current screen, plus the SVG
    export (what a screenshot of the terminal holds)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips) + app.export_screenshot()


def _sent(tmp_path: Path) -> list[mailbox.MaildirMessage]:
    outbox = _outbox(tmp_path)
    if not (outbox / "new").is_dir():
        return []
    return list(mailbox.Maildir(str(outbox), create=False))


async def test_a_mailed_ticket_arrives_is_answered_and_its_response_clock_stops(
    tmp_path: Path, maildir: Path
) -> None:
    """The issue's "Done when": a guide-style email dropped into the polled Maildir shows in
    the dashboard's ticket pane within seconds with no key pressed; on the Tickets screen,
    r + ctrl+s sends the template reply to the outbox Maildir, the SLA cell switches from the
    response countdown to the resolution clock, and the ticket screen says the response was
    met."""
    app = _app(tmp_path, maildir)
    async with app.run_test(size=SIZE) as pilot:
        _deliver(maildir, CRITICAL_MAIL, "1700000000.M1P1.test")
        await _until(pilot, lambda: _pane_shows(app, 101, "CRITICAL: API"), "#101", ARRIVAL_SECONDS)

        _deliver(maildir, GUIDE_MAIL, "1700000001.M2P1.test")
        await _until(
            pilot, lambda: _pane_shows(app, 102, GUIDE_SUBJECT), "#102 in the pane", ARRIVAL_SECONDS
        )
        assert not list((maildir / "new").iterdir()), "both files moved to cur/"
        assert len(list((maildir / "cur").iterdir())) == 2
        [row] = [r for r in _pane_rows(app) if r[0] == "#102"]
        assert row[2].startswith("resp ") and row[2].endswith(" left"), row

        await pilot.press("t")
        screen = await _tickets_screen(pilot)
        assert [t.number for t in screen.rows] == [101, 102]  # critical first: sooner breach
        for _ in screen.rows:
            if screen.current_number() == 102:
                break
            await pilot.press("down")
        assert screen.current_number() == 102
        assert re.fullmatch(r"resp \d\S* left", _sla_cell(screen, 102)), _sla_cell(screen, 102)

        await pilot.press("r")  # reads the ticket from the store, then opens the editor
        await _until(
            pilot, lambda: isinstance(app.screen, EditorScreen), "the reply editor", UI_SECONDS
        )
        await pilot.press("ctrl+s")
        await _until(
            pilot, lambda: len(_sent(tmp_path)) == 1, "the reply in the outbox", UI_SECONDS
        )
        await _until(
            pilot,
            lambda: app.screen is screen and _sla_cell(screen, 102).startswith("res "),
            "the SLA cell to show the resolution clock",
            UI_SECONDS,
        )
        assert re.fullmatch(r"res \d\S* left", _sla_cell(screen, 102)), _sla_cell(screen, 102)
        assert _sla_cell(screen, 101).startswith("resp "), "the other ticket is untouched"

        [reply] = _sent(tmp_path)
        assert reply["To"].endswith("<dana@globex.com>")
        assert reply["In-Reply-To"] == "<dash-1@globex.com>"
        assert "#102" in reply["Subject"]
        assert reply["Auto-Submitted"] is None

        await pilot.press("enter")
        await _until(
            pilot,
            lambda: isinstance(app.screen, TicketScreen) and app.screen.ticket is not None,
            "the ticket screen",
            UI_SECONDS,
        )
        assert isinstance(app.screen, TicketScreen) and app.screen.number == 102
        sla_text = _static(app.screen, "#ticket-sla")
        assert "Response   met" in sla_text, sla_text
        assert re.search(r"Resolution \d\S* left", sla_text), sla_text

        await pilot.press("escape", "escape")
        await _until(
            pilot,
            lambda: any(r[0] == "#102" and r[2].startswith("res ") for r in _pane_rows(app)),
            "the dashboard pane to show the resolution clock",
            UI_SECONDS + 5,  # the pane reloads on the change, and every 5 s anyway
        )


def _hostile_mail() -> bytes:
    """NUL bytes, terminal escapes and a bidi override in an encoded-word subject, BEL and
    ESC in the sender's name, and a 200 KB HTML-only body full of escapes and markup."""
    subject = ew_b("\x1b]52;c;aGk=\x07\x1b[2J\x1b[31mURGENT\u202egnp.exe\x1b[0m")
    row = b"<tr><td>\x1b[5mblink\x1b[0m</td><td>[b]markup[/b] \x00 &#27;[31m</td></tr>\n"
    html = b"<html><body><h1>Help</h1><table>\n"
    html += row * (200_000 // len(row)) + b"</table>\x00\x00</body></html>\n"
    assert len(html) > 200_000
    return message(
        subject=subject + b" [@click=app.quit] \x00 tail",
        sender=ew_b("Mallory\x07\x1b[8m") + b" <mallory@evil.example>",
        content_type=b"text/html; charset=utf-8",
        body=html,
        message_id=b"<hostile-1@evil.example>",
    )


def _clean(text: str) -> list[str]:
    return [repr(ch) for ch in FORBIDDEN if ch in text]


async def test_a_hostile_mail_in_the_maildir_cannot_crash_the_app_or_reach_the_terminal(
    tmp_path: Path, maildir: Path
) -> None:
    """A hostile file dropped into the polled Maildir (NUL bytes, ESC/OSC sequences and a
    bidi override in an encoded-word subject, 200 KB of HTML) becomes a ticket with visible
    defect notes; the app keeps running and polling, and no ESC, BEL, NUL, C1 or bidi
    control reaches the rendered dashboard, Tickets screen or ticket screen (markup is shown
    as text)."""
    app = _app(tmp_path, maildir)
    async with app.run_test(size=SIZE) as pilot:
        _deliver(maildir, _hostile_mail(), "1700000000.M1P1.hostile")
        await _until(
            pilot,
            lambda: not list((maildir / "new").iterdir()),
            "the hostile file to be processed",
            ARRIVAL_SECONDS,
        )
        assert app.is_running
        # Intake is not stalled: the next, normal email still arrives.
        _deliver(maildir, GUIDE_MAIL, "1700000001.M2P1.test")
        await _until(
            pilot,
            lambda: any(GUIDE_SUBJECT in row[3] for row in _pane_rows(app)),
            "the next email after the hostile one",
            ARRIVAL_SECONDS,
        )
        service = app.ticket_service
        assert service is not None
        hostile = await service.store.get_ticket(101)
        assert hostile is not None, "readable enough to be a ticket with defect notes"
        assert "URGENT" in hostile.subject and "[@click=app.quit]" in hostile.subject
        assert not _clean(hostile.subject), hostile.subject
        assert len(hostile.thread[0].body) > 1000, "the HTML was rendered to text"
        assert _pane_shows(app, 101, "URGENT")
        assert not _clean(_rendered(app)), "dashboard"

        await pilot.press("t")
        screen = await _tickets_screen(pilot)
        assert 101 in [t.number for t in screen.rows]
        assert not _clean(_rendered(app)), "Tickets screen"
        for _ in screen.rows:
            if screen.current_number() == 101:
                break
            await pilot.press("down")
        await pilot.press("enter")
        await _until(
            pilot,
            lambda: isinstance(app.screen, TicketScreen) and app.screen.ticket is not None,
            "the hostile ticket's screen",
            UI_SECONDS,
        )
        detail = app.screen
        assert isinstance(detail, TicketScreen) and detail.number == 101
        header = _static(detail, "#ticket-header")
        thread = _static(detail, "#ticket-thread")
        assert "URGENT" in header and "[@click=app.quit]" in header  # markup shown as text
        assert "blink" in thread
        assert "NUL bytes removed" in header and "HTML-only body" in header  # visible defects
        for where, text in (("header", header), ("thread", thread), ("screen", _rendered(app))):
            assert not _clean(text), where
        await pilot.press("escape", "escape")
        assert app.is_running
