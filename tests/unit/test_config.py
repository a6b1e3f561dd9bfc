"""checks.yaml schema and loader: every mistake gives one exact, line-numbered message."""

from __future__ import annotations

import operator
import textwrap
from datetime import timedelta
from pathlib import Path

import pydantic
import pytest

from opsconsole.config.loader import ConfigError, find_config, load_config, loads_config
from opsconsole.config.schema import Config, ProbeConfig

REPO = Path(__file__).resolve().parents[2]


def load(text: str, env: dict[str, str] | None = None) -> Config:
    return loads_config(textwrap.dedent(text).lstrip("\n"), env=env or {})


def error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(text, env)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- the example config -------------------------------------------------------------------


def test_example_checks_yaml_loads() -> None:
    config = load_config(REPO / "checks.yaml", env={})
    assert config.service == "AI Governance API"
    assert config.uptime_target == 99.5
    assert str(config.tz) == "UTC"
    names = [p.name for p in config.probes]
    assert names == ["API health", "Dashboard", "API check endpoint"]
    api = config.probe("API health")
    assert api.kind == "http"
    assert api.target == "https://api.domain.com/health"
    assert [c.text for c in api.conditions] == [
        "[STATUS] == 200",
        "[RESPONSE_TIME] < 1000",
        "[BODY].status == ok",
        "[CERTIFICATE_EXPIRATION] > 168h",
    ]
    assert api.conditions[1].latency_only
    assert [c.text for c in config.probe("API check endpoint").conditions] == ["[STATUS] < 500"]


# -- happy paths ----------------------------------------------------------------------------


def test_minimal_http_probe_gets_defaults() -> None:
    config = load(
        """
        probes:
          - name: api
            url: https://example.com/health
        """
    )
    assert config.service == "Service"
    assert config.timezone == "UTC"
    assert config.retention == timedelta(days=90)
    assert config.max_concurrency == 20
    probe = config.probes[0]
    assert probe.method == "GET"
    assert probe.interval == timedelta(seconds=30)
    assert probe.timeout == timedelta(seconds=10)
    assert probe.failure_threshold == 3
    assert probe.success_threshold == 2
    assert probe.follow_redirects is True
    assert probe.max_redirects == 10
    assert probe.verify_tls is True
    assert [c.text for c in probe.conditions] == ["[STATUS] < 400"]
    assert dict(probe.headers) == {}


def test_tcp_probe_defaults_to_connected_condition() -> None:
    probe = load("probes: [{name: db, tcp: 'db.internal:5432'}]").probes[0]
    assert probe.kind == "tcp"
    assert probe.target == "db.internal:5432"
    assert [c.text for c in probe.conditions] == ["[CONNECTED] == true"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("3d", timedelta(days=3)),
        ("45", timedelta(seconds=45)),
    ],
)
def test_durations_parse(raw: str, expected: timedelta) -> None:
    assert load(f"retention: {raw}").retention == expected


def test_plain_int_duration_is_seconds() -> None:
    probe = load("probes: [{name: a, url: 'http://x', interval: 60, timeout: 5}]").probes[0]
    assert probe.interval == timedelta(seconds=60)
    assert probe.timeout == timedelta(seconds=5)


def test_short_interval_defaults_timeout_to_80_percent() -> None:
    probe = load("probes: [{name: a, url: 'http://x', interval: 5s}]").probes[0]
    assert probe.timeout == timedelta(seconds=4)


def test_defaults_block_applies_to_probes_that_omit_keys() -> None:
    config = load(
        """
        defaults: {interval: 1m, timeout: 20s, failure_threshold: 5}
        probes:
          - {name: a, url: 'http://x'}
          - {name: b, url: 'http://y', interval: 2m, failure_threshold: 1}
        """
    )
    a, b = config.probes
    assert (a.interval, a.timeout, a.failure_threshold) == (
        timedelta(minutes=1),
        timedelta(seconds=20),
        5,
    )
    assert (b.interval, b.timeout, b.failure_threshold) == (
        timedelta(minutes=2),
        timedelta(seconds=20),
        1,
    )


def test_method_is_uppercased_and_headers_are_a_frozen_mapping() -> None:
    probe = load(
        """
        probes:
          - name: a
            url: https://x
            method: post
            headers: {X-Team: ops, X-Num: 5}
            body: '{"q": 1}'
        """
    ).probes[0]
    assert probe.method == "POST"
    assert probe.headers == {"X-Team": "ops", "X-Num": "5"}
    assert probe.headers["X-Team"] == "ops"
    assert probe.body == '{"q": 1}'
    with pytest.raises(TypeError):
        operator.setitem(probe.headers, "X-Team", "x")


