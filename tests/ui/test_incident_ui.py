"""Incident mode in the real app: declare, banner, the update prompt at its cadence,
Slack delivery, overdue bell, monitoring window, resolve, review, restart."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from textual.widgets import Input, TextArea

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.config.loader import loads_config
from opsconsole.core.incidents import EntryKind, IncidentSeverity, IncidentStatus
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.screens.incident import IncidentScreen
from opsconsole.screens.incident_dialogs import DeclareScreen, ResolveScreen, UpdatePromptScreen
from opsconsole.widgets.incident_banner import IncidentBanner
from pilot_wait import until

from fakes import FROZEN, MutableClock, ScriptedRunner


def config_for(tmp_path: Path, webhook: str | None):
    incident: dict[str, object] = {"reviews_dir": str(tmp_path / "reviews")}
    if webhook:
        incident["slack"] = {"webhook": webhook}
    document = {"service": "AI Governance API", "incident": incident}
    return loads_config(yaml.safe_dump(document))


def build(tmp_path: Path, config, clock: MutableClock):
    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "inc.db", clock=clock)

    return make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )


@contextlib.asynccontextmanager
async def two_consoles(
    tmp_path: Path, slack: SlackFake, clock: MutableClock, *, actors=(None, None), wait=True
):
    """Two IncidentServices, each on its own connection to one database, posting to
    ``slack`` (``wait=False``: retries do not sleep); closed on exit."""
    from opsconsole.adapters.slack import SlackWebhook
    from opsconsole.incidents.service import IncidentService

    async def no_wait(_seconds: float) -> None:
        return None

    config = config_for(tmp_path, slack.webhook_url)
    stores = [await SqliteStore.open(tmp_path / "inc.db", clock=clock) for _ in actors]
    extra = {} if wait else {"sleep": no_wait}
    services = [
        IncidentService(
            store,
            config,
            clock=clock,
            slack=SlackWebhook(slack.webhook_url, **extra),
            **({"actor": actor} if actor else {}),
        )
        for store, actor in zip(stores, actors, strict=True)
    ]
    try:
        yield stores, services
    finally:
        for service in services:
            await service.slack.aclose()
        for store in stores:
            await store.close()


def prompt_ready(app) -> bool:
    return isinstance(app.screen, UpdatePromptScreen) and bool(app.screen.query(TextArea))


async def declare(app, pilot, title: str = "API down") -> None:
    await pilot.press("I")
    await until(pilot, lambda: isinstance(app.screen, DeclareScreen) and app.screen.query(Input))
    app.screen.query_one("#declare-title", Input).value = title
    app.screen.query_one("#declare-customers", Input).value = "3"
    await pilot.press("ctrl+s")
    await until(pilot, lambda: app.incident is not None)


async def test_declare_update_cadence_slack_and_resolve(tmp_path: Path, slack: SlackFake) -> None:
    """The guide's §8 loop end to end with an injected clock — nothing sleeps for real."""
    clock = MutableClock()
    app = build(tmp_path, config_for(tmp_path, slack.webhook_url), clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot)
        incident = app.incident
        assert incident.title == "API down" and incident.impact.customers == 3
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        banner = app.screen.query_one(IncidentBanner)
        banner.update_banner()
        assert "INCIDENT #1" in str(banner.render()) and "next update in 15m00s" in str(
            banner.render()
        )

        clock.advance(minutes=13, seconds=30)  # warning: under 2 minutes left
        state, _ = app.incident_service.update_state(app.incident)
        assert state.value == "warning"
        clock.advance(minutes=1, seconds=30)  # due: the prompt opens by itself
        app.incident_tick()
        await until(pilot, lambda: prompt_ready(app))
        text = app.screen.query_one(TextArea).text
        assert text.startswith("INCIDENT:") and "Next Update:" in text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(slack.messages) == 1)
        assert slack.messages[0]["text"].startswith("INCIDENT:")
        await until(pilot, lambda: any(e.kind is EntryKind.UPDATE for e in app.incident.timeline))
        update = next(e for e in app.incident.timeline if e.kind is EntryKind.UPDATE)
        assert update.delivery == "slack: ok"

        clock.advance(minutes=16)  # the next one is overdue: bell + notification
        app.incident_tick()
        await until(pilot, lambda: prompt_ready(app))
        await pilot.press("ctrl+t")  # snooze, recorded
        await until(pilot, lambda: any(e.kind is EntryKind.SNOOZE for e in app.incident.timeline))

        await app.incident_service.set_status(IncidentStatus.MONITORING)
        await until(pilot, lambda: app.incident.status is IncidentStatus.MONITORING)
        with pytest.raises(Exception, match="still monitoring"):
            await app.incident_service.resolve(root_cause="x", fix="y")
        await app.incident_service.snooze(60)  # keep the update prompt out of the way
        clock.advance(minutes=31)
        app.action_incident_resolve()
        await until(
            pilot, lambda: isinstance(app.screen, ResolveScreen) and app.screen.query(TextArea)
        )
        app.screen.query_one("#resolve-cause", Input).value = "Redis connection pool exhausted"
        app.screen.query_one("#resolve-fix", Input).value = "Raised the pool size"
        await pilot.pause()
        assert "Redis connection pool exhausted" in app.screen.query_one(TextArea).text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.incident is None, timeout=5)
        assert any("Redis connection pool exhausted" in m["text"] for m in slack.messages)
        reviews = list((tmp_path / "reviews").glob("incident-1-*.md"))
        assert len(reviews) == 1
        review = reviews[0].read_text()
        for needle in ("Declared", "snoozed", "Status: monitoring", "Redis connection pool"):
            assert needle.lower() in review.lower(), needle
        await until(pilot, lambda: app.review_pending is not None)
        await pilot.press("escape")


