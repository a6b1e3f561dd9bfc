"""Gatus-style conditions, ported from Gatus's config/endpoint/condition_test.go.

Gatus only shows resolved values for failed conditions by default; opsconsole always
resolves (Gatus's ``resolve-successful-conditions``), so successful cases show values too.
"""

from __future__ import annotations

import json

import pytest

from opsconsole.core.conditions import Condition, ConditionSyntaxError, parse_condition
from opsconsole.core.models import ConditionResult, ProbeObservation

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
HTML_JOHN = (
    b'<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" '
    b'content="text/html; charset=UTF-8" /></head><body><div id="user">john.doe</div>'
    b"</body></html>"
)
HTML_JANE = HTML_JOHN.replace(b"john.doe", b"jane.doe")
HTML_PATTERN = 'pat(*<div id="user">john.doe</div>*)'
ARTICLE = (
    b'{\n  "article": {\n    "id": 123,\n    "title": "Hello, world!",\n'
    b'    "author": "John Doe",\n    "tags": ["hello", "world"],\n'
    b'    "content": "I really like Gatus!"\n  }\n}'
)


def obs(
    *,
    connected: bool = True,
    status: int | None = None,
    rt: float | None = None,
    ip: str | None = None,
    body: bytes | str | object = b"",
    cert: float | None = None,
) -> ProbeObservation:
    """Build an observation; a non-bytes/str body is JSON-encoded."""
    if isinstance(body, str):
        raw = body.encode()
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body).encode()
    return ProbeObservation(
        connected=connected,
        status=status,
        response_time_ms=rt,
        ip=ip,
        body=raw,
        certificate_expiration_ms=cert,
    )