def test_env_substitution_with_default() -> None:
    config = load(
        """
        service: ${SERVICE_NAME}
        probes:
          - name: api
            url: https://${API_HOST:-api.example.com}/health
            headers:
              Authorization: Bearer ${API_TOKEN}
          - name: db
            tcp: ${DB_HOST:-localhost}:${DB_PORT:-5432}
        """,
        env={"SERVICE_NAME": "Acme", "API_TOKEN": "s3cr3t-t0ken", "DB_HOST": "pg"},
    )
    assert config.service == "Acme"
    assert config.probes[0].url == "https://api.example.com/health"
    assert config.probes[0].headers["Authorization"] == "Bearer s3cr3t-t0ken"
    assert config.probes[1].tcp == "pg:5432"
    assert "s3cr3t-t0ken" not in repr(config)


def test_dollar_dollar_escapes_a_literal_dollar() -> None:
    assert load("service: 'cost $${HOME}'", env={"HOME": "/root"}).service == "cost ${HOME}"


def test_config_objects_are_frozen() -> None:
    config = load("probes: [{name: a, url: 'http://x'}]")
    with pytest.raises(pydantic.ValidationError):
        config.__setattr__("service", "other")
    with pytest.raises(pydantic.ValidationError):
        config.probes[0].__setattr__("interval", timedelta(seconds=1))
    assert hash(config.probes[0]) == hash(config.probes[0])


def test_probe_config_can_be_built_in_code() -> None:
    probe = ProbeConfig(name="x", url="https://x", interval=timedelta(seconds=2))
    assert probe.timeout == timedelta(seconds=1.6)
    assert [c.text for c in probe.conditions] == ["[STATUS] < 400"]


# -- mistakes: one line each, exact text ------------------------------------------------------


def test_bad_duration() -> None:
    assert (
        error(
            """
            probes:
              - name: api
                url: https://x
                interval: fast
            """
        )
        == "checks.yaml:4: probes[0].interval: expected a duration like 5s, got 'fast'"
    )


def test_unknown_top_level_key_with_hint() -> None:
    assert (
        error("service: x\ntimezon: UTC\n")
        == "checks.yaml:2: timezon: unknown key (did you mean 'timezone'?)"
    )


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    assert error("pagerduty: {key: x}\n") == (
        "checks.yaml:1: pagerduty: unknown key (expected one of: service, timezone, "
        "uptime_target, retention, max_concurrency, defaults, probes, shift, sentry, "
        "prometheus, alertmanager, statuspage, telemetry, operator, team, sla, triage, "
        "runbooks, email, tickets, incident, checklists)"
    )


def test_unknown_nested_key_with_hint() -> None:
    assert (
        error(
            """
            probes:
              - name: api
                url: https://x
                timout: 5s
            """
        )
        == "checks.yaml:4: probes[0].timout: unknown key (did you mean 'timeout'?)"
    )


def test_unknown_key_in_defaults() -> None:
    assert (
        error("defaults:\n  intervl: 5s\n")
        == "checks.yaml:2: defaults.intervl: unknown key (did you mean 'interval'?)"
    )


def test_missing_name() -> None:
    assert (
        error(
            """
            probes:
              - name: a
                url: https://x
              - url: https://y
            """
        )
        == "checks.yaml:4: probes[1].name: required"
    )


def test_empty_name() -> None:
    assert error("probes: [{name: ' ', url: 'http://x'}]") == (
        "checks.yaml:1: probes[0].name: must not be empty"
    )


def test_both_url_and_tcp() -> None:
    assert (
        error(
            """
            probes:
              - name: a
                url: https://x
                tcp: x:443
            """
        )
        == "checks.yaml:4: probes[0].tcp: set either url or tcp, not both"
    )


def test_neither_url_nor_tcp() -> None:
    assert (
        error(
            """
            service: x
            probes:
              - name: a
            """
        )
        == "checks.yaml:3: probes[0]: needs a target: url (http/https) or tcp (host:port)"
    )


def test_bad_url_scheme() -> None:
    assert (
        error(
            """
            probes:
              - name: a
                url: ftp://files.example.com
            """
        )
        == "checks.yaml:3: probes[0].url: expected an http:// or https:// URL, "
        "got 'ftp://files.example.com'"
    )


@pytest.mark.parametrize("tcp", ["db:99999", "db:0", "db", ":5432", "db:pg"])
def test_bad_tcp_port(tcp: str) -> None:
    assert error(f"probes:\n  - name: db\n    tcp: '{tcp}'\n") == (
        f"checks.yaml:3: probes[0].tcp: expected host:port with a port from 1 to 65535, got '{tcp}'"
    )


def test_bad_method() -> None:
    assert error("probes:\n  - {name: a, url: 'http://x', method: FETCH}\n") == (
        "checks.yaml:2: probes[0].method: must be one of GET, HEAD, POST, PUT, PATCH, "
        "DELETE, OPTIONS, got 'FETCH'"
    )


