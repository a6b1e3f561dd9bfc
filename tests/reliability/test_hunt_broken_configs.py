"""More broken ``checks.yaml`` files, of kinds the corpus in ``test_broken_configs.py`` does
not hold: each is refused with one line naming the file and the line and exit code 2, by
``opsconsole --config F check``, ``opsconsole --config F run`` (before the console starts)
and ``opsconsole config validate F``; never a traceback, an "unexpected error" or a
message about Python itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole.config.loader import ConfigError, find_config, load_config, loads_config

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
UNSET = "OPSCONSOLE_HUNT_UNSET_VAR"

PROBE = "probes:\n  - name: api\n    url: http://127.0.0.1:9/health\n"


def probe(extra: str) -> str:
    return PROBE + extra


def nested(depth: int) -> str:
    return "service: " + "[" * depth + "]" * depth + "\n"


# (id, file content, expected line or None for a whole-file problem, text the message names)
CASES: list[tuple[str, str | bytes, int | None, str]] = [
    # -- bytes YAML refuses before parsing ----------------------------------------------
    ("nul-byte", PROBE.encode() + b"    group: a\x00b\n", 4, "control character"),
    ("raw-escape-byte", b"service: \x1b[2Jx\n" + PROBE.encode(), 1, "control character"),
    ("bell-in-condition", probe("    conditions: ['[STATUS] == 200\x07']\n"), 4, "control"),
    # -- YAML structure -------------------------------------------------------------------
    ("deeply-nested-list", nested(3000), None, "nested too deeply"),
    ("deeply-nested-map", "service: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", None, "deep"),
    ("flow-map-probe-unclosed", "probes:\n  - {name: api, url: http://x/\n", 3, "invalid YAML"),
    ("two-documents", PROBE + "---\n" + PROBE, 4, "single document"),
    (
        "alias-to-probe-duplicates-name",
        "probes:\n  - &p\n    name: api\n    url: http://127.0.0.1:9/\n  - *p\n",
        3,
        "duplicate probe name",
    ),
    ("merge-scalar-list", probe("    <<: [1, 2]\n"), 2, "'<<'"),
    # -- numbers and durations --------------------------------------------------------------
    ("5000-digit-number", "max_concurrency: " + "9" * 5000 + "\n", 1, "too large"),
    ("interval-rounds-to-zero", probe("    interval: 0.0000001s\n"), 4, "at least 1ms"),
    ("retention-rounds-to-zero", "retention: 0.0000001\n", 1, "at least 1ms"),
    (
        "sentry-interval-rounds-to-zero",
        "sentry:\n  org: a\n  projects: [a]\n  token: t0ken-x\n  interval: 0.000000001\n",
        5,
        "at least 1ms",
    ),
    ("interval-words", probe("    interval: 90 seconds\n"), 4, "duration like 5s"),
    ("interval-uppercase-unit", probe("    interval: 30S\n"), 4, "duration like 5s"),
    ("interval-go-micro", probe("    interval: 500us\n"), 4, "duration like 5s"),
    ("interval-1e400", probe("    interval: 1e400\n"), 4, "duration"),
    ("max-concurrency-exponent", "max_concurrency: 1e3\n", 1, "whole number"),
    # -- probe names ------------------------------------------------------------------------
    ("name-null", "probes:\n  - name:\n    url: http://127.0.0.1:9/\n", 2, "empty value"),
    # -- headers ----------------------------------------------------------------------------
    (
        "header-twice-in-another-case",
        probe("    headers:\n      X-Tenant: a\n      x-tenant: b\n"),
        6,
        "duplicate header",
    ),
    ("header-value-list", probe("    headers:\n      Authorization: [a]\n"), 5, "expected text"),
    ("env-in-header-name", probe("    headers:\n      ${X_HEADER}: x\n"), 5, "header name"),
    # -- URLs and targets -------------------------------------------------------------------
    ("url-without-scheme", "probes:\n  - name: a\n    url: api.example.com/health\n", 3, "http"),
    ("gatus-icmp-url", "probes:\n  - name: a\n    url: icmp://10.0.0.1\n", 3, "icmp:// probes"),
    (
        "gatus-dns-endpoint",
        "probes:\n  - name: a\n    url: 8.8.8.8\n    dns:\n"
        "      query-name: example.com\n      query-type: A\n",
        4,
        "no DNS probes",
    ),
    ("url-userinfo-no-host", "probes:\n  - name: a\n    url: http://u@/\n", 3, "http"),
    ("tcp-port-only", "probes:\n  - name: db\n    tcp: 5432\n", 3, "host:port"),
    # -- Gatus keys that have no meaning here -----------------------------------------------
    ("gatus-alerts", probe("    alerts:\n      - type: slack\n"), 4, "sends no alerts"),
    ("gatus-enabled", probe("    enabled: false\n"), 4, "comment"),
    ("gatus-graphql", probe("    graphql: true\n"), 4, "as body:"),
    ("gatus-dashed-key", probe("    failure-threshold: 3\n"), 4, "failure_threshold"),
    ("gatus-top-alerting", "alerting:\n  slack:\n    webhook-url: x\n", 1, "unsupported Gatus"),
    ("gatus-top-concurrency", "concurrency: 3\n", 1, "did you mean 'max_concurrency'"),
    # -- conditions -------------------------------------------------------------------------
    ("cond-unclosed-index", probe("    conditions:\n      - '[BODY].items[0 == 1'\n"), 5, "path"),
    ("cond-unclosed-len", probe("    conditions:\n      - 'len([BODY].items > 0'\n"), 5, "paren"),
    (
        "cond-and",
        probe("    conditions:\n      - '[STATUS] == 200 && [BODY].a == 1'\n"),
        5,
        "more than one",
    ),
    (
        "cond-connected-yes",
        probe("    conditions:\n      - '[CONNECTED] == yes'\n"),
        5,
        "true or false",
    ),
    (
        "cond-has-True",
        probe("    conditions:\n      - 'has([BODY].errors) != True'\n"),
        5,
        "true or false",
    ),
    (
        "cond-duration-with-space",
        probe("    conditions:\n      - '[RESPONSE_TIME] < 1 s'\n"),
        5,
        "not a number",
    ),
    (
        "cond-domain-expiration",
        probe("    conditions:\n      - '[DOMAIN_EXPIRATION] > 720h'\n"),
        5,
        "unsupported placeholder",
    ),
    (
        "cond-wildcard",
        probe("    conditions:\n      - '[BODY].items[*].ok == true'\n"),
        5,
        "wildcard",
    ),
    ("cond-negative-index", probe("    conditions:\n      - '[BODY].items[-1] == 1'\n"), 5, "path"),
    ("cond-mapping", probe("    conditions:\n      - '[STATUS]': 200\n"), 5, "condition string"),
    ("cond-empty-item", probe("    conditions:\n      -\n"), 5, "condition string"),
    # -- environment references -------------------------------------------------------------
    (
        "env-unset-in-url-host",
        f"probes:\n  - name: a\n    url: http://${{{UNSET}}}/x\n",
        3,
        "is not set",
    ),
    (
        "env-unset-in-condition",
        probe(f"    conditions:\n      - '[BODY].v == ${{{UNSET}}}'\n"),
        5,
        "is not set",
    ),
    ("env-empty-default-url", f"probes:\n  - name: a\n    url: ${{{UNSET}:-}}\n", 3, "http"),
]

IDS = [case[0] for case in CASES]
assert len(set(IDS)) == len(IDS) >= 25

CLI_SAMPLE = [
    "nul-byte",
    "deeply-nested-list",
    "5000-digit-number",
    "interval-rounds-to-zero",
    "header-twice-in-another-case",
    "gatus-dns-endpoint",
    "cond-connected-yes",
    "env-unset-in-url-host",
]


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _check_line(message: str, path: Path, line: int | None, needle: str) -> None:
    assert "\n" not in message.strip(), message
    assert "Traceback" not in message and "unexpected error" not in message, message
    assert "sys." not in message and "Error:" not in message, message  # no Python internals
    assert message.isprintable(), message
    assert len(message) <= len(str(path)) + 450, message
    if line is None:
        assert message.startswith(f"{path}:") or message.startswith(f"{path}: "), message
    else:
        assert message.startswith(f"{path}:{line}: "), message
    assert needle.lower() in message.lower(), message


@pytest.mark.parametrize(("name", "text", "line", "needle"), CASES, ids=IDS)
def test_broken_config_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    text: str | bytes,
    line: int | None,
    needle: str,
) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    path = _write(tmp_path, name, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    _check_line(str(caught.value), path, line, needle)


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(OPSCONSOLE), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_broken_configs_through_check_run_and_validate(tmp_path: Path) -> None:
    """Every command that reads checks.yaml refuses it the same way: one line, exit 2."""
    cases = {case[0]: case for case in CASES}
    env = {k: v for k, v in os.environ.items() if k != UNSET}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    running = []
    for name in CLI_SAMPLE:
        _, text, line, needle = cases[name]
        path = _write(tmp_path, name, text)
        for args in (
            ["--config", str(path), "check"],
            ["--config", str(path), "run"],
            ["config", "validate", str(path)],
        ):
            running.append((name, args, path, line, needle, _run_cli(args, env)))
    for name, args, path, line, needle, proc in running:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (name, args, out, err)
        assert out == "", (name, args, out)
        lines = err.splitlines()
        assert len(lines) == 1, (name, args, err)
        prefix = "opsconsole: "
        assert lines[0].startswith(prefix), (name, args, err)
        _check_line(lines[0][len(prefix) :], path, line, needle)


# -- files that are not files ------------------------------------------------------------------


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    """``--config DIR`` (find_config, as every command calls it) said "config file not found"."""
    target = tmp_path / "checks.yaml"
    target.mkdir()
    for load in (find_config, load_config):
        with pytest.raises(ConfigError) as caught:
            load(target)
        assert str(caught.value) == f"{target}: cannot read: Is a directory"


def test_a_symlink_loop_is_named_as_one(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.symlink_to(b)
    b.symlink_to(a)
    for load in (find_config, load_config):
        with pytest.raises(ConfigError) as caught:
            load(a)
        message = str(caught.value)
        assert message.startswith(f"{a}: cannot read: ") and "symbolic links" in message


def test_a_fifo_is_refused_rather_than_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "checks.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as caught:
        find_config(fifo)
    assert str(caught.value) == f"{fifo}: cannot read: not a regular file"


def test_a_missing_file_is_still_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: config file not found"


def test_a_recursive_alias_names_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        loads_config("service: x\nteam: &a [x, *a]\n", source="c.yaml")
    assert str(caught.value).startswith("c.yaml:2: team[1]: invalid YAML: recursive alias")


def test_an_unreadable_file_says_permission_denied(tmp_path: Path) -> None:
    """As a user the file's mode shuts out. Root reads any file, so under root (as in CI)
    the check runs in a child process without the capabilities that let root ignore file
    modes (``setpriv``, util-linux)."""
    path = _write(tmp_path, "private", PROBE)
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert str(caught.value) == f"{path}: cannot read: Permission denied"
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("setpriv (util-linux) is missing")
        pytest.skip("root without setpriv reads any file")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from opsconsole.config.loader import ConfigError, load_config\n"
        "try:\n"
        "    load_config(Path(sys.argv[1]))\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    caps = "-dac_override,-dac_read_search"
    drop = [setpriv, "--bounding-set", caps, "--inh-caps", caps]
    proc = subprocess.run(
        [*drop, sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.strip() == f"{path}: cannot read: Permission denied", proc.stderr


# -- what still loads ----------------------------------------------------------------------------


def test_durations_of_a_millisecond_and_more_still_load() -> None:
    config = loads_config(probe("    interval: 0.5s\n    timeout: 1ms\n"))
    assert config.probes[0].timeout.total_seconds() == 0.001


def test_a_date_in_a_text_field_is_kept_as_written() -> None:
    config = loads_config(
        "service: 2024-01-01\n" + probe("    headers:\n      X-Release: 2025-06-30\n")
    )
    assert config.service == "2024-01-01"
    assert config.probes[0].headers["X-Release"] == "2025-06-30"


def test_a_date_where_a_date_is_expected_is_still_a_date() -> None:
    config = loads_config("sla:\n  holidays: [2025-12-25]\n")
    assert str(config.sla.holidays[0]) == "2025-12-25"


def test_headers_differing_only_in_value_case_are_fine() -> None:
    config = loads_config(probe("    headers:\n      X-A: abc\n      X-B: ABC\n"))
    assert dict(config.probes[0].headers) == {"X-A": "abc", "X-B": "ABC"}
