"""JSON numbers in bodies compare as numbers: ``[BODY].ratio < 0.9`` holds for 0.7.

Gatus truncates both sides of an ordering to integers (0.7 < 0.9 becomes 0 < 0, false) and
prints a JSON 1.0 as ``1`` before comparing it with the text ``1.0``. A JSON number against
a number written as one is compared exactly; numbers inside JSON strings, hex/octal
literals and durations keep Gatus's rules (tests/unit/test_conditions.py).
"""

from __future__ import annotations

import pytest

from opsconsole.core.conditions import parse_condition
from opsconsole.core.models import ProbeObservation


def evaluate(condition: str, body: str) -> tuple[bool, str]:
    result = parse_condition(condition).evaluate(
        ProbeObservation(connected=True, status=200, body=body.encode())
    )
    return result.ok, result.resolved


@pytest.mark.parametrize(
    ("condition", "body", "ok", "resolved"),
    [
        # fractions in orderings
        ("[BODY].ratio < 0.9", '{"ratio": 0.7}', True, "[BODY].ratio (0.7) < 0.9"),
        ("[BODY].ratio > 0.5", '{"ratio": 0.7}', True, "[BODY].ratio (0.7) > 0.5"),
        ("[BODY].ratio < 0.5", '{"ratio": 0.7}', False, "[BODY].ratio (0.7) < 0.5"),
        ("[BODY].ratio >= 0.7", '{"ratio": 0.7}', True, "[BODY].ratio (0.7) >= 0.7"),
        ("[BODY].load < 1.5", '{"load": 1.2}', True, "[BODY].load (1.2) < 1.5"),
        ("[BODY].delta < 0", '{"delta": -0.5}', True, "[BODY].delta (-0.5) < 0"),
        ("[BODY].delta > 0", '{"delta": 0.5}', True, "[BODY].delta (0.5) > 0"),
        ("[BODY][0] < 0.9", "[0.5, 2]", True, "[BODY][0] (0.5) < 0.9"),
        ("[BODY] < 0.9", "0.5", True, "[BODY] (0.5) < 0.9"),
        ("[BODY].a < [BODY].b", '{"a": 0.1, "b": 0.2}', True, "[BODY].a (0.1) < [BODY].b (0.2)"),
        # a JSON 1.0 equals 1.0 and 1
        ("[BODY].version == 1.0", '{"version": 1.0}', True, "[BODY].version (1) == 1.0"),
        ("[BODY].version == 1", '{"version": 1.0}', True, "[BODY].version (1) == 1"),
        ("[BODY].version == 1.0", '{"version": 1}', True, "[BODY].version (1) == 1.0"),
        ("[BODY].version == 1.50", '{"version": 1.5}', True, "[BODY].version (1.5) == 1.50"),
        ("[BODY].version != 1.0", '{"version": 1.0}', False, "[BODY].version (1) != 1.0"),
        ("[BODY].v == 1e3", '{"v": 1000}', True, "[BODY].v (1000) == 1e3"),
    ],
)
def test_json_numbers_compare_exactly(condition: str, body: str, ok: bool, resolved: str) -> None:
    assert evaluate(condition, body) == (ok, resolved)


@pytest.mark.parametrize(
    ("condition", "body", "ok", "resolved"),
    [
        # numbers inside JSON strings: Gatus's rules (text, or truncated for orderings)
        ("[BODY].v == 1.0", '{"v": "1"}', False, "[BODY].v (1) == 1.0"),
        ("[BODY].version == 1.10", '{"version": "1.1"}', False, "[BODY].version (1.1) == 1.10"),
        ("[BODY].v < 0.9", '{"v": "0.7"}', False, "[BODY].v (0) < 0.9 (0)"),
        # base prefixes and durations keep their Gatus meaning
        ("[BODY].v == 0x1F", '{"v": 31}', True, "[BODY].v (31) == 0x1F"),
        ("[BODY].v == 017", '{"v": 15}', True, "[BODY].v (15) == 017"),
        ("[BODY].v == 017", '{"v": 17}', False, "[BODY].v (17) == 017"),
        ("[BODY].ms > 48h", '{"ms": 172800001}', True, "[BODY].ms (172800001) > 48h"),
        # booleans are not numbers
        ("[BODY].v == 1", '{"v": true}', False, "[BODY].v (true) == 1"),
        # functions keep their own rules
        ("[BODY].v == pat(1.*)", '{"v": 1.5}', True, "[BODY].v (1.5) == pat(1.*)"),
        ("len([BODY].v) == 3", '{"v": [1, 2, 3]}', True, "len([BODY].v) (3) == 3"),
    ],
)
def test_everything_else_keeps_gatus_rules(
    condition: str, body: str, ok: bool, resolved: str
) -> None:
    assert evaluate(condition, body) == (ok, resolved)