CASES: list[tuple[str, ProbeObservation, bool, str]] = [
    # --- ip / status / response time
    ("[IP] == 127.0.0.1", obs(ip="127.0.0.1"), True, "[IP] (127.0.0.1) == 127.0.0.1"),
    ("[STATUS] == 200", obs(status=200), True, "[STATUS] (200) == 200"),
    ("[STATUS] == 200", obs(status=500), False, "[STATUS] (500) == 200"),
    ("[STATUS] < 300", obs(status=201), True, "[STATUS] (201) < 300"),
    ("[STATUS] < 300", obs(status=404), False, "[STATUS] (404) < 300"),
    ("[RESPONSE_TIME] < 500", obs(rt=50), True, "[RESPONSE_TIME] (50) < 500"),
    ("[RESPONSE_TIME] < 1s", obs(rt=50), True, "[RESPONSE_TIME] (50) < 1s"),
    ("[RESPONSE_TIME] > 500", obs(rt=750), True, "[RESPONSE_TIME] (750) > 500"),
    ("[RESPONSE_TIME] > 1s", obs(rt=2000), True, "[RESPONSE_TIME] (2000) > 1s"),
    ("[RESPONSE_TIME] >= 500", obs(rt=500), True, "[RESPONSE_TIME] (500) >= 500"),
    ("[RESPONSE_TIME] >= 500", obs(rt=499), False, "[RESPONSE_TIME] (499) >= 500"),
    ("[RESPONSE_TIME] <= 500", obs(rt=500), True, "[RESPONSE_TIME] (500) <= 500"),
    ("[RESPONSE_TIME] <= 500", obs(rt=25), True, "[RESPONSE_TIME] (25) <= 500"),
    ("[RESPONSE_TIME] <= 500", obs(rt=750), False, "[RESPONSE_TIME] (750) <= 500"),
    ("[RESPONSE_TIME] < 1000", obs(rt=1532.9), False, "[RESPONSE_TIME] (1532) < 1000"),
    ("[RESPONSE_TIME] < 500ms", obs(rt=499), True, "[RESPONSE_TIME] (499) < 500ms"),
    ("[RESPONSE_TIME] < 1.5s", obs(rt=1499), True, "[RESPONSE_TIME] (1499) < 1.5s"),
    ("[RESPONSE_TIME] < 1m30s", obs(rt=90_000), False, "[RESPONSE_TIME] (90000) < 1m30s"),
    ("[RESPONSE_TIME] < 100.9", obs(rt=100), False, "[RESPONSE_TIME] (100) < 100.9 (100)"),
    ("[STATUS] >= 0xC8", obs(status=200), True, "[STATUS] (200) >= 0xC8 (200)"),
    ("[status] == 200", obs(status=200), True, "[status] (200) == 200"),
    ("[STATUS] == +200", obs(status=200), True, "[STATUS] (200) == +200"),
    # --- body
    ("[BODY] == test", obs(body="test"), True, "[BODY] (test) == test"),
    ("[BODY] == test", obs(body="  test\n"), True, "[BODY] (test) == test"),
    ("[BODY].status == UP", obs(body={"status": "UP"}), True, "[BODY].status (UP) == UP"),
    ("[BODY] == 123", obs(body="123"), True, "[BODY] (123) == 123"),
    ("[BODY] < 124", obs(body="123"), True, "[BODY] (123) < 124"),
    ("[BODY] > 122", obs(body="123"), True, "[BODY] (123) > 122"),
    ("[BODY] > 123", obs(body="100"), False, "[BODY] (100) > 123"),
    (
        "[BODY].data.name == john",
        obs(body='{"data": {"id": 1, "name": "john"}}'),
        True,
        "[BODY].data.name (john) == john",
    ),
    (
        "[BODY].data.name == john",
        obs(body='{"data": {"id": 1}}'),
        False,
        "[BODY].data.name (INVALID) == john",
    ),
    (
        "len([BODY].data.name) == john",
        obs(body='{"data": {"id": 1}}'),
        False,
        "len([BODY].data.name) (INVALID) == john",
    ),
    (
        "[BODY].user.firstName != [BODY].user.lastName",
        obs(body={"user": {"firstName": "john", "lastName": "doe"}}),
        True,
        "[BODY].user.firstName (john) != [BODY].user.lastName (doe)",
    ),
    (
        "[BODY].user.firstName == [BODY].user.lastName",
        obs(body={"user": {"firstName": "john", "lastName": "doe"}}),
        False,
        "[BODY].user.firstName (john) == [BODY].user.lastName (doe)",
    ),
    ("[BODY][0].id == 1", obs(body='[{"id": 1}, {"id": 2}]'), True, "[BODY][0].id (1) == 1"),
    ("[BODY].data == OK", obs(body='{"data": null}"'), False, "[BODY].data (INVALID) == OK"),
    ("[BODY].data == OK", obs(body='{"data": null}'), False, "[BODY].data (INVALID) == OK"),
    (
        "[BODY].items[0] == OK",
        obs(body='{"items": [null, null]}'),
        False,
        "[BODY].items[0] (INVALID) == OK",
    ),
    ("[BODY].data == OK", obs(body="null"), False, "[BODY].data (INVALID) == OK"),
    (
        "[BODY][0].name == test",
        obs(body='{"statusCode": 500, "message": "Internal Server Error"}'),
        False,
        "[BODY][0].name (INVALID) == test",
    ),
    ("[BODY].data.id == 1", obs(body={"data": {"id": 1}}), True, "[BODY].data.id (1) == 1"),
    (
        "[BODY].data[1].id == 2",
        obs(body={"data": [{"id": 1}, {"id": 2}, {"id": 3}]}),
        True,
        "[BODY].data[1].id (2) == 2",
    ),
    ("[BODY].data.id > 0", obs(body={"data": {"id": 1}}), True, "[BODY].data.id (1) > 0"),
    ("[BODY].data.id > 5", obs(body={"data": {"id": 1}}), False, "[BODY].data.id (1) > 5"),
    ("[BODY].data.id < 5", obs(body={"data": {"id": 2}}), True, "[BODY].data.id (2) < 5"),
    ("[BODY].data.id < 5", obs(body={"data": {"id": 10}}), False, "[BODY].data.id (10) < 5"),
    (
        "[BODY].balance > 100",
        obs(body={"balance": "123.40000000000005"}),
        True,
        "[BODY].balance (123) > 100",
    ),
    (
        "[BODY].balance == 123.40000000000005",
        obs(body='{"balance": 123.40000000000005}'),
        True,
        "[BODY].balance (123.40000000000005) == 123.40000000000005",
    ),
    # --- jsonpath (Gatus's jsonpath_test.go)
    ("[BODY][3][2] == 7", obs(body=[[1, 2], [3, 4], [], [5, 6, 7]]), True, "[BODY][3][2] (7) == 7"),
    (
        "[BODY].data[1][1] == eeeee",
        obs(body={"data": [["a", "b", "c"], ["d", "eeeee", "f"]]}),
        True,
        "[BODY].data[1][1] (eeeee) == eeeee",
    ),
    (
        "[BODY].data[0].apps[1].name == app2",
        obs(body={"data": [{"apps": [{"name": "app1"}, {"name": "app2"}]}]}),
        True,
        "[BODY].data[0].apps[1].name (app2) == app2",
    ),
    (
        "[BODY].data[0].apps[1].name == app2",
        obs(body={"data": [{"apps": []}]}),
        False,
        "[BODY].data[0].apps[1].name (INVALID) == app2",
    ),
    (
        "[BODY].data.name.invalid == x",
        obs(body={"data": {"name": "john"}}),
        False,
        "[BODY].data.name.invalid (INVALID) == x",
    ),
    ("[BODY][5].id == 1", obs(body=[{"id": 1}]), False, "[BODY][5].id (INVALID) == 1"),
    ("[BODY][0] == x", obs(body=[{"id": 1}]), False, '[BODY][0] ({"id":1}) == x'),
    ("[BODY].ids == [1 2]", obs(body={"ids": [1, 2]}), True, "[BODY].ids ([1 2]) == [1 2]"),
    ("[BODY].key == value", obs(body="invalid data"), False, "[BODY].key (INVALID) == value"),
    ("[BODY].ok == true", obs(body={"ok": True}), True, "[BODY].ok (true) == true"),
    # --- hexadecimal / octal / binary / numbers in strings
    ("[BODY].data > 0", obs(body={"data": "0x1"}), True, "[BODY].data (1) > 0"),
    ("[BODY].data == 1", obs(body={"data": "0x1"}), True, "[BODY].data (0x1) == 1"),
    ("[BODY].data == 0x1", obs(body={"data": "0x1"}), True, "[BODY].data (0x1) == 0x1"),
    ("[BODY].data == 2", obs(body={"data": "0x2"}), True, "[BODY].data (0x2) == 2"),
    ("[BODY].data == 15", obs(body={"data": "0xF"}), True, "[BODY].data (0xF) == 15"),
    (
        "[BODY].data == 12648243",
        obs(body={"data": "0xC0ff33"}),
        True,
        "[BODY].data (0xC0ff33) == 12648243",
    ),
    ("len([BODY].data) == 3", obs(body={"data": "0x1"}), True, "len([BODY].data) (3) == 3"),
    ("[BODY].data >= 1", obs(body={"data": "0x01"}), True, "[BODY].data (1) >= 1"),
    ("len([BODY].data) == 4", obs(body={"data": "0x01"}), True, "len([BODY].data) (4) == 4"),
    ("[BODY].data > 0", obs(body={"data": "0o1"}), True, "[BODY].data (1) > 0"),
    ("[BODY].data == 2", obs(body={"data": "0o2"}), True, "[BODY].data (0o2) == 2"),
    ("[BODY].data == 0o2", obs(body={"data": "0o2"}), True, "[BODY].data (0o2) == 0o2"),
    ("[BODY].data > 0", obs(body={"data": "0b1"}), True, "[BODY].data (1) > 0"),
    ("[BODY].data == 2", obs(body={"data": "0b0010"}), True, "[BODY].data (0b0010) == 2"),
    ("[BODY].data == 0b10", obs(body={"data": "0b0010"}), True, "[BODY].data (0b0010) == 0b10"),
    ("[BODY].data == 15", obs(body={"data": "017"}), True, "[BODY].data (017) == 15"),
    ("[BODY].data == 8", obs(body={"data": "08"}), False, "[BODY].data (08) == 8"),
    ("[BODY].data == 1000", obs(body={"data": "1_000"}), True, "[BODY].data (1_000) == 1000"),
    ("[BODY].v == 1.0", obs(body={"v": "1"}), False, "[BODY].v (1) == 1.0"),
    ("[BODY].v == 1.0", obs(body={"v": "1.0"}), True, "[BODY].v (1.0) == 1.0"),
    ("[BODY].v == 0x1F", obs(body={"v": 31}), True, "[BODY].v (31) == 0x1F"),
    ("[BODY].status > 0", obs(body={"status": "UP"}), False, "[BODY].status (UP) > 0"),
    ("[BODY].status != DOWN", obs(body={"status": "UP"}), True, "[BODY].status (UP) != DOWN"),
    # quotes are not stripped (as in Gatus)
    ('[BODY].status == "UP"', obs(body={"status": "UP"}), False, '[BODY].status (UP) == "UP"'),
    ('[BODY] == "UP"', obs(body='"UP"'), True, '[BODY] ("UP") == "UP"'),
    # --- connected
    ("[CONNECTED] == true", obs(connected=True), True, "[CONNECTED] (true) == true"),
    ("[CONNECTED] == true", obs(connected=False), False, "[CONNECTED] (false) == true"),
    # --- certificate expiration
    (
        f"[CERTIFICATE_EXPIRATION] > {28 * DAY_MS}",
        obs(cert=60 * DAY_MS),
        True,
        "[CERTIFICATE_EXPIRATION] (1440h) > 2419200000",
    ),
    (
        f"[CERTIFICATE_EXPIRATION] > {28 * DAY_MS}",
        obs(cert=14 * DAY_MS),
        False,
        "[CERTIFICATE_EXPIRATION] (336h) > 2419200000",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 12h",
        obs(cert=DAY_MS),
        True,
        "[CERTIFICATE_EXPIRATION] (24h) > 12h",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 48h",
        obs(cert=DAY_MS),
        False,
        "[CERTIFICATE_EXPIRATION] (24h) > 48h",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 7d",
        obs(cert=6 * DAY_MS),
        False,
        "[CERTIFICATE_EXPIRATION] (144h) > 7d",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 0",
        obs(cert=-DAY_MS),
        False,
        "[CERTIFICATE_EXPIRATION] (-24h) > 0",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 1h",
        obs(cert=90_500.7),
        False,
        "[CERTIFICATE_EXPIRATION] (1m30s) > 1h",
    ),
    (
        "[CERTIFICATE_EXPIRATION] > 1h",
        obs(cert=HOUR_MS + 15_000),
        True,
        "[CERTIFICATE_EXPIRATION] (1h0m15s) > 1h",
    ),
    (
        "[CERTIFICATE_EXPIRATION] < 2h",
        obs(cert=HOUR_MS + 30 * 60_000),
        True,
        "[CERTIFICATE_EXPIRATION] (1h30m) < 2h",
    ),
    (
        "[CERTIFICATE_EXPIRATION] == 86400000",
        obs(cert=DAY_MS),
        True,
        "[CERTIFICATE_EXPIRATION] (86400000) == 86400000",
    ),
    # --- no placeholders
    ("1 == 2", obs(), False, "1 == 2"),
    ("raw == raw", obs(), True, "raw == raw"),
    # --- len
    (
        "len([BODY].data.name) == 4",
        obs(body={"data": {"name": "john"}}),
        True,
        "len([BODY].data.name) (4) == 4",
    ),
    ("len([BODY]) == 3", obs(body=[{"id": 1}, {"id": 2}, {"id": 3}]), True, "len([BODY]) (3) == 3"),
    ("len([BODY]) == 2", obs(body="[1, 2]\n"), True, "len([BODY]) (2) == 2"),
    (
        "len([BODY].data) == 3",
        obs(body={"data": [{"id": 1}, {"id": 2}, {"id": 3}]}),
        True,
        "len([BODY].data) (3) == 3",
    ),
    (
        "len([BODY].data) == 8",
        obs(body={"name": "john.doe"}),
        False,
        "len([BODY].data) (INVALID) == 8",
    ),
    ("len([BODY]) == 8", obs(body="john.doe"), True, "len([BODY]) (8) == 8"),
    ("len([BODY].name) == 8", obs(body={"name": "john.doe"}), True, "len([BODY].name) (8) == 8"),
    ("len([BODY].age) == 2", obs(body='{"age":18}'), True, "len([BODY].age) (2) == 2"),
    ("len([BODY].adult) == 4", obs(body='{"adult":true}'), True, "len([BODY].adult) (4) == 4"),
    (
        "len([BODY][0]) == 23",
        obs(body='[{"age":18,"adult":true}]'),
        True,
        "len([BODY][0]) (23) == 23",
    ),
    (
        "len([BODY][0].age) == 2",
        obs(body='[{"age":18,"adult":true}]'),
        True,
        "len([BODY][0].age) (2) == 2",
    ),
    (
        "len([BODY][0].adult) == 4",
        obs(body='[{"age":18,"adult":true}]'),
        True,
        "len([BODY][0].adult) (4) == 4",
    ),
    ("len([BODY]) == 20", obs(body='{"name": "john.doe"}'), True, "len([BODY]) (20) == 20"),
    ("len([BODY].data) > 0", obs(body={"data": []}), False, "len([BODY].data) (0) > 0"),
    ("len([BODY].name) == 4", obs(body={"name": "josé"}), True, "len([BODY].name) (4) == 4"),
    ("len([IP]) == 9", obs(ip="127.0.0.1"), True, "len([IP]) (9) == 9"),
    # --- pat
    (
        "[BODY] == pat(*john*)",
        obs(body='{"name": "john.doe"}'),
        True,
        '[BODY] ({"name": "john.doe"}) == pat(*john*)',
    ),
    (
        "[BODY].name == pat(john*)",
        obs(body={"name": "john.doe"}),
        True,
        "[BODY].name (john.doe) == pat(john*)",
    ),
    (
        "[BODY].name == pat(bob*)",
        obs(body={"name": "john.doe"}),
        False,
        "[BODY].name (john.doe) == pat(bob*)",
    ),
    (
        f"[BODY] == {HTML_PATTERN}",
        obs(body=HTML_JOHN),
        True,
        f"[BODY] (<!DOCTYPE html><html lang...(truncated)) == {HTML_PATTERN}",
    ),
    (
        f"[BODY] == {HTML_PATTERN}",
        obs(body=HTML_JANE),
        False,
        f"[BODY] (<!DOCTYPE html><html lang...(truncated)) == {HTML_PATTERN}",
    ),
    (
        f"{HTML_PATTERN} == [BODY]",
        obs(body=HTML_JANE),
        False,
        f"{HTML_PATTERN} == [BODY] (<!DOCTYPE html><html lang...(truncated))",
    ),
    (
        "[BODY].data == pat(*Whatever*)",
        obs(body={"data": ["hello", "world", "Whatever"]}),
        True,
        "[BODY].data ([hello world Whatever]) == pat(*Whatever*)",
    ),
    ("[IP] == pat(10.*)", obs(ip="10.0.0.0"), True, "[IP] (10.0.0.0) == pat(10.*)"),
    (
        "[IP] == pat(10.*)",
        obs(ip="255.255.255.255"),
        False,
        "[IP] (255.255.255.255) == pat(10.*)",
    ),
    ("[STATUS] == pat(4*)", obs(status=404), True, "[STATUS] (404) == pat(4*)"),
    ("[STATUS] == pat(4*)", obs(status=200), False, "[STATUS] (200) == pat(4*)"),
    ("[STATUS] != pat(5*)", obs(status=200), True, "[STATUS] (200) != pat(5*)"),
    ("[STATUS] == pat(2[0-9][0-9])", obs(status=204), True, "[STATUS] (204) == pat(2[0-9][0-9])"),
    ("[STATUS] == pat(2[0-9][0-9])", obs(status=301), False, "[STATUS] (301) == pat(2[0-9][0-9])"),
    ("[STATUS] == pat(?0?)", obs(status=204), True, "[STATUS] (204) == pat(?0?)"),
    ("[BODY] == pat([^x]*)", obs(body="abc"), True, "[BODY] (abc) == pat([^x]*)"),
    (
        "[BODY] == pat(*health*)",
        obs(body="/api/health"),
        True,
        "[BODY] (/api/health) == pat(*health*)",
    ),
    ("[BODY] == pat(*a*b*c)", obs(body="xaxbxc"), True, "[BODY] (xaxbxc) == pat(*a*b*c)"),
    ("[BODY] == pat(*a*b*c)", obs(body="xaxbxcx"), False, "[BODY] (xaxbxcx) == pat(*a*b*c)"),
    ("[BODY] == pat(*)", obs(body="any/thing"), True, "[BODY] (any/thing) == pat(*)"),
    ("[BODY] == pat(*ok*)", obs(body=b"\xff ok"), True, "[BODY] (\ufffd ok) == pat(*ok*)"),
    # --- any
    (
        "[BODY].name == any(john.doe, jane.doe)",
        obs(body={"name": "john.doe"}),
        True,
        "[BODY].name (john.doe) == any(john.doe, jane.doe)",
    ),
    (
        "[BODY].name == any(john.doe, jane.doe)",
        obs(body={"name": "jane.doe"}),
        True,
        "[BODY].name (jane.doe) == any(john.doe, jane.doe)",
    ),
    (
        "[BODY].name == any(john.doe, jane.doe)",
        obs(body={"name": "bob"}),
        False,
        "[BODY].name (bob) == any(john.doe, jane.doe)",
    ),
    ("[STATUS] == any(200, 429)", obs(status=200), True, "[STATUS] (200) == any(200, 429)"),
    ("[STATUS] == any(200, 429)", obs(status=429), True, "[STATUS] (429) == any(200, 429)"),
    ("any(200, 429) == [STATUS]", obs(status=429), True, "any(200, 429) == [STATUS] (429)"),
    ("[STATUS] == any(200, 429)", obs(status=404), False, "[STATUS] (404) == any(200, 429)"),
    ("[STATUS] != any(500, 503)", obs(status=200), True, "[STATUS] (200) != any(500, 503)"),
    (
        '[BODY].status == any("UP", ok)',
        obs(body={"status": "UP"}),
        False,
        '[BODY].status (UP) == any("UP", ok)',
    ),
    # --- has
    ("has([BODY].errors) == false", obs(body="{}"), True, "has([BODY].errors) (false) == false"),
    ("has([BODY].article) == true", obs(body=ARTICLE), True, "has([BODY].article) (true) == true"),
    (
        "has([BODY].errors) == false",
        obs(body={"errors": ["1"]}),
        False,
        "has([BODY].errors) (true) == false",
    ),
    ("has([BODY].x) == false", obs(body="not json"), True, "has([BODY].x) (false) == false"),
    ("has([BODY]) == false", obs(body=b""), True, "has([BODY]) (false) == false"),
    ("has([IP]) == true", obs(ip=None), False, "has([IP]) (false) == true"),
    # --- unavailable values always fail
    ("[STATUS] == 200", obs(status=None), False, "[STATUS] (INVALID) == 200"),
    ("[STATUS] != 200", obs(status=None), False, "[STATUS] (INVALID) != 200"),
    ("[STATUS] < 500", obs(status=None), False, "[STATUS] (INVALID) < 500"),
    ("[RESPONSE_TIME] < 500", obs(rt=None), False, "[RESPONSE_TIME] (INVALID) < 500"),
    ("[IP] == pat(10.*)", obs(ip=None), False, "[IP] (INVALID) == pat(10.*)"),
    (
        "[CERTIFICATE_EXPIRATION] == 0",
        obs(cert=None),
        False,
        "[CERTIFICATE_EXPIRATION] (INVALID) == 0",
    ),
    ("[BODY].x != foo", obs(body={"y": 1}), False, "[BODY].x (INVALID) != foo"),
    ("[BODY].x < 5", obs(body={"y": 1}), False, "[BODY].x (INVALID) < 5"),
    ("len([BODY].x) < 5", obs(body="<html>"), False, "len([BODY].x) (INVALID) < 5"),
    ("[BODY].x == 1", obs(body=b"[" * 100_000), False, "[BODY].x (INVALID) == 1"),
]


