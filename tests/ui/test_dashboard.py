"""Pilot tests: every binding, the first frame from history, sorting and literal text."""

from __future__ import annotations

import weakref
from pathlib import Path

import pytest
from rich.text import Text

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.app import make_app
from opsconsole.core.clock import frozen_clock
from opsconsole.core.models import ProbeState
from opsconsole.gc_tuning import GC_OLD_THRESHOLD, GC_YOUNG_THRESHOLD, KEY_GC_HOLD
from opsconsole.screens.help import HelpScreen
from opsconsole.widgets.health_pane import HealthPane
from opsconsole.widgets.status_header import StatusHeader
from pilot_wait import until

from fakes import (
    FROZEN,
    FakeSource,
    ScriptedRunner,
    config_with,
    failed,
    ok,
    slow,
    sources_config,
    statuspage_snapshot,
)

NAMES = ["API health", "Dashboard", "Slow endpoint"]


def build(tmp_path: Path, runner: ScriptedRunner, *, poll: bool = False, names=NAMES):
    config = config_with(names)

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "t.db", clock=frozen_clock(FROZEN))

    app = make_app(
        config,
        store_factory=store_factory,
        runner_factory=lambda: runner,
        clock=frozen_clock(FROZEN),
        poll=poll,
    )
    return app


class _Node:
    def __init__(self) -> None:
        self.me = self


def unreachable_cycle() -> weakref.ref[_Node]:
    """A reference cycle nothing else points to (only a cyclic collection frees it),
    returned as a weak reference that says whether it is still alive."""
    cycle = _Node()
    alive = weakref.ref(cycle)
    del cycle
    return alive


def column(pane: HealthPane, key: str) -> list[str]:
    return [pane.get_cell(row.key, key).plain for row in pane.ordered_rows]


async def test_first_frame_shows_last_known_state_from_store(tmp_path: Path) -> None:
    """No pane is blank while the first poll runs: history is drawn before polling."""
    store = await SqliteStore.open(tmp_path / "t.db")
    from dataclasses import replace

    await store.record_probe_result(replace(failed("API health"), state=ProbeState.DOWN))
    await store.record_probe_result(replace(ok("Dashboard"), state=ProbeState.UP))
    await store.close()
    runner = ScriptedRunner()
    app = build(tmp_path, runner, poll=False)
    async with app.run_test(size=(120, 30)):
        pane = app.query_one(HealthPane)
        assert column(pane, "probe") == ["API health", "Slow endpoint", "Dashboard"]
        assert column(pane, "state") == ["● DOWN", "○ UNKNOWN", "● UP"]
        assert column(pane, "detail")[0] == "[STATUS] (503) == 200"
        assert runner.calls == {}  # nothing polled: it all came from the store
        assert app.query_one(StatusHeader).overall is ProbeState.DOWN


async def test_r_reruns_probes_and_down_sorts_first(tmp_path: Path) -> None:
    runner = ScriptedRunner(
        {"Dashboard": [failed("Dashboard", 502)], "Slow endpoint": [slow("Slow endpoint")]}
    )
    app = build(tmp_path, runner, poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(3):  # three failures in a row: down (Gatus default threshold)
            await pilot.press("r")
            await app.workers.wait_for_complete()
        app.query_one(HealthPane).flush()
        await pilot.pause()
        assert runner.calls == {"API health": 3, "Dashboard": 3, "Slow endpoint": 3}
        pane = app.query_one(HealthPane)
        assert column(pane, "probe") == ["Dashboard", "Slow endpoint", "API health"]
        assert column(pane, "state") == ["● DOWN", "◐ DEGRADED", "● UP"]
        assert column(pane, "detail")[:2] == [
            "[STATUS] (502) == 200",
            "[RESPONSE_TIME] (1532) < 1000",
        ]
        assert "1 down" in str(pane.border_subtitle)


async def test_p_pauses_and_resumes_polling(tmp_path: Path) -> None:
    runner = ScriptedRunner()
    app = build(tmp_path, runner, poll=True)
    async with app.run_test(size=(120, 30)) as pilot:
        assert app.engine is not None
        await pilot.press("p")
        assert app.engine.paused
        assert app.query_one(StatusHeader).paused
        await pilot.press("p")
        assert not app.engine.paused
        assert not app.query_one(StatusHeader).paused


async def test_sources_are_built_after_the_first_frame(tmp_path: Path) -> None:
    """``opsconsole run`` builds the source adapters (which import httpx, requests and
    urllib3) once the dashboard has been laid out, not before its first frame; they then
    poll, and p pauses them with the probes."""
    built: list[bool] = []
    source = FakeSource(statuspage_snapshot())

    def sources_factory() -> dict[str, FakeSource]:
        # The health table already has its place on screen: the first layout is done.
        built.append(app.query_one(HealthPane).region.height > 0)
        return {"statuspage": source}

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "s.db", clock=frozen_clock(FROZEN))

    app = make_app(
        sources_config(statuspage=True),
        store_factory=store_factory,
        runner_factory=ScriptedRunner,
        sources_factory=sources_factory,
        clock=frozen_clock(FROZEN),
        poll=True,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: source.polls)
        assert built == [True]
        assert source.polls >= 1
        await pilot.press("p")
        assert app.hub is not None
        assert all(poller.paused for poller in app.hub.pollers.values())


