"""The console's own crash reports, sent to Sentry only when a DSN is configured.

The DSN comes from ``OPSCONSOLE_SENTRY_DSN``, else ``telemetry.sentry_dsn``. With neither,
:func:`init_telemetry` does not call ``sentry_sdk.init`` at all, so the SDK can never pick
up a stray ``SENTRY_DSN`` (API-REFERENCE §7).

What leaves the machine is scrubbed twice: ``EventScrubber`` blanks denylisted key names
(recursively, frame locals included), then :func:`scrub_event` / :func:`scrub_breadcrumb`
run every string through :func:`~opsconsole.core.redact.redact_text` with the config's
secrets, and blank query strings. Not sent: ``sys.argv``, the host name, logged errors as
events, and trace headers on outgoing requests (``trace_propagation_targets=[]``; otherwise
the SDK adds ``sentry-trace``/``baggage`` with the DSN's public key to every probe).

Textual routes every unhandled exception to the private ``App._handle_exception``;
:class:`TelemetryAppMixin` reports it there (Textual is pinned to 8.2.8).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opsconsole import __version__
from opsconsole.adapters.logging_setup import config_secrets
from opsconsole.config.schema import Config
from opsconsole.core.redact import REDACTED, redact_query, redact_text

if TYPE_CHECKING:
    from sentry_sdk.transport import Transport
    from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint
    from textual.app import App

    _AppBase = App[Any]
else:
    _AppBase = object

__all__ = [
    "DSN_ENV",
    "EXTRA_DENYLIST",
    "TelemetryAppMixin",
    "capture_exception",
    "flush_telemetry",
    "init_telemetry",
    "scrub_breadcrumb",
    "scrub_event",
    "shutdown_telemetry",
    "telemetry_active",
]

log = logging.getLogger(__name__)

DSN_ENV = "OPSCONSOLE_SENTRY_DSN"
"""Environment variable that overrides ``telemetry.sentry_dsn``."""

EXTRA_DENYLIST = [
    "webhook",
    "webhook_url",
    "slack_webhook",
    "slack_webhook_url",
    "dsn",
    "sentry_dsn",
    "headers",
    "header",
    "bearer",
    "bearer_token",
    "access_token",
    "refresh_token",
    "client_secret",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "private-token",
    "x-sentry-auth",
    "smtp_password",
    "secrets",
    "_secret_value",
]
"""Key names blanked in addition to sentry-sdk's DEFAULT_DENYLIST (frame locals included)."""


@cache
def _denylist() -> frozenset[str]:
    # sentry_sdk is imported lazily: it costs ~60 ms of startup and is unused without a DSN.
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST

    return frozenset(k.lower() for k in DEFAULT_DENYLIST + DEFAULT_PII_DENYLIST + EXTRA_DENYLIST)


_QUERY_KEYS = frozenset({"http.query", "query_string", "query", "url.query"})
_FRAGMENT_KEYS = frozenset({"http.fragment", "url.fragment"})
_FILTERED = "[Filtered]"
_MAX_DEPTH = 32

_secrets: tuple[str, ...] = ()


def init_telemetry(
    config: Config,
    *,
    env: Mapping[str, str] = os.environ,
    transport: type[Transport] | None = None,
) -> bool:
    """Start crash reporting when a DSN is configured; return whether it started.

    Args:
        config: the loaded config (its secrets are redacted from every event).
        env: where ``OPSCONSOLE_SENTRY_DSN`` is read (``SENTRY_DSN`` is ignored on purpose).
        transport: a ``sentry_sdk.transport.Transport`` subclass (tests record envelopes).
    """
    global _secrets
    dsn = (env.get(DSN_ENV) or "").strip()
    if not dsn and config.telemetry.sentry_dsn is not None:
        dsn = config.telemetry.sentry_dsn.get_secret_value().strip()
    if not dsn:
        return False
    _secrets = tuple(_with_dsn(config_secrets(config), dsn))
    import sentry_sdk
    from sentry_sdk.integrations.argv import ArgvIntegration
    from sentry_sdk.integrations.httpx import HttpxIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    try:
        sentry_sdk.init(
            dsn=dsn,
            release=f"opsconsole@{__version__}",
            environment=config.telemetry.environment,
            # send_default_pii is left unset: None counts as False, and 2.75 deprecates
            # passing it (a DeprecationWarning) in favour of data_collection, which would
            # in turn switch off event_scrubber.
            server_name="opsconsole",  # not the laptop's host name
            debug=False,  # never let SENTRY_DEBUG print into the TUI
            spotlight=False,
            max_breadcrumbs=50,
            shutdown_timeout=2,
            in_app_include=["opsconsole"],
            before_send=scrub_event,
            before_breadcrumb=scrub_breadcrumb,
            event_scrubber=EventScrubber(
                denylist=DEFAULT_DENYLIST + EXTRA_DENYLIST, recursive=True
            ),
            trace_propagation_targets=[],
            default_integrations=True,
            auto_enabling_integrations=False,  # only what is listed here, predictably
            disabled_integrations=[ArgvIntegration()],  # sys.argv would land in `extra`
            integrations=[
                LoggingIntegration(event_level=None),  # breadcrumbs only, no event flood
                HttpxIntegration(),  # request breadcrumbs (scrubbed)
            ],
            transport=transport,
        )
    except Exception as exc:  # a bad DSN must not stop the console
        log.warning("crash reporting disabled: %s", type(exc).__name__)
        return False
    return telemetry_active()