@pytest.mark.parametrize(("text", "observation", "ok", "resolved"), CASES)
def test_evaluate(text: str, observation: ProbeObservation, ok: bool, resolved: str) -> None:
    """Each condition resolves like Gatus and succeeds or fails as Gatus would."""
    result = parse_condition(text).evaluate(observation)
    assert result == ConditionResult(
        condition=text, ok=ok, resolved=resolved, latency_only=result.latency_only
    )


def test_long_values_are_capped_in_resolved_text() -> None:
    """Untrusted bodies are cut at 200 characters in the resolved text."""
    result = parse_condition("[BODY] == y").evaluate(obs(body="x" * 5000))
    assert not result.ok
    assert result.resolved == f"[BODY] ({'x' * 200}...(truncated)) == y"


def test_evaluate_never_raises_on_pathological_body() -> None:
    """A huge, deeply nested body fails cleanly instead of raising."""
    body = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    result = parse_condition("len([BODY].a) > 0").evaluate(obs(body=body))
    assert result.ok is False
    assert result.resolved.startswith("len([BODY].a) (")


@pytest.mark.parametrize(
    ("text", "latency_only", "uses_body"),
    [
        ("[RESPONSE_TIME] < 500", True, False),
        ("[response_time] < 1s", True, False),
        ("[STATUS] == 200", False, False),
        ("[RESPONSE_TIME] < [BODY].max", False, True),
        ("1 == 1", False, False),
        ("[BODY].x == 1", False, True),
        ("len([BODY]) > 0", False, True),
        ("[body].status == UP", False, True),
        ("[STATUS] == pat(*[BODY]*)", False, False),
    ],
)
def test_properties(text: str, latency_only: bool, uses_body: bool) -> None:
    """latency_only and uses_body reflect the placeholders actually used."""
    condition = parse_condition(text)
    assert condition.latency_only is latency_only
    assert condition.uses_body is uses_body
    assert condition.evaluate(obs(rt=1, status=200)).latency_only is latency_only