async def test_no_probes_says_how_to_add_them(tmp_path: Path) -> None:
    """An empty Health pane says why it is empty instead of showing a blank table."""
    app = build(tmp_path, ScriptedRunner(), names=[])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(HealthPane)
        assert pane.row_count == 0
        assert pane.border_subtitle == "no probes configured · add a probes: list to checks.yaml"


async def test_question_mark_opens_help_and_escape_closes(tmp_path: Path) -> None:
    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_j_and_k_move_the_cursor(tmp_path: Path) -> None:
    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(HealthPane)
        pane.focus()
        await pilot.press("j", "j")
        assert pane.cursor_row == 2
        await pilot.press("k")
        assert pane.cursor_row == 1


async def test_q_quits_and_releases_resources(tmp_path: Path) -> None:
    runner = ScriptedRunner()
    app = build(tmp_path, runner, poll=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert runner.closed


async def test_command_palette_has_every_action(tmp_path: Path) -> None:
    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Pause / resume polling", "Re-run probes now", "Show key bindings"} <= titles


async def test_untrusted_text_is_shown_literally(tmp_path: Path) -> None:
    """Markup in a probe name or error stays text and no escape reaches the screen."""
    name = "[@click=app.quit]evil[/] \x1b]52;c;aGk=\x07"
    bad = failed(name)
    from dataclasses import replace

    bad = replace(bad, outcome=bad.outcome.ERROR, error="[red]boom[/red] \x1b[2J", conditions=())
    app = build(tmp_path, ScriptedRunner({name: [bad]}), names=[name])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        pane = app.query_one(HealthPane)
        pane.flush()
        await pilot.pause()
        cell = pane.get_cell(name, "probe")
        assert isinstance(cell, Text)
        assert cell.plain.startswith("[@click=app.quit]evil[/] ^[]52;")
        assert pane.get_cell(name, "detail").plain == "[red]boom[/red] ^[[2J"
        assert app.is_running


async def test_a_crash_prints_one_redacted_line_not_locals(tmp_path: Path) -> None:
    """Textual's default crash screen prints local variables; ours prints one redacted line."""
    from fakes import sources_config

    config = sources_config(sentry=True)  # its token is "t0ken-not-real"
    app = make_app(config, store_factory=None, runner_factory=ScriptedRunner, poll=False)

    def boom() -> None:
        webhook = "https://hooks.slack.com/services/T000/B000/CANARYSECRET"
        raise RuntimeError(f"could not post to {webhook} with t0ken-not-real")

    printed: list[object] = []
    app._print_error_renderables = lambda: printed.extend(app._exit_renderables)
    with pytest.raises(RuntimeError):  # run_test re-raises the app's crash
        async with app.run_test(size=(120, 30)) as pilot:
            app.call_later(boom)
            await pilot.pause()
    assert app.return_code == 1
    rendered = " ".join(str(r) for r in printed)
    assert rendered.startswith("opsconsole crashed: RuntimeError: could not post to")
    assert "CANARYSECRET" not in rendered and "t0ken-not-real" not in rendered


async def test_a_crash_line_carries_no_control_sequence(tmp_path: Path) -> None:
    """An exception whose text came from a server (an OSC 52 clipboard write, a screen
    clear, a second line) is printed as one visible line."""
    app = build(tmp_path, ScriptedRunner())

    def boom() -> None:
        raise RuntimeError("bad answer \x1b]52;c;ZXZpbA==\x07 then \x1b[2J\nsecond line")

    printed: list[object] = []
    app._print_error_renderables = lambda: printed.extend(app._exit_renderables)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(120, 30)) as pilot:
            app.call_later(boom)
            await pilot.pause()
    rendered = str(printed[0])
    first_line = rendered.split("\n")[0]
    assert first_line.startswith("opsconsole crashed: RuntimeError: bad answer")
    assert "\x1b" not in rendered and "\x07" not in rendered
    assert "second line" in first_line  # the server's text stays on one line


