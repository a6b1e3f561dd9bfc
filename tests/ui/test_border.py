"""set_border_subtitle repaints the widget only when the subtitle text changes."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from opsconsole.widgets.border import set_border_subtitle


def record_refreshes(widget: Widget) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Record the arguments of every ``widget.refresh`` call."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    original = widget.refresh

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    widget.refresh = spy  # type: ignore[method-assign]
    return calls


class BorderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("body", id="pane")


async def test_the_same_subtitle_again_does_not_repaint() -> None:
    async with BorderApp().run_test() as pilot:
        pane = pilot.app.query_one("#pane", Static)
        refreshes = record_refreshes(pane)
        set_border_subtitle(pane, "3 UP")
        set_border_subtitle(pane, "3 UP")
        assert len(refreshes) == 1
        set_border_subtitle(pane, "[b]2 UP[/b] 1 DOWN")  # markup is Textual's to parse
        set_border_subtitle(pane, "[b]2 UP[/b] 1 DOWN")
        assert len(refreshes) == 2
        assert pane.border_subtitle == "[b]2 UP[/b] 1 DOWN"


async def test_update_static_skips_the_same_content_but_not_a_new_style() -> None:
    from textual.content import Content

    from opsconsole.widgets.static_update import update_static

    async with BorderApp().run_test() as pilot:
        pane = pilot.app.query_one("#pane", Static)
        calls = record_refreshes(pane)

        def layouts() -> int:
            return sum(bool(kwargs.get("layout")) for _args, kwargs in calls)

        update_static(pane, Content.assemble(("3 firing", "bold")))
        update_static(pane, Content.assemble(("3 firing", "bold")))
        assert layouts() == 1  # Static.update lays the screen out again: once
        update_static(pane, Content.assemble(("3 firing", "dim")))  # same text, new style
        assert layouts() == 2
        update_static(pane, "")
        update_static(pane, "")
        assert layouts() == 3
        await pilot.pause()
        assert str(pane.render()) == ""
