"""KeyFooter: one rebuild per burst of binding signals, none when the keys shown are the same."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from opsconsole.widgets.key_footer import KeyFooter


class FooterApp(App[None]):
    BINDINGS = [Binding("x", "toggle", "Toggle"), Binding("y", "other", "Other")]

    def __init__(self) -> None:
        super().__init__()
        self.other_enabled = True
        self.recomposes = 0

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return True if action != "other" else (True if self.other_enabled else None)

    def action_toggle(self) -> None:
        self.other_enabled = not self.other_enabled
        self.refresh_bindings()


def _disabled(app: FooterApp) -> dict[str, bool]:
    return {k.key: k._disabled for k in app.query(FooterKey)}


def _count_recomposes(app: FooterApp) -> None:
    footer = app.query_one(KeyFooter)
    original = footer.recompose

    async def counting() -> None:
        app.recomposes += 1
        await original()

    footer.recompose = counting  # type: ignore[method-assign]


async def test_focus_moves_that_keep_the_same_keys_do_not_rebuild_the_footer() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        _count_recomposes(app)
        keys_before = [k.key for k in app.query(FooterKey)]
        assert keys_before[:2] == ["x", "y"]
        for _ in range(4):
            await pilot.press("tab")
            await pilot.pause()
        assert app.recomposes == 0
        assert [k.key for k in app.query(FooterKey)] == keys_before


async def test_a_change_in_the_keys_shown_rebuilds_once() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        _count_recomposes(app)
        await pilot.press("x")  # disables "y" (check_action → None)
        await pilot.pause()
        await pilot.pause()
        assert app.recomposes == 1
        assert _disabled(app) == {"x": False, "y": True, "ctrl+p": False}
        await pilot.press("x")
        await pilot.pause()
        await pilot.pause()
        assert app.recomposes == 2
        assert _disabled(app)["y"] is False


async def test_a_burst_of_signals_is_one_rebuild() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        _count_recomposes(app)
        app.other_enabled = False
        for _ in range(5):
            app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert app.recomposes == 1
        assert _disabled(app)["y"] is True
