"""Bug hunt on the shift features in the real app: only live data speaks for a source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from textual.widgets import TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.config.loader import loads_config
from opsconsole.core.checklists import ItemStatus
from opsconsole.core.sources import SourceError
from opsconsole.screens.checklist import ChecklistScreen
from opsconsole.screens.ticket_dialogs import EditorScreen
from opsconsole.tickets.intake import MailboxPoller
from pilot_wait import until

from fakes import SOURCES_YAML, FakeSource, MutableClock, ScriptedRunner, alerts_snapshot, all_fakes

SKIM_EMAIL = "Skim support email (new critical issues?)"


def build(
    tmp_path: Path, clock: MutableClock, fakes: dict[str, FakeSource], **extra: object
) -> Any:
    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "shift.db", clock=clock)

    document = {
        "service": "AI Governance API",
        "timezone": "UTC",
        "probes": [{"name": "API health", "url": "http://127.0.0.1:9/0", "interval": "1h"}],
        **SOURCES_YAML,
        **extra,
    }
    return make_app(
        loads_config(yaml.safe_dump(document)),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=lambda: fakes,
        clock=clock,
        poll=False,
    )


async def polled(app: Any, pilot: Any) -> None:
    await pilot.press("r")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def handover_text(app: Any, pilot: Any) -> str:
    await pilot.press("h")
    await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.query(TextArea))
    return str(app.screen.query_one(TextArea).text)


async def test_handover_does_not_hand_over_alerts_from_a_failed_poll(tmp_path: Path) -> None:
    """The alerts pane keeps its last good data when Alertmanager stops answering; the
    handover must say the alerts were not checked, not list the old ones as firing now."""
    clock = MutableClock()
    fakes = all_fakes()
    fakes["alerts"] = FakeSource(alerts_snapshot(), SourceError("cannot reach Alertmanager"))
    app = build(tmp_path, clock, fakes)
    async with app.run_test(size=(160, 48)) as pilot:
        await polled(app, pilot)  # the good poll
        await polled(app, pilot)  # the failed one
        assert app.hub.pollers["alerts"].status.data is not None  # the pane still shows it
        text = await handover_text(app, pilot)
        alerts = text.split("*Alerts firing*", 1)[1].split("\n\n", 1)[0]
        assert "HighErrorRate" not in alerts
        assert "not checked: cannot reach Alertmanager" in alerts


async def test_handover_does_not_hand_over_stale_alerts(tmp_path: Path) -> None:
    clock = MutableClock()
    app = build(tmp_path, clock, all_fakes())
    async with app.run_test(size=(160, 48)) as pilot:
        await polled(app, pilot)
        clock.advance(hours=2)  # no poll since: the alert list is two hours old
        text = await handover_text(app, pilot)
        alerts = text.split("*Alerts firing*", 1)[1].split("\n\n", 1)[0]
        assert "HighErrorRate" not in alerts and "not checked: no fresh data" in alerts


async def test_failing_mail_intake_leaves_the_support_email_item_unknown(tmp_path: Path) -> None:
    """ "Skim support email" cannot pass on "no critical tickets waiting" while the mail
    is not coming in: the mailbox cannot be read."""
    clock = MutableClock()
    broken = tmp_path / "maildir"
    broken.write_text("a file where the Maildir should be")
    app = build(tmp_path, clock, all_fakes(), email={"maildir": str(broken)})
    async with app.run_test(size=(160, 48)) as pilot:
        await polled(app, pilot)
        await until(pilot, lambda: getattr(app, "ticket_service", None) is not None)
        intake = MailboxPoller(app.ticket_service, app.config)
        await intake.poll_once()
        assert intake.error  # a real failure of the real intake
        app.mail_poller = intake
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen) and app.screen.results)
        item = next(r for r in app.screen.results.values() if r.text == SKIM_EMAIL)
        assert item.status is ItemStatus.UNKNOWN
        assert "mail intake failed" in item.evidence
