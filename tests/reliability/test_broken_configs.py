"""A corpus of broken ``checks.yaml`` files (issue 7 item 4): each one is refused with one
line naming the file and the line (``<file>:<line>: …``) and exit code 2, never a traceback.

Every case runs through :func:`load_config` in-process (fast); a sample of them, chosen to
cover YAML, environment and validation failures, also runs through the real
``opsconsole config validate PATH`` in parallel subprocesses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole.config.loader import ConfigError, load_config

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")

PROBE = "probes:\n  - name: api\n    url: https://api.example.com/health\n"

# (id, file text, expected line or None for a whole-file problem, text the message names)
CASES: list[tuple[str, str | bytes, int | None, str]] = [
    # -- YAML syntax --------------------------------------------------------------------
    ("unclosed-flow-list", "service: x\nprobes: [\n", 3, "invalid YAML"),
    ("mapping-in-scalar", "service: x\n  probes: y\n", 2, "invalid YAML"),
    ("tab-indent", "probes:\n\t- name: api\n", 2, "tabs"),
    ("unquoted-condition", PROBE + "    conditions:\n      - [STATUS] == 200\n", 5, "quote"),
    ("unclosed-quote", 'service: "on call\nprobes: []\n', 3, "end of stream"),
    ("bad-anchor", "service: *nope\n", 1, "invalid YAML"),
    ("recursive-alias", "service: x\nteam: &a [*a]\n", None, "recursive"),
    ("empty-file", "", 1, "empty config"),
    ("only-comments", "# nothing here\n", 1, "empty config"),
    ("top-level-list", "- a\n- b\n", 1, "at the top level"),
    ("top-level-scalar", "hello\n", 1, "at the top level"),
    ("not-utf8", b"service: caf\xe9\n", None, "not UTF-8"),
    ("key-is-a-list", "[a, b]: 1\n", 1, "plain name"),
    ("bad-merge", "defaults:\n  <<: 5\n", 1, "'<<'"),
    # -- duplicate keys -----------------------------------------------------------------
    ("duplicate-top-key", "service: a\nservice: b\n", 2, "duplicate key"),
    ("duplicate-probe-key", PROBE + "    url: https://b.example.com/\n", 4, "duplicate key"),
    ("duplicate-sentry-key", "sentry:\n  org: a\n  org: b\n", 3, "duplicate key"),
    # -- unknown keys at every level ----------------------------------------------------
    ("unknown-top", "servce: x\n", 1, "did you mean 'service'"),
    ("unknown-probe", "probes:\n  - name: api\n    urll: https://x.example/\n", 3, "unknown key"),
    ("unknown-defaults", "defaults:\n  intervall: 1m\n", 2, "unknown key"),
    (
        "unknown-sentry",
        "sentry:\n  org: a\n  projects: [api]\n  token: t0ken-x\n  projcts: [b]\n",
        5,
        "unknown key",
    ),
    ("unknown-prometheus", "prometheus:\n  url: http://p:9090\n  querys: []\n", 3, "unknown key"),
    ("unknown-sla", "sla:\n  shedule: business\n", 2, "unknown key"),
    ("unknown-sla-target", "sla:\n  targets:\n    urgent: {response: 1h}\n", 3, "unknown key"),
    ("unknown-email", "email:\n  imapp: {}\n", 2, "unknown key"),
    ("unknown-incident", "incident:\n  update_evry: 15m\n", 2, "unknown key"),
    (
        "unknown-slack",
        "incident:\n  slack:\n"
        "    webhook: ${OPSCONSOLE_TEST_HOOK:-https://hooks.slack.com/services/T/B/x}\n"
        "    hook: x\n",
        4,
        "unknown key",
    ),
    ("unknown-checklists", "checklists:\n  dayly: []\n", 2, "unknown key"),
    ("unknown-telemetry", "telemetry:\n  dsn: x\n", 2, "unknown key"),
    # -- wrong types --------------------------------------------------------------------
    ("probes-not-list", "probes: 5\n", 1, "expected a list"),
    ("probe-is-string", "probes:\n  - api\n", 2, "expected a mapping"),
    ("service-is-mapping", "service: {a: 1}\n", 1, "expected text"),
    ("max-concurrency-text", "max_concurrency: many\n", 1, "whole number"),
    ("verify-tls-text", PROBE + "    verify_tls: maybe\n", 4, "true or false"),
    ("team-not-list", "team: 5\n", 1, "team"),
    # -- probes -------------------------------------------------------------------------
    ("probe-name-missing", "probes:\n  - url: https://x.example/\n", 2, "name"),
    ("probe-name-blank", "probes:\n  - name: '  '\n    url: https://x.example/\n", 2, "empty"),
    ("bad-url-scheme", "probes:\n  - name: a\n    url: ftp://x.example/\n", 3, "http"),
    ("bad-url-nohost", "probes:\n  - name: a\n    url: 'https://'\n", 3, "http"),
    ("url-and-tcp", PROBE + "    tcp: db:5432\n", 4, "not both"),
    ("no-target", "probes:\n  - name: a\n", 2, "needs a target"),
    ("tcp-port-too-big", "probes:\n  - name: db\n    tcp: db:70000\n", 3, "port"),
    ("tcp-port-zero", "probes:\n  - name: db\n    tcp: 'db:0'\n", 3, "port"),
    ("bad-duration", PROBE + "    interval: fast\n", 4, "duration"),
    ("negative-duration", PROBE + "    interval: -5s\n", 4, "interval"),
    ("timeout-ge-interval", PROBE + "    interval: 10s\n    timeout: 10s\n", 5, "shorter"),
    ("defaults-timeout", "defaults:\n  interval: 5s\n  timeout: 1m\n", 3, "shorter"),
    ("bad-condition", PROBE + "    conditions:\n      - '[STATUS] === 200'\n", 5, "condition"),
    (
        "http-only-condition-on-tcp",
        "probes:\n  - name: db\n    tcp: db:5432\n    conditions:\n      - '[BODY] == ok'\n",
        5,
        "only available on http",
    ),
    ("empty-conditions", PROBE + "    conditions: []\n", 4, "at least one"),
    ("bad-method", PROBE + "    method: FETCH\n", 4, "method"),
    ("bad-header-name", PROBE + "    headers:\n      'X Bad': 1\n", 5, "header"),
    ("zero-threshold", PROBE + "    failure_threshold: 0\n", 4, "at least 1"),
    ("too-many-redirects", PROBE + "    max_redirects: 100\n", 4, "at most 50"),
    (
        "duplicate-probe-names",
        PROBE + "  - name: api\n    url: https://b.example/\n",
        4,
        "duplicate probe name",
    ),
    # -- top-level values ---------------------------------------------------------------
    ("uptime-too-high", "uptime_target: 150\n", 1, "at most 100"),
    ("negative-retention", "retention: -1d\n", 1, "retention"),
    ("bad-timezone", "timezone: Mars/Olympus_Mons\n", 1, "timezone"),
    ("bad-shift-start", "shift:\n  starts: ['25:99']\n", 2, "09:00"),
    ("bad-operator-email", "operator:\n  email: not-an-address\n", 2, "email"),
    # -- environment references ---------------------------------------------------------
    (
        "unset-env",
        "sentry:\n  org: a\n  projects: [api]\n  token: ${OPSCONSOLE_TEST_UNSET_VAR}\n",
        4,
        "is not set",
    ),
    ("bad-env-name", "service: ${1BAD}\n", 1, "invalid environment reference"),
    ("unterminated-env", "service: ${SERVICE\n", 1, "unterminated"),
    # -- sources ------------------------------------------------------------------------
    ("sentry-no-token", "sentry:\n  org: a\n  projects: [api]\n", 1, "sentry.token: required"),
    ("sentry-no-projects", "sentry:\n  org: a\n  projects: []\n  token: t0ken\n", 3, "projects"),
    (
        "sentry-top-too-big",
        "sentry:\n  org: a\n  projects: [a]\n  token: t\n  top: 500\n",
        5,
        "100",
    ),
    (
        "sentry-bad-url",
        "sentry:\n  base_url: sentry\n  org: a\n  projects: [a]\n  token: t\n",
        2,
        "url",
    ),
    ("prometheus-neither", "prometheus:\n  interval: 15s\n", 1, "exactly one"),
    ("alertmanager-no-url", "alertmanager:\n  interval: 30s\n", 1, "url: required"),
    (
        "statuspage-too-often",
        "statuspage:\n  url: https://s.example/\n  interval: 5s\n",
        3,
        "interval",
    ),
    # -- tickets, SLA, email, incident, checklists --------------------------------------
    (
        "imap-port-zero",
        "email:\n  imap:\n    host: h\n    port: 0\n    user: u\n    password: p\n",
        4,
        "at least 1",
    ),
    ("smtp-port-text", "email:\n  smtp:\n    host: h\n    port: abc\n", 4, "whole number"),
    ("imap-no-password", "email:\n  imap:\n    host: h\n    user: u\n", 2, "password: required"),
    ("email-tiny-max", "email:\n  max_message_bytes: 10\n", 2, "at least 1024"),
    ("bad-holiday-date", "sla:\n  holidays: [2025-02-30]\n", 2, "2025-02-30"),
    ("at-risk-too-big", "sla:\n  at_risk: 1.5\n", 2, "less than 1"),
    ("bad-schedule", "sla:\n  schedule: weekly\n", 2, "must be one of"),
    ("bad-business-hours", "sla:\n  business_hours:\n    start: '25:00'\n", 3, "start"),
    ("bad-sla-duration", "sla:\n  targets:\n    high: {response: soon}\n", 3, "duration"),
    (
        "bad-triage-regex",
        "triage:\n  rules:\n    - name: r\n      patterns: ['(unclosed']\n",
        4,
        "pattern",
    ),
    (
        "bad-triage-severity",
        "triage:\n  rules:\n    - name: r\n      patterns: [x]\n      severity: huge\n",
        5,
        "severity",
    ),
    (
        "bad-runbook-regex",
        "runbooks:\n  custom:\n    - key: k\n      title: t\n      patterns: ['[z-a]']\n",
        5,
        "pattern",
    ),
    ("bad-update-every", "incident:\n  update_every: soon\n", 2, "duration"),
    ("bad-slack-webhook", "incident:\n  slack:\n    webhook: not-a-url\n", 3, "webhook"),
    ("bad-checklist-auto", "checklists:\n  daily:\n    - {text: x, auto: telepathy}\n", 3, "auto"),
    ("bad-checklist-day", "checklists:\n  weekly: {on: someday}\n", 2, "someday"),
    ("bad-ticket-first-number", "tickets:\n  first_number: -5\n", 2, "at least 1"),
    # -- values YAML can write that break arithmetic or the terminal --------------------
    ("infinite-interval", "defaults:\n  interval: .inf\n", 2, "at most 36500d"),
    ("nan-interval", PROBE + "    interval: .nan\n", 4, "duration"),
    ("huge-number-interval", "defaults:\n  timeout: 1000000000000000000000\n", 2, "at most"),
    ("huge-duration-text", "retention: 99999999999d\n", 1, "at most 36500d"),
    ("zone-name-too-long", "timezone: " + "x" * 5000 + "\n", 1, "unknown time zone"),
    (
        "nan-metric-threshold",
        "prometheus:\n  url: http://p:9090\n  queries:\n    - {name: q, query: up, warn: .nan}\n",
        4,
        "finite",
    ),
    ("long-value-is-cut", "probes:\n  - name: a\n    url: ftp://" + "x" * 5000 + "\n", 3, "…"),
    ("escape-in-key", 'probes:\n  - name: a\n    "\\e[2Jurl": x\n', 3, "\\x1b[2Jurl"),
]

IDS = [case[0] for case in CASES]
assert len(set(IDS)) == len(IDS) >= 40
assert len({case[1] for case in CASES}) == len(CASES), "every file is distinct"

# Run through the real CLI too: YAML, whole-file, environment and validation errors.
CLI_SAMPLE = [
    "unclosed-flow-list",
    "tab-indent",
    "empty-file",
    "not-utf8",
    "duplicate-top-key",
    "unknown-sentry",
    "timeout-ge-interval",
    "unset-env",
    "bad-triage-regex",
    "recursive-alias",
    "infinite-interval",
    "escape-in-key",
]


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / f"{name}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _check_line(message: str, path: Path, line: int | None, needle: str) -> None:
    assert "\n" not in message.strip(), message
    assert "Traceback" not in message
    assert message.isprintable(), message  # no escape sequence reaches the terminal
    assert len(message) <= len(str(path)) + 450, message  # long values are cut
    if line is None:  # a whole-file problem: the line is optional
        assert re.match(rf"^{re.escape(str(path))}(:\d+)?: ", message), message
    else:
        assert message.startswith(f"{path}:{line}: "), message
    assert needle.lower() in message.lower(), message


@pytest.mark.parametrize(("name", "text", "line", "needle"), CASES, ids=IDS)
def test_broken_config_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str | bytes, line, needle
) -> None:
    monkeypatch.delenv("OPSCONSOLE_TEST_UNSET_VAR", raising=False)
    path = _write(tmp_path, name, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    _check_line(str(caught.value), path, line, needle)


def test_broken_configs_through_the_cli(tmp_path: Path) -> None:
    """``opsconsole config validate PATH``: one stderr line, exit 2, in parallel."""
    cases = {case[0]: case for case in CASES}
    env = {k: v for k, v in os.environ.items() if k != "OPSCONSOLE_TEST_UNSET_VAR"}
    running = []
    for name in CLI_SAMPLE:
        _, text, line, needle = cases[name]
        path = _write(tmp_path, name, text)
        proc = subprocess.Popen(
            [str(OPSCONSOLE), "config", "validate", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        running.append((name, path, line, needle, proc))
    for name, path, line, needle, proc in running:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (name, out, err)
        assert out == "", (name, out)
        lines = err.splitlines()
        assert len(lines) == 1, (name, err)
        prefix = "opsconsole: "  # the CLI's own prefix on every error line
        assert lines[0].startswith(prefix), (name, err)
        _check_line(lines[0][len(prefix) :], path, line, needle)
