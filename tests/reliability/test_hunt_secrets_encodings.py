"""A config secret must not leak in another spelling: escaped, encoded or re-cased.

Before the fix, ``redact_text`` matched a literal secret only verbatim and upper-case
percent-encoded, so each of these reached the log file or a Sentry event:

* a password with a backslash or a quote in a Sentry frame's locals (sentry-sdk
  ``repr``s every local: ``'pa\\\\ss'``) or inside a JSON string;
* a secret percent-encoded with lower-case hex (``%2f``) or in another letter case;
* a secret base64-encoded inside a longer value (``AUTH PLAIN base64(\\0user\\0pass)``,
  ``base64(user:pass)``), at any of the three alignments;
* the second word of a quoted value (``"password": "two words"`` kept ``words``);
* a Slack webhook written without ``https://``.

Real logging, a real sentry-sdk client with a recording transport; no mocks.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from opsconsole.adapters.logging_setup import (
    config_secrets,
    install_log_redaction,
    uninstall_log_redaction,
)
from opsconsole.adapters.telemetry import (
    capture_exception,
    flush_telemetry,
    init_telemetry,
    shutdown_telemetry,
)
from opsconsole.config.loader import loads_config
from opsconsole.core.redact import REDACTED, redact_text

PASSWORD = 'Cnry\\7q"x9/Zk+ wörd'
"""An SMTP/IMAP password with a backslash, a double quote, a slash, a plus, a space and a
non-ASCII letter: every escaping scheme changes it."""


def spellings(secret: str) -> dict[str, str]:
    """Ways a program can write ``secret`` without meaning to (each must be redacted)."""
    raw = secret.encode()
    return {
        "verbatim": secret,
        "repr": repr(secret)[1:-1],
        "repr-of-repr": repr(repr(secret))[1:-1],
        "json": json.dumps(secret)[1:-1],
        "json-utf8": json.dumps(secret, ensure_ascii=False)[1:-1],
        "repr-of-json": repr(json.dumps({"p": secret}))[1:-1],
        "percent-lower": quote(secret, safe="").lower(),
        "percent-plus": quote_plus(secret, safe=""),
        "upper": secret.upper(),
        "auth-plain": base64.b64encode(b"\0support\0" + raw).decode(),
        "basic": base64.b64encode(b"support:" + raw).decode(),
        "basic-offset-1": base64.b64encode(b"ab:" + raw + b"tail").decode(),
        "basic-offset-2": base64.b64encode(b"a:" + raw + b"tail").decode(),
        "base64url": base64.urlsafe_b64encode(b"u:" + raw).decode(),
    }


def leaked_fragments(text: str, secret: str) -> list[str]:
    """Pieces of ``secret``'s spellings that survived in ``text``.

    For the base64 spellings only the part that the secret's own bytes decide counts; two
    boundary characters may mix in a neighbour's bits and are allowed to remain.
    """
    raw = secret.encode()
    found = []
    for name, spelled in spellings(secret).items():
        if name in ("auth-plain", "basic", "basic-offset-1", "basic-offset-2", "base64url"):
            core = _b64_core(spelled, raw)
            if core and core in text:
                found.append(name)
        elif spelled.lower() in text.lower():
            found.append(name)
    return found


def _b64_core(encoded: str, raw: bytes) -> str:
    """The middle of ``encoded`` that decodes to bytes of ``raw`` alone (any alignment)."""
    standard = encoded.replace("-", "+").replace("_", "/")
    decoded = base64.b64decode(standard)
    start = decoded.index(raw)
    first = -(-start // 3)
    last = (start + len(raw)) // 3
    core = standard[4 * first : 4 * last]
    return core if encoded is standard else core.replace("+", "-").replace("/", "_")


@pytest.mark.parametrize("name", list(spellings(PASSWORD)))
def test_every_spelling_of_a_literal_secret_is_redacted(name: str) -> None:
    spelled = spellings(PASSWORD)[name]
    out = redact_text(f"before {spelled} after", [PASSWORD])
    assert REDACTED in out
    assert leaked_fragments(out, PASSWORD) == []
    assert out.startswith("before ") and out.endswith(" after")


def _plain_case(secret: str) -> bool:
    """Letter case that round-trips (not Turkish dotless i, not ß)."""
    return secret.upper().lower() == secret.lower() and len(secret.upper()) == len(secret)


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=8, max_size=24)
    .map(str.strip)
    .filter(lambda s: len(s) >= 8 and _plain_case(s))
)
def test_any_secret_in_any_spelling_is_redacted(secret: str) -> None:
    for name, spelled in spellings(secret).items():
        out = redact_text(f"before {spelled} after", [secret])
        assert leaked_fragments(out, secret) == [], (name, spelled, out)


def test_short_and_ordinary_text_is_left_alone() -> None:
    text = "probe api failed: HTTP 503 from https://api.example.com/health after 1.2 s"
    assert redact_text(text, [PASSWORD, "sntrys_abcdefgh"]) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "two words"}', '{"password": "[redacted]"}'),
        ('{"password": "ab\\"cd ef", "u": 1}', '{"password": "[redacted]", "u": 1}'),
        ("{'token': 'a b c', 'user': 'bob'}", "{'token': '[redacted]', 'user': 'bob'}"),
        ('token: "abc def", user: "bob"', 'token: "[redacted]", user: "bob"'),
        (
            "export SLACK_WEBHOOK=https://hooks.slack.com/services/T0/B0/zzzzzz",
            "export SLACK_WEBHOOK=[redacted]",
        ),
        (
            "posting to hooks.slack.com/services/T0/B0/zzzzzz failed",
            "posting to hooks.slack.com/services/[redacted] failed",
        ),
        ("token=[redacted] next", "token=[redacted] next"),
        ('"token": "[redacted]"', '"token": "[redacted]"'),
    ],
)
def test_pair_values_are_redacted_whole(text: str, expected: str) -> None:
    assert redact_text(text) == expected


# -- the log file --------------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        uninstall_log_redaction()


def config_with_password() -> Any:
    document = {
        "email": {
            "imap": {"host": "imap.example.com", "user": "support", "password": PASSWORD},
            "smtp": {"host": "smtp.example.com", "user": "support", "password": PASSWORD},
        },
        "telemetry": {"sentry_dsn": "http://publickey0123@127.0.0.1:9/1"},
    }
    return loads_config(yaml.safe_dump(document))


def test_debug_log_lines_hold_no_spelling_of_the_password(log_stream: io.StringIO) -> None:
    install_log_redaction(config_secrets(config_with_password()))
    log = logging.getLogger("opsconsole.hunt")
    for name, spelled in spellings(PASSWORD).items():
        log.debug("%s: sending %r", name, spelled)
        log.debug("%s: sending %s", name, spelled.encode())
    try:
        raise RuntimeError(f"login failed for {PASSWORD!r}")
    except RuntimeError:
        log.exception("imap")
    output = log_stream.getvalue()
    assert "auth-plain: sending" in output
    assert leaked_fragments(output, PASSWORD) == []


# -- Sentry ----------------------------------------------------------------------------------


class RecordingTransport(Transport):
    envelopes: ClassVar[list[Envelope]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        type(self).envelopes.append(envelope)


@pytest.fixture
def sentry() -> Iterator[type[RecordingTransport]]:
    shutdown_telemetry()
    RecordingTransport.envelopes.clear()
    yield RecordingTransport
    shutdown_telemetry()
    RecordingTransport.envelopes.clear()


def _crash_with_locals(secret: str) -> None:
    forms = spellings(secret)  # every spelling in one local (a dict)
    login_value = secret  # sentry-sdk sends repr(login_value): the backslash doubled
    as_json = json.dumps({"password_field": secret, "note": "x"})
    plain_auth = forms["auth-plain"]
    raise RuntimeError(f"smtp login failed ({len(login_value)}, {len(as_json)}, {len(plain_auth)})")


def test_sentry_event_locals_hold_no_spelling_of_the_password(
    sentry: type[RecordingTransport],
) -> None:
    assert init_telemetry(config_with_password(), env={}, transport=sentry)
    logging.getLogger("opsconsole.hunt").warning(
        "AUTH PLAIN %s", spellings(PASSWORD)["auth-plain"]
    )  # becomes a breadcrumb
    try:
        _crash_with_locals(PASSWORD)
    except RuntimeError as exc:
        assert capture_exception(exc)
    flush_telemetry()
    payload = b"".join(envelope.serialize() for envelope in sentry.envelopes)
    assert b"smtp login failed" in payload
    events = [
        json.loads(line)
        for line in payload.decode().splitlines()
        if line.startswith("{") and '"exception"' in line
    ]
    (event,) = events
    frame = next(
        f
        for f in event["exception"]["values"][0]["stacktrace"]["frames"]
        if f["function"] == "_crash_with_locals"
    )
    assert "login_value" in frame["vars"]  # the locals were sent, scrubbed
    text = json.dumps(event, ensure_ascii=False)
    assert leaked_fragments(text, PASSWORD) == []
    assert leaked_fragments(payload.decode(), PASSWORD) == []