async def test_an_update_is_never_lost(tmp_path: Path, slack: SlackFake) -> None:
    """Slack failing (5xx until retries run out, or unreachable): the update is recorded
    and queued, and the outbox delivers it when Slack answers again."""
    clock = MutableClock()
    app = build(tmp_path, config_for(tmp_path, slack.webhook_url), clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot)
        service = app.incident_service

        async def no_wait(_seconds: float) -> None:
            return None

        service.slack._sleep = no_wait  # backoff without real waiting
        slack.inject("500", times=10)
        await service.send_update("INCIDENT: first update")
        incident = await service.active()
        entry = next(e for e in incident.timeline if e.kind is EntryKind.UPDATE)
        assert entry.delivery.startswith("slack: queued")
        assert slack.messages == []
        slack.clear_faults()
        clock.advance(minutes=1)
        assert await service.flush_outbox() == 1
        assert slack.messages[0]["text"] == "INCIDENT: first update"
        incident = await service.active()
        entry = next(e for e in incident.timeline if e.kind is EntryKind.UPDATE)
        assert entry.delivery == "slack: ok (after retry)"
        from opsconsole.adapters.slack import SlackWebhook

        await service.slack.aclose()
        service.slack = SlackWebhook("http://127.0.0.1:9/services/T1/B1/closedport", sleep=no_wait)
        await service.send_update("INCIDENT: second update")  # connection refused
        incident = await service.active()
        assert [e.delivery for e in incident.timeline if e.kind is EntryKind.UPDATE][1].startswith(
            "slack: queued"
        )
        await pilot.pause()


async def test_incident_survives_a_restart(tmp_path: Path) -> None:
    """The timer continues from the stored start; an update that fell due while closed
    is detected at start-up."""
    clock = MutableClock()
    config = config_for(tmp_path, None)
    app = build(tmp_path, config, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot, "Dashboard down")
    clock.advance(minutes=20)
    again = build(tmp_path, config, clock)
    async with again.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: again.incident is not None)
        assert again.incident.title == "Dashboard down"
        assert again.incident.started_at == FROZEN
        state, remaining = again.incident_service.update_state(again.incident)
        assert state.value == "overdue" and remaining == -timedelta(minutes=5)
        again.incident_tick()
        await until(pilot, lambda: prompt_ready(again))
        await pilot.press("ctrl+o")  # copy + record (no Slack configured)
        await until(pilot, lambda: any(e.kind is EntryKind.UPDATE for e in again.incident.timeline))
        assert again.clipboard.startswith("INCIDENT:")


