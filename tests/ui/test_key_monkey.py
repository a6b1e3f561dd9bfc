"""Keyboard monkey (issue 7: never crash at 3 a.m.): random keys from every binding of every
screen, plus text for the dialogs, pressed into the real app with a seeded ticket queue,
probes, incident mode with a Slack fake, and checklists. After every key the app must still
be running; at the end no exception may have been raised anywhere in it.

Every third seed also breaks and mends the database at random (``BreakableStore``: every
store call fails while broken). Even seeds start in an 80x24 terminal, odd ones in 140x45,
and now and then the terminal is resized. Seeds are fixed, so a failure replays;
``OPSCONSOLE_MONKEY_KEYS`` (300) and ``OPSCONSOLE_MONKEY_SEEDS`` (``1,2,3``) change the run
for a longer hunt.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from opsconsole.demo.slack_fake import SlackFake
from pilot_wait import until

from fakes import MutableClock
from ticket_fixtures import breakable_console, console_config

KEYS_PER_RUN = int(os.environ.get("OPSCONSOLE_MONKEY_KEYS", "300"))
SEEDS = [int(s) for s in os.environ.get("OPSCONSOLE_MONKEY_SEEDS", "1,2,3").split(",")]
BINDINGS = (  # noqa: SIM905 (every binding of every screen, and keys widgets take)
    "p r t c h g I i u question_mark 1 2 3 4 5 6 escape enter tab shift+tab up down left "
    "right home end pageup pagedown j k n o s x v z d e f a m R left_square_bracket "
    "right_square_bracket slash space ctrl+s ctrl+t ctrl+o backspace delete "
).split()
TEXT = [*"abc xyz 0123 #%[]{}", "\x1b"]
SIZES = [(80, 24), (100, 30), (140, 45), (60, 16)]


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_keys_never_crash_the_app(
    tmp_path: Path, slack: SlackFake, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = console_config(tmp_path, slack.webhook_url)
    clock = MutableClock()
    app, stores = await breakable_console(tmp_path, config, clock=clock)
    rnd = random.Random(seed)
    breaks = seed % 3 == 0  # every third seed: the database fails and mends at random
    pressed: list[str] = []
    size = (80, 24) if seed % 2 == 0 else (140, 45)
    async with app.run_test(size=size) as pilot:
        for _ in range(KEYS_PER_RUN):
            key = rnd.choice(BINDINGS) if rnd.random() < 0.8 else rnd.choice(TEXT)
            if key == "\x1b":
                key = "escape"
            pressed.append(key)
            await pilot.press(key)
            if rnd.random() < 0.05:
                clock.advance(minutes=rnd.choice([1, 5, 16]))
            if rnd.random() < 0.02:
                size = rnd.choice(SIZES)
                pressed.append(f"<resize {size[0]}x{size[1]}>")
                await pilot.resize_terminal(*size)
            if breaks and stores and rnd.random() < 0.08:
                stores[0].broken = not stores[0].broken
            assert app.is_running, f"app stopped after keys {pressed[-20:]}"
            assert app._exception is None, f"{app._exception!r} after keys {pressed[-20:]}"
        await pilot.pause()
    assert app._exception is None, f"{app._exception!r} after keys {pressed[-20:]}"
    assert sum(not key.startswith("<resize") for key in pressed) == KEYS_PER_RUN


async def test_opening_a_screen_already_in_the_stack_goes_back_to_it(
    tmp_path: Path, slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monkey's first find: ``c`` on the Reports screen opened over the checklist pushed
    a second checklist (DuplicateIds: the app exited). Now each key returns to the screen
    already open, popping the views above it."""
    from opsconsole.screens.checklist import ChecklistScreen
    from opsconsole.screens.incident_dialogs import DeclareScreen
    from opsconsole.screens.shift_actions import ReportsScreen
    from opsconsole.screens.ticket_detail import TicketScreen
    from opsconsole.screens.tickets import TicketsScreen

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app, _ = await breakable_console(tmp_path, console_config(tmp_path, slack.webhook_url))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
        await pilot.press("g")  # the reports on top of the checklist
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen))
        await pilot.press("c")  # back to the checklist under it
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
        assert sum(isinstance(s, ChecklistScreen) for s in app.screen_stack) == 1
        await pilot.press("I")  # the declare-incident dialog over the checklist
        await until(pilot, lambda: isinstance(app.screen, DeclareScreen))
        app.action_checklist()  # e.g. the shift-start auto-open: the dialog is kept
        await pilot.pause()
        assert isinstance(app.screen, DeclareScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
        await pilot.press("t", "t")
        await until(pilot, lambda: isinstance(app.screen, TicketsScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen))
        await pilot.press("t")  # from a ticket: back to the list, not a second list
        await until(pilot, lambda: isinstance(app.screen, TicketsScreen))
        assert sum(isinstance(s, TicketsScreen) for s in app.screen_stack) == 1
        assert app.is_running and app._exception is None