async def test_a_slow_history_database_is_wired_in_when_it_opens(tmp_path: Path) -> None:
    """The first frame does not wait more than the budget; tickets arrive when the DB does."""
    import asyncio

    from opsconsole.app import FIRST_FRAME_BUDGET

    async def slow_store() -> SqliteStore:
        await asyncio.sleep(FIRST_FRAME_BUDGET + 0.5)
        return await SqliteStore.open(tmp_path / "slow.db")

    app = make_app(
        config_with(NAMES),
        store_factory=slow_store,
        runner_factory=ScriptedRunner,
        clock=frozen_clock(FROZEN),
        poll=False,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        assert app.store is None
        assert app.query_one(StatusHeader).note == "opening the history database…"
        for _ in range(100):
            if app.ticket_service is not None:
                break
            await asyncio.sleep(0.05)
            await pilot.pause()
        assert app.store is not None and app.ticket_service is not None
        assert app.query_one(StatusHeader).note == ""


async def test_startup_heap_is_frozen_after_the_first_frame_and_released_at_exit(
    tmp_path: Path,
) -> None:
    """GC tuning for a long-running UI is in place while the app runs, undone after."""
    import gc

    before = gc.get_threshold()
    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() > 10_000  # modules, config and widgets
        young, _middle, old = gc.get_threshold()
        assert (young, old) == (GC_YOUNG_THRESHOLD, GC_OLD_THRESHOLD)
        assert old >= 1_000_000  # CPython's own full collections are off; the app runs them
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


async def test_start_up_garbage_is_collected_and_the_collector_restarted_after_the_first_frame(
    tmp_path: Path,
) -> None:
    """``opsconsole`` starts with the collector paused; the first frame switches it back on,
    after freeing what start-up left as cyclic garbage (it must not be frozen forever)."""
    import gc

    app = build(tmp_path, ScriptedRunner())
    gc.disable()  # as opsconsole.__main__.main does
    try:
        alive = unreachable_cycle()
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            assert gc.isenabled()
            assert alive() is None  # collected before the freeze, not frozen
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.enable()


def test_the_command_line_pauses_the_collector_only_for_the_console(tmp_path: Path) -> None:
    """The ``opsconsole`` entry point pauses the collector; commands other than the console
    (which restarts it after its first frame) switch it back on at once."""
    import gc
    import os
    from unittest import mock

    from opsconsole import __main__ as entry

    seen: list[bool] = []

    plugins: list[str | None] = []

    def fake_cli_main() -> int:
        seen.append(gc.isenabled())
        plugins.append(os.environ.get("PYDANTIC_DISABLE_PLUGINS"))
        return 0

    try:
        with (
            mock.patch("opsconsole.cli.main", fake_cli_main),
            mock.patch.dict(os.environ, clear=False) as environ,
        ):
            environ.pop("PYDANTIC_DISABLE_PLUGINS", None)
            assert entry.main() == 0
            environ["PYDANTIC_DISABLE_PLUGINS"] = "logfire"  # a user's own setting is kept
            assert entry.main() == 0
        assert seen == [False, False]
        assert plugins == ["__all__", "logfire"]
        gc.disable()
        config = tmp_path / "checks.yaml"
        config.write_text("probes: []\n")
        from opsconsole.cli import main

        assert main(["config", "validate", "--config", str(config)]) == 0
        assert gc.isenabled()
    finally:
        gc.enable()


async def test_the_periodic_full_collection_frees_reference_cycles(tmp_path: Path) -> None:
    """Closed screens are cycles of widgets: the app's own full collection frees them."""
    import gc

    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        gc.disable()  # only the app's collection may free it
        try:
            alive = unreachable_cycle()
            assert alive() is not None
            app.collect_garbage()
            assert alive() is None
        finally:
            gc.enable()
        # ...and a timer calls it every GC_FULL_EVERY seconds.
        assert any(t._callback == app.collect_garbage for t in app._timers)


async def test_no_automatic_collection_between_a_keypress_and_its_repaint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector is paused while a key is handled and drawn, then runs again."""
    import gc

    from textual.widgets import DataTable

    during: list[bool] = []
    original = DataTable.action_cursor_down

    def recording(self: DataTable) -> None:
        during.append(gc.isenabled())
        original(self)

    monkeypatch.setattr(DataTable, "action_cursor_down", recording)
    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert gc.isenabled()
        app.query_one(HealthPane).focus()
        await pilot.press("j")
        assert during == [False]  # paused while the key was handled
        await pilot.pause(KEY_GC_HOLD + 0.05)
        assert gc.isenabled()  # ...and back on once it was drawn
        # A collector someone else switched off stays off: the key does not restart it.
        gc.disable()
        try:
            await pilot.press("j")
            await pilot.pause(KEY_GC_HOLD + 0.05)
            assert during == [False, False] and not gc.isenabled()
        finally:
            gc.enable()


async def test_a_full_collection_due_while_typing_runs_right_after_a_key(tmp_path: Path) -> None:
    """The 30 s full collection waits while keys come in, and runs when a key's pause ends."""
    import gc

    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.query_one(HealthPane).focus()
        await pilot.press("j")
        # Collections stay off for this check, except the app's own full one.
        gc.disable()
        app._gc_held = False
        try:
            alive = unreachable_cycle()
            app.collect_garbage()  # the timer fires while the operator is typing
            assert alive() is not None and app._full_due
            app._gc_held = True  # as a key does
            app._release_gc()  # the key's pause ends: the due collection runs now
            assert alive() is None and not app._full_due
        finally:
            gc.enable()


async def test_help_scrolls_in_a_small_terminal(tmp_path: Path) -> None:
    """At 80x24 the key list is taller than the screen: it scrolls, and End reaches its end."""
    app = build(tmp_path, ScriptedRunner())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help-box")
        assert box.region.bottom <= 24 and box.max_scroll_y > 0
        assert app.screen.focused is box
        await pilot.press("end")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
