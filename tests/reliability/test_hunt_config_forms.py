"""checks.yaml written the way real configs are written: anchors kept under ``x-`` keys,
numbers that are really text, Gatus's ``tcp://`` URLs, alias bombs and bad URLs.

Each broken form is refused at load time with one line naming the file and line (exit 2
through the CLI), instead of loading and failing with a confusing probe error later.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opsconsole.config.loader import ConfigError, load_config, loads_config
from opsconsole.config.schema import Config

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def load(text: str, env: dict[str, str] | None = None) -> Config:
    return loads_config(textwrap.dedent(text).lstrip("\n"), env=env or {})


def error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(text, env)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- numbers that are text ----------------------------------------------------------------


def test_text_fields_keep_numbers_as_written() -> None:
    """YAML 1.1 reads 0012 as octal 10 and 1.10 as 1.1: a header must still send 0012."""
    config = load(
        """
        service: 0012
        probes:
          - name: 1.10
            group: 2.0.1
            url: http://api.example.com/health
            body: 0x1F
            headers:
              X-Tenant-Id: 0012345
              Accept-Version: 1.10
              X-Limit: 1_000
              X-Exp: 1e3
              X-Plain: 12
        """
    )
    probe = config.probes[0]
    assert config.service == "0012"
    assert probe.name == "1.10"
    assert probe.group == "2.0.1"
    assert probe.body == "0x1F"
    assert dict(probe.headers) == {
        "X-Tenant-Id": "0012345",
        "Accept-Version": "1.10",
        "X-Limit": "1_000",
        "X-Exp": "1e3",
        "X-Plain": "12",
    }


def test_number_fields_still_read_yaml_numbers() -> None:
    config = load(
        """
        uptime_target: 99.50
        max_concurrency: 010
        probes:
          - {name: a, url: "http://x.example/", interval: 1.50, failure_threshold: 0x3}
        """
    )
    assert config.uptime_target == 99.5 and type(config.uptime_target) is float
    assert config.max_concurrency == 8 and type(config.max_concurrency) is int
    probe = config.probes[0]
    assert probe.interval.total_seconds() == 1.5
    assert probe.failure_threshold == 3 and type(probe.failure_threshold) is int


def test_probe_names_that_differ_only_as_text_are_not_duplicates() -> None:
    config = load(
        """
        probes:
          - {name: 1.1, url: "http://a.example/"}
          - {name: 1.10, url: "http://b.example/"}
        """
    )
    assert [p.name for p in config.probes] == ["1.1", "1.10"]


def test_text_fields_keep_yaml_1_1_boolean_words_as_written() -> None:
    """``X-Debug: on`` is the text "on" (YAML 1.1 would read True and refuse it)."""
    config = load(
        """
        service: yes
        probes:
          - name: on
            group: NO
            url: http://x.example/
            follow_redirects: off
            verify_tls: yes
            headers:
              X-Debug: on
              X-Flag: true
              X-Off: Off
        """
    )
    probe = config.probes[0]
    assert (config.service, probe.name, probe.group) == ("yes", "on", "NO")
    assert dict(probe.headers) == {"X-Debug": "on", "X-Flag": "true", "X-Off": "Off"}
    assert probe.follow_redirects is False and probe.verify_tls is True


def test_a_boolean_word_where_a_list_is_expected_is_still_an_error() -> None:
    assert error("probes:\n  - name: a\n    url: http://x.example/\n    conditions: yes\n") == (
        "checks.yaml:4: probes[0].conditions: expected a list, got true"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("probes:\n  - name: a\n    url:\thttp://x.example/\n", 3),
        ("probes:\n  - name: a\t# the API\n    url: http://x.example/\n", 2),
    ],
)
def test_a_tab_inside_a_line_gets_the_tab_hint(text: str, line: int) -> None:
    assert error(text) == (
        f"checks.yaml:{line}: invalid YAML: found character '\\t' that cannot start any "
        "token (use spaces, not tabs)"
    )


# -- anchors ------------------------------------------------------------------------------


def test_x_keys_hold_anchors_for_merge_keys() -> None:
    config = load(
        """
        x-http: &http
          interval: 1m
          timeout: 5s
          headers:
            Accept: application/json
          conditions:
            - "[STATUS] == 200"
            - "[RESPONSE_TIME] < 800"
        probes:
          - <<: *http
            name: api
            url: http://api.example.com/health
          - <<: *http
            name: web
            url: http://www.example.com/
            conditions: ["[STATUS] == 204"]
        """
    )
    api, web = config.probes
    assert api.interval.total_seconds() == 60 and api.timeout.total_seconds() == 5
    assert dict(api.headers) == {"Accept": "application/json"}
    assert [c.text for c in api.conditions] == ["[STATUS] == 200", "[RESPONSE_TIME] < 800"]
    assert [c.text for c in web.conditions] == ["[STATUS] == 204"]
    assert dict(web.headers) == {"Accept": "application/json"}


def test_a_mistake_inside_an_x_anchor_is_reported_where_it_is_written() -> None:
    message = error(
        """
        x-defaults: &d
          timeout: fast
        probes:
          - <<: *d
            name: a
            url: http://x.example/
        """
    )
    assert message == "checks.yaml:2: probes[0].timeout: expected a duration like 5s, got 'fast'"


@pytest.mark.parametrize("holder", ["x-defaults", "defaults"])
def test_a_key_written_before_the_merge_is_reported_on_its_own_line(holder: str) -> None:
    """``timeout: fast`` overrides the merged ``timeout: 5s``: line 6, not the anchor's 2."""
    message = error(
        f"""
        {holder}: &d
          timeout: 5s
        probes:
          - name: a
            url: http://x.example/
            timeout: fast
            <<: *d
        """
    )
    assert message == "checks.yaml:6: probes[0].timeout: expected a duration like 5s, got 'fast'"