def _with_dsn(secrets: Iterable[str], dsn: str) -> list[str]:
    found = set(secrets)
    found.add(dsn)
    try:
        key = urlsplit(dsn).username
    except ValueError:
        key = None
    if key:
        found.add(key)
    return sorted(found, key=len, reverse=True)


def telemetry_active() -> bool:
    """Whether crash reports are being sent (a client with a DSN is installed)."""
    sentry_sdk = sys.modules.get("sentry_sdk")
    if sentry_sdk is None:  # never imported: never initialised
        return False
    client = sentry_sdk.get_client()
    return bool(client.is_active() and client.dsn)


def capture_exception(error: BaseException) -> str | None:
    """Report ``error`` when telemetry is active; return the event id, if any.

    Textual's ``WorkerFailed`` wrapper is unwrapped to the worker's own exception (the one
    with a traceback). Reporting never raises.
    """
    if not telemetry_active():
        return None
    inner = getattr(error, "error", None)
    if type(error).__name__ == "WorkerFailed" and isinstance(inner, BaseException):
        error = inner
    import sentry_sdk

    try:
        return sentry_sdk.capture_exception(error)
    except Exception:  # telemetry must never take the console down
        return None


def flush_telemetry(timeout: float = 2.0) -> None:
    """Wait up to ``timeout`` seconds for queued reports to be sent (no-op when inactive)."""
    if telemetry_active():
        import sentry_sdk

        sentry_sdk.get_client().flush(timeout=timeout)


def shutdown_telemetry(timeout: float = 2.0) -> None:
    """Flush, close the client and uninstall it (tests; a clean exit)."""
    global _secrets
    import sentry_sdk

    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout)
    sentry_sdk.get_global_scope().set_client(None)
    for scope in (sentry_sdk.get_isolation_scope(), sentry_sdk.get_current_scope()):
        scope.clear_breadcrumbs()
    _secrets = ()


# -- scrubbing -------------------------------------------------------------------------


def scrub_event(event: Event, hint: Hint) -> Event | None:
    """``before_send``: redact every string in the event (keys, values, messages, locals)."""
    return _scrub(event, 0)  # type: ignore[no-any-return]


def scrub_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb | None:
    """``before_breadcrumb``: redact URLs, query strings and messages in a breadcrumb."""
    return _scrub(crumb, 0)  # type: ignore[no-any-return]


def _scrub(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return redact_text(value, _secrets)
    if depth > _MAX_DEPTH:
        return _FILTERED
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = key.lower() if isinstance(key, str) else ""
            if name in _denylist() and item not in (None, "", {}, []):
                out[_scrub(key, depth)] = _FILTERED
            elif name in _QUERY_KEYS and isinstance(item, str):
                out[key] = redact_query(redact_text(item, _secrets))
            elif name in _FRAGMENT_KEYS and isinstance(item, str):
                out[key] = REDACTED if item else item
            else:
                out[_scrub(key, depth)] = _scrub(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    return value


# -- Textual ---------------------------------------------------------------------------


class TelemetryAppMixin(_AppBase):
    """Report every unhandled exception of a Textual app before Textual handles it.

    Put it first in the bases: ``class OpsConsoleApp(TelemetryAppMixin, App[None])``.
    """

    def _handle_exception(self, error: Exception) -> None:
        capture_exception(error)
        super()._handle_exception(error)
