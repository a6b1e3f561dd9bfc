"""Keep secrets out of log output: a redacting :class:`logging.Filter` and its installer.

httpx logs ``HTTP Request: GET <full URL> "HTTP/1.1 200 OK"`` at INFO, query string and
webhook path included (RELIABILITY-AND-PERFORMANCE §A4). :func:`install_log_redaction`
puts a :class:`RedactingFilter` on the root logger's handlers (everything that propagates)
and directly on the ``httpx``/``httpcore`` loggers, so their records are rewritten before
any handler, even one added later or a level lowered by someone debugging.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr

from opsconsole.config.schema import FrozenHeaders
from opsconsole.core.redact import MIN_SECRET_LENGTH, redact_text

__all__ = ["REDACTED_LOGGERS", "RedactingFilter", "config_secrets", "install_log_redaction"]

REDACTED_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""Loggers that get the filter themselves (a logger's filters do not apply to its children)."""

_BENIGN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-type",
        "host",
        "pragma",
        "user-agent",
    }
)
_MAX_DEPTH = 12
_MIN_QUERY_SECRET = 8


class RedactingFilter(logging.Filter):
    """Rewrite each record's message (and traceback text) through :func:`redact_text`.

    The message is formatted once (``record.getMessage()``), redacted, and stored back in
    ``record.msg`` with ``record.args`` cleared. The filter never drops a record.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Also redact these literal values from now on."""
        merged = set(self.secrets)
        merged.update(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH)
        self.secrets = tuple(sorted(merged, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact_text(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self.secrets)
        return True


_FILTER: RedactingFilter | None = None


def install_log_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Attach one shared :class:`RedactingFilter` to the root handlers and httpx's loggers.

    Call it after logging is configured (``basicConfig``): handlers added to the root logger
    later are covered only for records from the loggers in :data:`REDACTED_LOGGERS`. Calling
    it again adds ``secrets`` to the same filter and covers new handlers; nothing is
    attached twice.
    """
    global _FILTER
    if _FILTER is None:
        _FILTER = RedactingFilter()
    _FILTER.add_secrets(secrets)
    targets: list[logging.Filterer] = list(logging.getLogger().handlers)
    targets += [logging.getLogger(name) for name in REDACTED_LOGGERS]
    for target in targets:
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
    return _FILTER


def uninstall_log_redaction() -> None:
    """Remove the shared filter from everywhere :func:`install_log_redaction` put it."""
    global _FILTER
    if _FILTER is None:
        return
    targets: list[logging.Filterer] = list(logging.getLogger().handlers)
    targets += [logging.getLogger(name) for name in REDACTED_LOGGERS]
    for target in targets:
        target.removeFilter(_FILTER)
    _FILTER = None


def config_secrets(config: BaseModel) -> list[str]:
    """Every secret value in ``config``, longest first.

    The model is walked generically, so a new ``SecretStr`` field (a Slack webhook, an SMTP
    password) is picked up without changes here. Collected: every ``SecretStr`` /
    ``SecretBytes`` value, probe header values (except benign ones like ``Accept``; for
    ``Bearer x`` both the whole value and ``x``), and the password, query values and
    webhook path of any URL string, and every value the loader substituted from an
    environment variable named like a secret (``${API_TOKEN}`` in a condition or a body).
    """
    found: set[str] = set()
    _walk(config, found, 0)
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _walk(value: Any, found: set[str], depth: int) -> None:
    if depth > _MAX_DEPTH or value is None:
        return
    if isinstance(value, SecretStr):
        _add_credential(value.get_secret_value(), found)
    elif isinstance(value, SecretBytes):
        _add_credential(value.get_secret_value().decode("utf-8", "replace"), found)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name, None), found, depth + 1)
        for secret, _ref in getattr(value, "_secret_refs", ()):  # ${TOKEN} in a condition
            _add_credential(secret, found)
    elif isinstance(value, FrozenHeaders):
        for name, text in value.items():
            if name.lower() not in _BENIGN_HEADERS:
                _add_credential(text, found)
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk(item, found, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _walk(item, found, depth + 1)
    elif isinstance(value, str) and "://" in value:
        _add_url_parts(value, found)


def _add_credential(text: str, found: set[str]) -> None:
    text = text.strip()
    if not text:
        return
    found.add(text)
    scheme, _, credential = text.partition(" ")
    if credential.strip() and scheme.isalpha():  # "Bearer abc" -> also "abc"
        found.add(credential.strip())
    if "://" in text:  # a DSN or webhook URL: its parts can show up on their own
        _add_url_parts(text, found)


def _add_url_parts(url: str, found: set[str]) -> None:
    try:
        parts = urlsplit(url)
        password = parts.password
        username = parts.username
    except ValueError:
        return
    if password:
        found.update((password, unquote(password)))
    if username and parts.hostname and "sentry" in parts.hostname:
        found.add(username)  # a DSN's public key
    for pair in parts.query.split("&"):
        _, sep, raw = pair.partition("=")
        if sep and len(raw) >= _MIN_QUERY_SECRET:  # short values ("json", "1") are not keys
            found.update((raw, unquote(raw.replace("+", " "))))
    segments = [s for s in parts.path.split("/") if s]
    if (parts.hostname or "").endswith("hooks.slack.com") and len(segments) >= 4:
        found.add(segments[-1])  # /services/T…/B…/<secret>