def test_a_merged_list_item_error_points_into_the_probe_that_overrides_it() -> None:
    message = error(
        """
        x-http: &http
          conditions: ["[STATUS] == 200", "[STATUS] == 201"]
        probes:
          - name: a
            url: http://x.example/
            conditions: ["[STATUS] = 200"]
            <<: *http
        """
    )
    assert message.startswith("checks.yaml:6: probes[0].conditions[0]: invalid condition")


def test_other_unknown_top_level_keys_are_still_refused() -> None:
    assert error("xdefaults: 1\n") == (
        "checks.yaml:1: xdefaults: unknown key (did you mean 'defaults'?)"
    )


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """Nine levels of ten aliases are 10**9 values: refused in a moment, not built."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "checks.yaml"
    path.write_text("\n".join([*lines, "probes: []"]) + "\n")
    start = time.perf_counter()
    done = subprocess.run(
        [str(OPSCONSOLE), "config", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.perf_counter() - start < 15
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(
        rf"opsconsole: {re.escape(str(path))}:\d: a\d: more than 200,000 values once "
        r"aliases are expanded \(aliases nested too deep\?\)",
        done.stderr.strip(),
    ), done.stderr


# -- URLs and TCP targets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/health",
        "http://127.0.0.1:abc/health",
        "http://127.0.0.1:0/health",
        "http://api.example.com:80:90/health",
    ],
)
def test_url_with_a_bad_port_is_a_config_error(url: str) -> None:
    message = error(f"probes:\n  - name: a\n    url: '{url}'\n")
    assert message == (
        "checks.yaml:3: probes[0].url: expected an http:// or https:// URL with a port "
        f"from 1 to 65535, got '{url}'"
    )


def test_url_with_a_space_in_the_host_is_a_config_error() -> None:
    message = error("probes:\n  - name: a\n    url: 'http://api .example.com/health'\n")
    assert message.startswith("checks.yaml:3: probes[0].url: expected an http:// or https:// URL")
    assert "spaces" in message


def test_url_with_a_space_in_the_path_is_accepted() -> None:
    config = load("probes:\n  - name: a\n    url: 'http://api.example.com/my page'\n")
    assert config.probes[0].url == "http://api.example.com/my page"


def test_bad_url_error_hides_credentials_and_query() -> None:
    message = error(
        "probes:\n  - name: a\n    url: 'https://alice:hunter2@api.example.com:99999/x?token=s3cr3t'\n"
    )
    assert "hunter2" not in message and "alice" not in message and "s3cr3t" not in message
    assert "'https://***@api.example.com:99999/x?***'" in message


@pytest.mark.parametrize("key", ["url", "tcp"])
def test_gatus_tcp_url_is_a_tcp_probe(key: str) -> None:
    probe = load(f"probes:\n  - name: redis\n    {key}: tcp://redis.internal:6379\n").probes[0]
    assert probe.kind == "tcp"
    assert probe.tcp == "redis.internal:6379"
    assert probe.url is None
    assert [c.text for c in probe.conditions] == ["[CONNECTED] == true"]


def test_http_url_under_tcp_is_a_config_error() -> None:
    message = error("probes:\n  - name: a\n    tcp: http://api.example.com:80\n")
    assert message == (
        "checks.yaml:3: probes[0].tcp: expected host:port (an http(s) URL goes under url:), "
        "got 'http://api.example.com:80'"
    )


@pytest.mark.parametrize("target", ["db host:5432", "db:\u0665\u0664\u0663\u0662"])
def test_tcp_target_with_a_space_or_non_ascii_port_is_a_config_error(target: str) -> None:
    message = error(f"probes:\n  - name: a\n    tcp: '{target}'\n")
    assert message == (
        "checks.yaml:3: probes[0].tcp: expected host:port with a port from 1 to 65535, "
        f"got '{target}'"
    )


@pytest.mark.parametrize("target", ["::1", "::1:5432", "fe80::1"])
def test_unbracketed_ipv6_tcp_target_is_a_config_error(target: str) -> None:
    """``::1`` used to load as host ``:`` port 1 and fail later as a DNS error."""
    message = error(f"probes:\n  - name: a\n    tcp: '{target}'\n")
    assert message == (
        "checks.yaml:3: probes[0].tcp: expected host:port with an IPv6 address in brackets, "
        f"like [::1]:5432, got '{target}'"
    )


def test_bracketed_ipv6_tcp_target_loads() -> None:
    probe = load("probes:\n  - name: a\n    tcp: '[::1]:5432'\n").probes[0]
    assert probe.tcp == "[::1]:5432"


def test_lowercase_http_placeholder_on_a_tcp_probe_is_a_config_error() -> None:
    message = error('probes:\n  - name: a\n    tcp: db:5432\n    conditions: ["[status] == 200"]\n')
    assert message == (
        "checks.yaml:4: probes[0].conditions[0]: [STATUS] is only available on http probes"
    )


@pytest.mark.parametrize(
    "condition", ["STATUS == 200", "[BODY.status] == UP", "\u201c[STATUS] == 200\u201d", "1 == 1"]
)
def test_condition_without_a_placeholder_is_a_config_error(condition: str) -> None:
    """A typo'd placeholder made a condition compare two fixed texts: never true, or always."""
    message = error(
        f"probes:\n  - name: a\n    url: http://x.example/\n    conditions:\n"
        f"      - '{condition}'\n"
    )
    assert message == (
        f"checks.yaml:5: probes[0].conditions[0]: invalid condition {condition!r}: no "
        "placeholder, so nothing is checked (write [STATUS], [BODY].field, [RESPONSE_TIME], "
        "[CONNECTED], ...)"
    )