def test_timeout_not_shorter_than_interval() -> None:
    assert (
        error(
            """
            probes:
              - {name: a, url: 'http://a'}
              - {name: b, url: 'http://b'}
              - name: c
                url: http://c
                interval: 30s
                timeout: 30s
            """
        )
        == "checks.yaml:7: probes[2].timeout: must be shorter than interval (30s)"
    )


def test_timeout_from_defaults_says_where_it_came_from() -> None:
    assert (
        error(
            """
            defaults: {timeout: 10s}
            probes:
              - name: fast
                url: http://x
                interval: 5s
            """
        )
        == "checks.yaml:3: probes[0].timeout: must be shorter than interval (5s) "
        "(value comes from defaults.timeout)"
    )


def test_timeout_not_shorter_than_interval_in_defaults() -> None:
    assert error("defaults:\n  interval: 5s\n  timeout: 1m\n") == (
        "checks.yaml:3: defaults.timeout: must be shorter than interval (5s)"
    )


def test_duplicate_probe_names() -> None:
    assert (
        error(
            """
            probes:
              - name: api
                url: http://a
              - name: api
                url: http://b
            """
        )
        == "checks.yaml:4: probes[1].name: duplicate probe name 'api' (already used by probes[0])"
    )


def test_bad_timezone() -> None:
    assert error("service: x\ntimezone: Mars/Olympus\n") == (
        "checks.yaml:2: timezone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name like 'UTC' or 'Europe/Paris')"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "must be greater than 0, got 0"),
        ("100.5", "must be at most 100, got 100.5"),
        ("abc", "expected a number, got 'abc'"),
    ],
)
def test_bad_uptime_target(value: str, reason: str) -> None:
    assert error(f"uptime_target: {value}\n") == f"checks.yaml:1: uptime_target: {reason}"


def test_bad_max_concurrency() -> None:
    assert error("max_concurrency: 0\n") == (
        "checks.yaml:1: max_concurrency: must be at least 1, got 0"
    )
    assert error("max_concurrency: lots\n") == (
        "checks.yaml:1: max_concurrency: expected a whole number, got 'lots'"
    )


def test_bad_threshold_and_bool() -> None:
    assert error("probes:\n  - {name: a, url: 'http://x', failure_threshold: 0}\n") == (
        "checks.yaml:2: probes[0].failure_threshold: must be at least 1, got 0"
    )
    assert error("probes:\n  - name: a\n    url: http://x\n    verify_tls: maybe\n") == (
        "checks.yaml:4: probes[0].verify_tls: expected true or false, got 'maybe'"
    )


def test_unset_env_var_names_the_key_and_leaks_no_secret() -> None:
    message = error(
        """
        service: ${SERVICE_NAME}
        probes:
          - name: api
            url: https://api.example.com
            headers:
              X-Other: ${OTHER_SECRET}
              Authorization: Bearer ${API_TOKEN}
        """,
        env={"SERVICE_NAME": "svc-hunter2", "OTHER_SECRET": "hunter2-other"},
    )
    assert message == (
        "checks.yaml:7: probes[0].headers.Authorization: environment variable API_TOKEN is not set"
    )
    assert "hunter2" not in message


def test_substituted_value_never_leaks_into_a_validation_error() -> None:
    message = error(
        """
        probes:
          - name: api
            url: ${API_URL}
        """,
        env={"API_URL": "ftp://user:hunter2@files.example.com"},
    )
    assert message == (
        "checks.yaml:3: probes[0].url: expected an http:// or https:// URL, got '${API_URL}'"
    )
    assert "hunter2" not in message


def test_substituted_secret_scrubbed_from_model_level_errors() -> None:
    message = error(
        """
        probes:
          - name: ${PROBE_NAME}
            url: https://x
          - name: ${PROBE_NAME}
            url: https://y
        """,
        env={"PROBE_NAME": "hunter2-name"},
    )
    assert "hunter2" not in message
    assert message == (
        "checks.yaml:4: probes[1].name: duplicate probe name '${PROBE_NAME}' "
        "(already used by probes[0])"
    )


def test_malformed_condition_points_at_its_list_item() -> None:
    message = error(
        """
        probes:
          - name: api
            url: https://x
            conditions:
              - "[STATUS] < 500"
              - "[STATUS] = 200"
        """
    )
    assert message == (
        "checks.yaml:6: probes[0].conditions[1]: invalid condition '[STATUS] = 200': "
        "missing comparison operator"
    )


def test_http_only_condition_on_tcp_probe() -> None:
    assert (
        error(
            """
            probes:
              - name: db
                tcp: db:5432
                conditions:
                  - "[CONNECTED] == true"
                  - "[STATUS] == 200"
            """
        )
        == "checks.yaml:6: probes[0].conditions[1]: [STATUS] is only available on http probes"
    )