async def test_two_consoles_on_one_database_see_the_same_incident(tmp_path: Path) -> None:
    """Console B learns of an incident declared by console A (or by the CLI) within seconds."""
    clock = MutableClock()
    config = config_for(tmp_path, None)
    app = build(tmp_path, config, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.incident is None
        other = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
        from opsconsole.incidents.service import IncidentService

        await IncidentService(other, config, clock=clock).declare(
            "Declared elsewhere", "API", IncidentSeverity.HIGH
        )
        await other.close()
        await app._sync_incident()
        await until(pilot, lambda: app.incident is not None)
        assert app.incident.title == "Declared elsewhere"


async def test_two_consoles_flushing_one_outbox_post_each_update_once(
    tmp_path: Path, slack: SlackFake
) -> None:
    """Updates queued while Slack was down are retried by every console that shares the
    database; each update still reaches Slack exactly once (a claim per message)."""
    clock = MutableClock()
    async with two_consoles(tmp_path, slack, clock, wait=False) as (stores, services):
        await services[0].declare("API down", "API", IncidentSeverity.HIGH)
        slack.inject("500", times=100)
        for n in range(6):
            await services[n % 2].send_update(f"INCIDENT: update {n}")
        slack.clear_faults()
        clock.advance(minutes=1)
        sent = await asyncio.gather(*(service.flush_outbox() for service in services))
        assert sum(sent) == 6
        texts = [m["text"] for m in slack.messages if "update" in m["text"]]
        assert sorted(texts) == [f"INCIDENT: update {n}" for n in range(6)]  # once each
        assert await stores[0].pending_outbound(clock() + timedelta(days=1)) == []


async def test_two_consoles_declaring_at_once_open_one_incident(tmp_path: Path) -> None:
    """Two consoles declaring at the same moment: the store's check runs inside the
    write transaction, so one incident is opened and the other console is told one is
    already active."""
    from opsconsole.core.incidents import Incident
    from opsconsole.incidents.service import IncidentError, IncidentService

    clock = MutableClock()
    config = config_for(tmp_path, None)
    stores = [await SqliteStore.open(tmp_path / "inc.db", clock=clock) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(
                IncidentService(store, config, clock=clock).declare(
                    f"from console {n}", "API", IncidentSeverity.HIGH
                )
                for n, store in enumerate(stores)
            ),
            return_exceptions=True,
        )
        opened = [r for r in results if isinstance(r, Incident)]
        refused = [r for r in results if isinstance(r, IncidentError)]
        assert len(opened) == 1 and len(refused) == 1, results
        assert str(refused[0]).startswith("incident #1 is already active (from console ")
        assert len(await stores[1].list_incidents()) == 1
    finally:
        for store in stores:
            await store.close()


async def test_two_consoles_resolving_at_once_send_one_all_clear(
    tmp_path: Path, slack: SlackFake
) -> None:
    """Two consoles on one database resolving the same incident at the same moment: the
    resolution is claimed atomically in the store before anything is sent, so exactly one
    sends the all-clear and writes the review, and the other is told in one line who
    resolved it and when, and sends nothing (both used to post the all-clear and write a
    review)."""
    from opsconsole.incidents.service import IncidentAlreadyResolved

    clock = MutableClock()
    actors = ("ana", "bo")
    async with two_consoles(tmp_path, slack, clock, actors=actors) as (stores, services):
        for round_ in range(5):  # a few rounds: either console may win each one
            title = f"API down round {round_}"
            declared = await services[round_ % 2].declare(title, "API", IncidentSeverity.HIGH)
            results = await asyncio.gather(
                *(
                    service.resolve(root_cause="pool", fix="bigger pool", override="verified")
                    for service in services
                ),
                return_exceptions=True,
            )
            won = [(n, r) for n, r in enumerate(results) if isinstance(r, tuple)]
            lost = [r for r in results if isinstance(r, BaseException)]
            assert len(won) == 1 and len(lost) == 1, results
            (winner, (closed, path)), loser = won[0], lost[0]
            assert isinstance(loser, IncidentAlreadyResolved)
            assert str(loser) == (
                f"incident #{declared.id} was already resolved (by {actors[winner]} at "
                f"{FROZEN:%H:%M} UTC): the all-clear was not sent again"
            )
            posted = [m["text"] for m in slack.messages if m["text"].startswith("✅")]
            assert [t for t in posted if title in t] == [posted[-1]]  # exactly one, this one
            assert list((tmp_path / "reviews").glob(f"incident-{declared.id}-*.md")) == [path]
            stored = await stores[1 - winner].get_incident(declared.id)
            assert stored is not None and stored.status is IncidentStatus.RESOLVED
            sent = [e for e in stored.timeline if e.kind is EntryKind.ALL_CLEAR]
            assert [(e.actor, e.delivery) for e in sent] == [(actors[winner], "slack: ok")]
            assert [e.kind for e in stored.timeline].count(EntryKind.REVIEW) == 1
            assert closed.review_path == str(path) and "bigger pool" in path.read_text()
        assert len([m for m in slack.messages if m["text"].startswith("✅")]) == 5


async def test_a_queued_all_clear_is_delivered_once_after_the_incident_is_resolved(
    tmp_path: Path, slack: SlackFake
) -> None:
    """Slack down while resolving: the incident is resolved and the all-clear queued;
    the outbox delivers it later (once, with two consoles flushing) although no
    incident is active any more."""
    clock = MutableClock()
    async with two_consoles(tmp_path, slack, clock, wait=False) as (stores, services):
        await services[0].declare("API down", "API", IncidentSeverity.HIGH)
        slack.inject("500", times=100)
        closed, path = await services[0].resolve(override="verified")
        assert await services[1].active() is None and path.is_file()
        entry = next(e for e in closed.timeline if e.kind is EntryKind.ALL_CLEAR)
        assert entry.delivery is not None and entry.delivery.startswith("slack: queued")
        assert slack.messages == []
        slack.clear_faults()
        clock.advance(minutes=1)
        sent = await asyncio.gather(*(service.flush_outbox() for service in services))
        assert sum(sent) == 1
        assert [m["text"] for m in slack.messages] == [entry.text]
        stored = await stores[1].get_incident(closed.id)
        assert stored is not None
        delivered = next(e for e in stored.timeline if e.kind is EntryKind.ALL_CLEAR)
        assert delivered.delivery == "slack: ok (after retry)"
        assert await services[0].flush_outbox() == 0  # nothing left to send


async def test_a_console_resolving_what_another_resolved_is_told_who_did(
    tmp_path: Path, slack: SlackFake
) -> None:
    """The console still shows an incident that another console (or the CLI) has just
    resolved: its resolve is refused with a one-line warning saying who resolved it and
    when, and no second all-clear or review goes out (it used to send both)."""
    from opsconsole.adapters.slack import SlackWebhook
    from opsconsole.incidents.service import IncidentService

    clock = MutableClock()
    config = config_for(tmp_path, slack.webhook_url)
    app = build(tmp_path, config, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        other = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
        webhook = SlackWebhook(slack.webhook_url)
        try:
            service = IncidentService(other, config, clock=clock, slack=webhook, actor="bo")
            await service.resolve(root_cause="pool", fix="bigger pool", override="verified")
        finally:
            await webhook.aclose()
            await other.close()
        assert len(slack.messages) == 1 and app.incident is not None  # not synced yet
        app.action_incident_resolve()
        await until(
            pilot, lambda: isinstance(app.screen, ResolveScreen) and app.screen.query(TextArea)
        )
        app.screen.query_one("#resolve-cause", Input).value = "Bad deploy"
        app.screen.query_one("#resolve-fix", Input).value = "Rolled back"
        app.screen.query_one("#resolve-override", Input).value = "verified by hand"
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: any("already resolved" in str(n.message) for n in app._notifications)
        )
        note = next(n for n in app._notifications if "already resolved" in str(n.message))
        assert note.severity == "warning"
        assert str(note.message) == (
            f"incident #1 was already resolved (by bo at {FROZEN:%H:%M} UTC): "
            "the all-clear was not sent again"
        )
        assert not any("Not resolved" in str(n.message) for n in app._notifications)
        await until(pilot, lambda: app.incident is None)
        assert len(slack.messages) == 1 and "Bad deploy" not in slack.messages[0]["text"]
        assert len(list((tmp_path / "reviews").glob("*.md"))) == 1
        closed = (await app.store.list_incidents(limit=1))[0]
        assert [e.kind for e in closed.timeline].count(EntryKind.ALL_CLEAR) == 1
        assert closed.root_cause == "pool"  # the loser changed nothing


async def test_resolved_even_when_the_review_cannot_be_written(
    tmp_path: Path, slack: SlackFake
) -> None:
    """reviews_dir unusable (here a file stands where the directory should be): the
    incident is still resolved and the all-clear sent, and the console says exactly that
    (it used to say "Not resolved" while the all-clear had gone out)."""
    blocker = tmp_path / "reviews"
    blocker.write_text("not a directory")
    clock = MutableClock()
    app = build(tmp_path, config_for(tmp_path, slack.webhook_url), clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        app.action_incident_resolve()
        await until(
            pilot, lambda: isinstance(app.screen, ResolveScreen) and app.screen.query(TextArea)
        )
        app.screen.query_one("#resolve-cause", Input).value = "Bad deploy"
        app.screen.query_one("#resolve-fix", Input).value = "Rolled back"
        app.screen.query_one("#resolve-override", Input).value = "verified by hand"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.incident is None, timeout=5)
        await until(
            pilot, lambda: any("resolved, but" in str(n.message) for n in app._notifications)
        )
        note = next(n for n in app._notifications if "resolved, but" in str(n.message))
        assert note.severity == "warning" and "review could not be written" in str(note.message)
        assert not any("Not resolved" in str(n.message) for n in app._notifications)
        assert any("Bad deploy" in m["text"] for m in slack.messages)  # the all-clear went out
        closed = (await app.store.list_incidents(limit=1))[0]
        assert closed.resolved_at is not None
        assert any(e.kind is EntryKind.ALL_CLEAR for e in closed.timeline)


async def test_placeholders_hold_the_first_ctrl_s(tmp_path: Path, slack: SlackFake) -> None:
    """A later update carries Step 5's `[Next steps]` lines and an all-clear without a root
    cause says `[Why it happened]`: the first ctrl+s names them and sends nothing, a
    second one sends as is, and a filled-in text goes at once."""
    clock = MutableClock()
    app = build(tmp_path, config_for(tmp_path, slack.webhook_url), clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await app.incident_service.send_update("INCIDENT: first", slack=False)
        clock.advance(minutes=15)
        app.incident_tick()
        await until(pilot, lambda: prompt_ready(app))
        editor = app.screen.query_one(TextArea)
        assert "Next Steps: [Next steps]" in editor.text
        app._notifications.clear()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, UpdatePromptScreen) and slack.messages == []
        warning = str(next(iter(app._notifications)).message)
        assert warning.startswith("Still to fill in: [Next steps], [Expected resolution time]")
        editor.text = (
            editor.text.replace("[Next steps]", "roll back")
            .replace("[Expected resolution time]", "03:30 UTC")
            .replace("[Any customer action needed]", "none")
        )
        await pilot.press("ctrl+s")  # edited and complete: sent at once
        await until(pilot, lambda: len(slack.messages) == 1)
        assert "Next Steps: roll back" in slack.messages[0]["text"]

        app.action_incident_resolve()
        await until(
            pilot, lambda: isinstance(app.screen, ResolveScreen) and app.screen.query(TextArea)
        )
        app.screen.query_one("#resolve-override", Input).value = "verified by hand"
        app._notifications.clear()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ResolveScreen) and app.incident is not None
        warning = str(next(iter(app._notifications)).message)
        assert "[Why it happened]" in warning and "[What we did]" in warning
        await pilot.press("ctrl+s")  # as is: the operator chose to
        await until(pilot, lambda: app.incident is None, timeout=5)
        assert "[Why it happened]" in slack.messages[-1]["text"]


async def test_severity_and_impact_change_from_the_incident_screen(tmp_path: Path) -> None:
    """`v` picks a new severity, `a` records a new impact estimate; both go on the
    timeline and the next update's subject and Impact line carry them."""
    from opsconsole.screens.incident_dialogs import ImpactScreen
    from opsconsole.screens.ticket_dialogs import PickScreen

    clock = MutableClock()
    app = build(tmp_path, config_for(tmp_path, None), clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await declare(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("down", "enter")  # critical (now) -> high
        await until(pilot, lambda: app.incident.severity is IncidentSeverity.HIGH)
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ImpactScreen))
        customers = app.screen.query_one("#impact-customers", Input)
        assert customers.value == "3"  # pre-filled with the current estimate
        customers.value = "many"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ImpactScreen)  # refused with a warning, not saved
        customers.value = "40"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.incident.impact.customers == 40)
        texts = [e.text for e in app.incident.timeline]
        assert "Severity: high (was critical)" in texts
        assert any(t.startswith("Impact: 40 customers") for t in texts)
        draft = app.incident_service.draft_update(app.incident)
        assert draft.startswith("INCIDENT: API down - Severity High")
        assert "- Impact: 40 customers" in draft