# -- headers ------------------------------------------------------------------------------


def test_header_values_are_trimmed() -> None:
    probe = load(
        """
        probes:
          - name: a
            url: http://x.example/
            headers:
              Authorization: "Bearer ${TOKEN:-}"
              X-Pad: "  padded  "
        """
    ).probes[0]
    assert dict(probe.headers) == {"Authorization": "Bearer", "X-Pad": "padded"}


# -- through the CLI ----------------------------------------------------------------------


def test_cli_refuses_a_bad_port_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text("probes:\n  - name: a\n    url: http://127.0.0.1:99999/\n")
    for command in (["config", "validate", str(path)], ["--config", str(path), "check"]):
        done = subprocess.run(
            [str(OPSCONSOLE), *command], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.strip() == (
            f"opsconsole: {path}:3: probes[0].url: expected an http:// or https:// URL "
            "with a port from 1 to 65535, got 'http://127.0.0.1:99999/'"
        )
        assert "Traceback" not in done.stderr


# -- pydantic's own wording never reaches the operator ------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('operator: {name: ""}\n', "checks.yaml:1: operator.name: must not be empty"),
        (
            'sentry:\n  org: ""\n  projects: [api]\n  token: t\n',
            "checks.yaml:2: sentry.org: must not be empty",
        ),
        (
            "sentry:\n  org: a\n  projects: []\n  token: t\n",
            "checks.yaml:3: sentry.projects: must list at least one item",
        ),
    ],
)
def test_empty_required_text_or_list_reads_plainly(text: str, expected: str) -> None:
    assert error(text) == expected


