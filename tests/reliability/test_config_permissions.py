"""A config file that holds a secret and is readable by group or others is warned about
(issue 7 item 5; RELIABILITY-AND-PERFORMANCE.md §A4).

"Holds a secret" means a secret field (Sentry, Prometheus, Alertmanager and Grafana
tokens, the Slack webhook, SMTP/IMAP passwords, the telemetry DSN) written literally: a
``${VAR}`` reference keeps the secret out of the file, so it is not warned about.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole.config.loader import load_config

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")
ENV = {
    "SENTRY_TOKEN": "sntrys_canary_from_env",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/canaryfromenv",
}

SENTRY_LITERAL = "sentry:\n  org: acme\n  projects: [api]\n  token: sntrys_literal_canary\n"
SENTRY_FROM_ENV = "sentry:\n  org: acme\n  projects: [api]\n  token: ${SENTRY_TOKEN}\n"
EVERY_SECRET_LITERAL = """\
sentry:
  org: acme
  projects: [api]
  token: literal-sentry
prometheus:
  grafana:
    url: https://grafana.example.com
    datasource_uid: prom
    token: literal-grafana
alertmanager:
  url: http://127.0.0.1:9093
  token: literal-alertmanager
telemetry:
  sentry_dsn: https://key@o1.ingest.sentry.io/1
email:
  imap: {host: imap.example.com, user: support, password: literal-imap}
  smtp: {host: smtp.example.com, user: support, password: literal-smtp}
incident:
  slack:
    webhook: https://hooks.slack.com/services/T0/B0/literal
"""


def write(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(text)
    path.chmod(mode)
    return path


def warnings_for(path: Path) -> list[str]:
    found: list[str] = []
    load_config(path, env=ENV, warnings=found)
    return found


def test_literal_secret_readable_by_others_is_warned_about(tmp_path: Path) -> None:
    path = write(tmp_path, SENTRY_LITERAL, 0o644)
    assert warnings_for(path) == [
        f"{path}: holds a secret (sentry.token) and is readable by others (mode 0644); "
        "chmod 600 it or use ${ENV} references"
    ]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o700 | 0o070, 0o777])
def test_any_group_or_other_bit_counts(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path, SENTRY_LITERAL, mode)
    (warning,) = warnings_for(path)
    assert f"(mode {mode:04o})" in warning


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_file_is_not_warned_about(tmp_path: Path, mode: int) -> None:
    assert warnings_for(write(tmp_path, SENTRY_LITERAL, mode)) == []


def test_env_reference_is_not_a_secret_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, SENTRY_FROM_ENV, 0o644)
    assert warnings_for(path) == []
    assert load_config(path, env=ENV).sentry.token.get_secret_value() == "sntrys_canary_from_env"


def test_default_after_a_reference_still_counts_as_a_reference(tmp_path: Path) -> None:
    text = SENTRY_FROM_ENV.replace("${SENTRY_TOKEN}", "${SENTRY_TOKEN:-fallback-token}")
    assert warnings_for(write(tmp_path, text, 0o644)) == []


def test_dollar_escape_is_literal(tmp_path: Path) -> None:
    text = SENTRY_LITERAL.replace("sntrys_literal_canary", "'tok$${en}'")
    (warning,) = warnings_for(write(tmp_path, text, 0o644))
    assert "(sentry.token)" in warning


def test_no_secret_no_warning(tmp_path: Path) -> None:
    text = "service: API\nprobes:\n  - name: api\n    url: https://api.example.com/health\n"
    assert warnings_for(write(tmp_path, text, 0o666)) == []


def test_every_secret_field_is_named_and_none_is_shown(tmp_path: Path) -> None:
    (warning,) = warnings_for(write(tmp_path, EVERY_SECRET_LITERAL, 0o644))
    for key in (
        "sentry.token",
        "prometheus.grafana.token",
        "alertmanager.token",
        "telemetry.sentry_dsn",
        "email.imap.password",
        "email.smtp.password",
        "incident.slack.webhook",
    ):
        assert key in warning
    assert "literal" not in warning and "key@" not in warning


def test_mixed_file_names_only_the_literal_one(tmp_path: Path) -> None:
    text = SENTRY_FROM_ENV + "incident:\n  slack:\n    webhook: ${SLACK_WEBHOOK_URL}\n"
    text += "alertmanager:\n  url: http://127.0.0.1:9093\n  token: literal-am-token\n"
    (warning,) = warnings_for(write(tmp_path, text, 0o644))
    assert "(alertmanager.token)" in warning


def test_without_a_warnings_list_loading_is_unchanged(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SENTRY_LITERAL, 0o644))
    assert config.sentry is not None


def test_cli_prints_the_warning_once_and_still_validates(tmp_path: Path) -> None:
    loose = write(tmp_path, SENTRY_LITERAL, 0o644)
    tight = tmp_path / "tight.yaml"
    tight.write_text(SENTRY_LITERAL)
    tight.chmod(0o600)
    procs = [
        subprocess.Popen(
            [str(OPSCONSOLE), "config", "validate", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (loose, tight)
    ]
    (out, err), (_, tight_err) = (p.communicate(timeout=60) for p in procs)
    assert procs[0].returncode == 0, err
    assert out.strip() == f"{loose}: ok (0 probes)"
    assert err.splitlines() == [
        f"opsconsole: warning: {loose}: holds a secret (sentry.token) and is readable by "
        "others (mode 0644); chmod 600 it or use ${ENV} references"
    ]
    assert "sntrys_literal_canary" not in out + err
    assert procs[1].returncode == 0 and tight_err == "", tight_err