def test_empty_conditions_list() -> None:
    assert error("probes:\n  - name: a\n    url: http://x\n    conditions: []\n") == (
        "checks.yaml:4: probes[0].conditions: must list at least one condition"
    )


def test_yaml_syntax_error_has_line() -> None:
    message = error(
        """
        service: x
        probes:
          - name: a
            url: "http://x
        timezone: UTC
        """
    )
    assert message.startswith("checks.yaml:6: invalid YAML: ")


def test_unquoted_condition_gets_a_hint() -> None:
    message = error(
        """
        probes:
          - name: a
            url: http://x
            conditions:
              - [STATUS] == 200
        """
    )
    assert message.startswith("checks.yaml:5: invalid YAML: ")
    assert message.endswith('(quote conditions: - "[STATUS] == 200")')


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert error(text) == (
        "checks.yaml:1: empty config: expected a mapping with at least 'probes:'"
    )


def test_non_mapping_top_level() -> None:
    assert error("- name: a\n  url: http://x\n") == (
        "checks.yaml:1: expected a mapping of keys (service:, probes:, ...) at the top level, "
        "got a list"
    )
    assert error("just text\n") == (
        "checks.yaml:1: expected a mapping of keys (service:, probes:, ...) at the top level, "
        "got a single value"
    )


def test_duplicate_keys() -> None:
    assert (
        error(
            """
            probes:
              - name: a
                url: http://x
                interval: 10s
                url: http://y
            """
        )
        == "checks.yaml:5: probes[0].url: duplicate key (first defined on line 3)"
    )


def test_list_where_mapping_expected() -> None:
    assert error("defaults:\n  - 30s\n") == (
        "checks.yaml:1: defaults: expected a mapping (key: value), got a list"
    )
    assert error("probes:\n  - name: a\n    url: http://x\n    headers: [X-A]\n") == (
        "checks.yaml:4: probes[0].headers: expected a mapping (key: value), got a list"
    )


def test_mapping_where_list_expected() -> None:
    assert error("probes:\n  name: a\n  url: http://x\n") == (
        "checks.yaml:1: probes: expected a list, got a mapping"
    )


def test_probe_that_is_not_a_mapping() -> None:
    assert error("probes:\n  - api\n") == (
        "checks.yaml:2: probes[0]: expected a mapping (key: value), got 'api'"
    )


def test_bad_header_value() -> None:
    message = error(
        'probes:\n  - name: a\n    url: http://x\n    headers:\n      X-A: "a\\r\\nInjected: 1"\n'
    )
    assert message == (
        "checks.yaml:5: probes[0].headers.X-A: header value must not contain a line break"
    )


# -- files -------------------------------------------------------------------------------


def test_load_config_reports_path_of_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(info.value) == f"{missing}: cannot read: No such file or directory"


def test_load_config_uses_path_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text("service: x\nmax_concurrency: 900\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == f"{path}:2: max_concurrency: must be at most 500, got 900"
    assert info.value.line == 2
    assert info.value.key == "max_concurrency"


def test_find_config_search_order(tmp_path: Path) -> None:
    cwd = tmp_path / "project"
    xdg = tmp_path / "xdg"
    home = tmp_path / "home"
    for d in (cwd, xdg / "opsconsole", home / ".config" / "opsconsole"):
        d.mkdir(parents=True)
    env = {"XDG_CONFIG_HOME": str(xdg), "HOME": str(home)}

    explicit = tmp_path / "mine.yaml"
    explicit.write_text("service: x\n")
    (cwd / "checks.yaml").write_text("service: x\n")
    (xdg / "opsconsole" / "checks.yaml").write_text("service: x\n")
    (home / ".config" / "opsconsole" / "checks.yaml").write_text("service: x\n")

    assert find_config(explicit, cwd=cwd, env=env) == explicit
    assert find_config(None, cwd=cwd, env=env) == cwd / "checks.yaml"
    (cwd / "checks.yaml").unlink()
    assert find_config(None, cwd=cwd, env=env) == xdg / "opsconsole" / "checks.yaml"
    assert find_config(None, cwd=cwd, env={"HOME": str(home)}) == (
        home / ".config" / "opsconsole" / "checks.yaml"
    )
    (xdg / "opsconsole" / "checks.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        find_config(None, cwd=cwd, env=env)
    assert str(info.value) == (
        f"no checks.yaml found (looked in: {cwd / 'checks.yaml'}, "
        f"{xdg / 'opsconsole' / 'checks.yaml'}); pass --config PATH, start from the "
        "repository's checks.yaml, or try 'opsconsole demo'"
    )


def test_find_config_explicit_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path / "gone.yaml", cwd=tmp_path, env={})
    assert str(info.value) == f"{tmp_path / 'gone.yaml'}: config file not found"