# -- probe credentials written literally in a readable file -------------------------------


def _warnings(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "checks.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    path.chmod(0o644)
    found: list[str] = []
    load_config(path, env=env or {}, warnings=found)
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_literal_probe_credentials_in_a_readable_file_are_warned_about(tmp_path: Path) -> None:
    (warning,) = _warnings(
        tmp_path,
        """
        probes:
          - name: api
            url: https://alice:hunter2@api.example.com/health
            headers:
              Authorization: Bearer literal-token
              Accept: application/json
          - name: web
            url: https://www.example.com/health?api_key=abc123
        """,
    )
    assert "(probes[0].headers.Authorization, probes[0].url, probes[1].url)" in warning
    for secret in ("hunter2", "literal-token", "abc123", "alice"):
        assert secret not in warning


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_literal_header_overriding_a_merged_env_reference_is_warned_about(
    tmp_path: Path,
) -> None:
    (warning,) = _warnings(
        tmp_path,
        """
        x-auth: &auth
          headers:
            Authorization: Bearer ${API_TOKEN}
        probes:
          - name: api
            url: https://api.example.com/health
            headers:
              Authorization: Bearer literal-token
            <<: *auth
          - <<: *auth
            name: web
            url: https://www.example.com/health
        """,
        env={"API_TOKEN": "tok-123"},
    )
    assert "(probes[0].headers.Authorization)" in warning


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_probe_credentials_from_env_references_are_not_warned_about(tmp_path: Path) -> None:
    assert (
        _warnings(
            tmp_path,
            """
            probes:
              - name: api
                url: https://${API_USERINFO}@api.example.com/health?page=2
                headers:
                  Authorization: Bearer ${API_TOKEN}
                  X-Api-Key: ${API_KEY:-}
                  Accept: application/json
            """,
            env={"API_USERINFO": "alice:hunter2", "API_TOKEN": "tok-123"},
        )
        == []
    )


# -- a Gatus config pasted in --------------------------------------------------------------


def test_gatus_endpoints_key_points_at_probes() -> None:
    assert error("endpoints:\n  - name: a\n    url: http://x.example/\n") == (
        "checks.yaml:1: endpoints: unknown key (did you mean 'probes'?)"
    )


def test_gatus_client_key_points_at_timeout_and_verify_tls() -> None:
    assert error(
        "probes:\n  - name: a\n    url: http://x.example/\n    client:\n      insecure: true\n"
    ) == ("checks.yaml:4: probes[0].client: unknown key (did you mean 'timeout' or 'verify_tls'?)")


def test_unknown_yaml_tag_is_one_short_line() -> None:
    """A CloudFormation-style ``!Ref`` used to quote the YAML source with a caret."""
    assert error("service: !Ref x\n") == (
        "checks.yaml:1: service: cannot read 'x': could not determine a constructor for the "
        "tag '!Ref'"
    )


def test_an_empty_list_section_is_an_empty_list(tmp_path: Path) -> None:
    """`probes:` with every probe commented out loaded as an error ("expected a list, got an
    empty value"), while an empty `sentry:` is simply not configured."""
    path = tmp_path / "checks.yaml"
    path.write_text("service: X\nteam:\nprobes:\n#  - name: api\n#    url: http://x/\n")
    config = load_config(path)
    assert config.probes == () and config.team == ()
    path.write_text("service: X\nprobes: 5\n")
    with pytest.raises(ConfigError, match="probes: expected a list"):
        load_config(path)
