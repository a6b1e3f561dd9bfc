"""Every notification built from run-time text is shown literally (``markup=False``).

Textual reads a notification's message as markup by default, so an error reason quoting a
server (``429: [@click=app.quit]…``), a file path or a ticket subject would be styled, or
turned into a clickable action. This walks the source and fails on any ``.notify(…)``
whose message is not a plain string constant and that does not pass ``markup=False``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "opsconsole"


def _unsafe_notifies() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "notify"
                and node.args
            ):
                continue
            message = node.args[0]
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                continue  # our own fixed text
            literal = any(
                k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            if not literal:
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_notifications_with_run_time_text_are_literal() -> None:
    calls = _unsafe_notifies()
    assert calls == [], f"notify(...) without markup=False: {calls}"