def test_condition_identity() -> None:
    """A condition keeps its text, compares by text, and can be built directly."""
    condition = parse_condition("[STATUS] == 200")
    assert condition.text == "[STATUS] == 200"
    assert condition == Condition("[STATUS] == 200")
    assert hash(condition) == hash(Condition("[STATUS] == 200"))
    assert repr(condition) == "Condition(text='[STATUS] == 200')"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty condition"),
        ("   ", "empty condition"),
        ("[STATUS] ? 201", "missing comparison operator"),
        ("[STATUS]", "missing comparison operator"),
        ("[STATUS] = = 201", "missing comparison operator"),
        ("[STATUS]==201", "missing comparison operator (put a space on each side)"),
        ("[STATUS] ==", "empty right-hand side"),
        ("== 200", "empty left-hand side"),
        ("[STATUS] == 200 == 200", "more than one == operator"),
        ("[STAUS] == 200", "unknown placeholder [STAUS]"),
        ("[BODY].x == [RESPONSETIME]", "unknown placeholder [RESPONSETIME]"),
        ("len([BODDY].x) > 1", "unknown placeholder [BODDY]"),
        ("[DOMAIN_EXPIRATION] > 720h", "unsupported placeholder [DOMAIN_EXPIRATION]"),
        ("[DNS_RCODE] == NOERROR", "unsupported placeholder [DNS_RCODE]"),
        ("[STATUS]x == 200", "unexpected text after [STATUS] in [STATUS]x"),
        ("[BODY]x == 200", "unexpected text after [BODY] in [BODY]x"),
        ("len([BODY].users == 100", "unbalanced parentheses in len([BODY].users"),
        ("has([BODY].errors == false", "unbalanced parentheses in has([BODY].errors"),
        ("len([BODY].a)) == 1", "unbalanced parentheses in len([BODY].a))"),
        ("[BODY].name == pat(john*", "unbalanced parentheses in pat(john*"),
        ("[STATUS] == any(200, 201", "unbalanced parentheses in any(200, 201"),
        ("len(foo) == 3", "len() needs a placeholder, e.g. len([BODY].items)"),
        ("has() == true", "has() needs a placeholder, e.g. len([BODY].items)"),
        ("lenn([BODY].x) == 3", "unknown function lenn()"),
        ("[RESPONSE_TIME] < potato", "not a number: potato"),
        ("[RESPONSE_TIME] < 5 s", "not a number: 5 s"),
        ("[STATUS] > pat(4*)", "pat() only works with == and !="),
        ("[STATUS] <= any(200, 201)", "any() only works with == and !="),
        ("has([BODY].x) > 0", "has([BODY].x) is true or false; compare it with == or !="),
        ("[CONNECTED] >= 1", "[CONNECTED] is true or false; compare it with == or !="),
        ("[IP] == pat([abc)", "invalid pattern in pat([abc)"),
        ("[IP] == pat(abc\\)", "invalid pattern in pat(abc\\)"),
        ("pat(a*) == any(a, b)", "pat() and any() can only be used on one side"),
        ("[BODY].a..b == 1", "invalid JSON path in [BODY].a..b"),
        ("[BODY]. == 1", "invalid JSON path in [BODY]."),
        ("[BODY].x[abc] == 1", "invalid JSON path in [BODY].x[abc]"),
        ("[BODY].items[*].id == 1", "wildcard [*] is not supported in [BODY].items[*].id"),
        (
            "[BODY].status == any([BODY].x, UP)",
            "any() takes literal values, e.g. [BODY].x == any(a, b)",
        ),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    """Malformed conditions are rejected at load time with a short one-line reason."""
    with pytest.raises(ConditionSyntaxError) as excinfo:
        parse_condition(text)
    assert str(excinfo.value) == message
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "[STATUS] == 200",
        "[STATUS] != 200",
        "[STATUS] <= 200",
        "[STATUS] >= 200",
        "[STATUS] < 200",
        "[STATUS] > 200",
        "[STATUS] == any(200, 201, 202, 203)",
        "[STATUS] == [BODY].status",
        "[CONNECTED] == true",
        "[RESPONSE_TIME] < 500",
        "[IP] == 127.0.0.1",
        "[BODY] == 1",
        "[BODY].test == wat",
        "[BODY].test.wat == wat",
        "[BODY].age == [BODY].id",
        "[BODY].users[0].id == 1",
        "len([BODY].users) == 100",
        "len([BODY].data) < 5",
        "has([BODY].errors) == false",
        "has([BODY].users[0].name) == true",
        "[BODY].name == pat(john*)",
        "[CERTIFICATE_EXPIRATION] > 48h",
        "raw == raw",
        "[BODY].items == []",
    ],
)
def test_valid_conditions_parse(text: str) -> None:
    """Gatus's TestCondition_Validate valid cases parse, and evaluate without raising."""
    condition = parse_condition(text)
    assert condition.text == text
    result = condition.evaluate(obs())
    assert result.condition == text
    assert isinstance(result.ok, bool)
    assert result.resolved
