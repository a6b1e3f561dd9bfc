"""Schema of the ``incident:`` key of ``checks.yaml``: update cadence, monitoring window,
review deadline and where updates go (guide §8).

Every key has a default, so incident mode works without configuration: updates every
15 minutes, 30 minutes of monitoring before the all-clear, the review due within 24 hours.
The Slack webhook is a ``SecretStr`` (write it as ``${SLACK_WEBHOOK_URL}``): its ``repr``
never shows it, and no error message includes it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from opsconsole.config.tickets import UserPath
from opsconsole.config.types import Duration, FieldError
from opsconsole.core.durations import format_duration

__all__ = [
    "DEFAULT_COMPONENTS",
    "IncidentConfig",
    "SlackConfig",
    "default_reviews_dir",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

DEFAULT_COMPONENTS = ("API", "Dashboard", "Database", "Redis", "Rate limiting")
"""Components offered when declaring: the ones the guide's Step 4 names."""


def default_reviews_dir() -> Path:
    """``$XDG_DATA_HOME/opsconsole/reviews`` (``~/.local/share`` when unset or relative)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "opsconsole" / "reviews"


class SlackConfig(BaseModel):
    """``incident.slack:`` — post updates through a Slack incoming webhook.

    Keys:
        webhook: the webhook URL, a ``${SLACK_WEBHOOK_URL}`` reference (required); https,
            or http on 127.0.0.1/localhost only (for tests).
        channel_label: the channel shown in the console (default ``#incidents``); display
            only, never sent as a channel override.
    """

    model_config = _FROZEN

    webhook: SecretStr
    channel_label: str = Field(default="#incidents", min_length=1)

    @field_validator("webhook")
    @classmethod
    def _webhook_url(cls, value: SecretStr) -> SecretStr:
        # The URL is the credential: the message must never quote it.
        text = value.get_secret_value().strip()
        try:
            parts = urlsplit(text)
            scheme, host = parts.scheme.lower(), parts.hostname
        except ValueError:
            scheme, host = "", None
        if not host or any(c.isspace() for c in text):
            raise ValueError("must be an https:// URL (use ${SLACK_WEBHOOK_URL})")
        if scheme == "https" or (scheme == "http" and host in _LOOPBACK):
            return SecretStr(text)
        if scheme == "http":
            raise ValueError("must use https:// (http:// only for 127.0.0.1 or localhost)")
        raise ValueError("must be an https:// URL (use ${SLACK_WEBHOOK_URL})")


class IncidentConfig(BaseModel):
    """``incident:`` — incident mode (guide §8).

    Keys:
        update_every: stakeholder update cadence (default 15m, Steps 2 and 5).
        warn_before: the countdown turns to a warning this long before an update is due
            (default 2m).
        monitoring_window: monitoring before the all-clear (default 30m, Step 6).
        suggest_after: suggest declaring once a probe is down this long (default 15m, §1.4).
        review_due: the post-incident review is due this long after resolving (default
            24h, Step 7).
        reviews_dir: where reviews are written (default
            ``$XDG_DATA_HOME/opsconsole/reviews``).
        slack: ``{webhook, channel_label}`` (:class:`SlackConfig`); without it updates are
            copied to the clipboard.
        postmortem_url_template: the all-clear's post-mortem link, with ``{id}``, e.g.
            ``https://wiki.company.com/incidents/{id}``; empty links the review file.
        components: components offered when declaring.
    """

    model_config = _FROZEN

    update_every: Duration = timedelta(minutes=15)
    warn_before: Duration = timedelta(minutes=2)
    monitoring_window: Duration = timedelta(minutes=30)
    suggest_after: Duration = timedelta(minutes=15)
    review_due: Duration = timedelta(hours=24)
    reviews_dir: UserPath = Field(default_factory=default_reviews_dir)
    slack: SlackConfig | None = None
    postmortem_url_template: str = ""
    components: tuple[str, ...] = DEFAULT_COMPONENTS

    @field_validator("postmortem_url_template")
    @classmethod
    def _template(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        try:
            value.format(id=1)
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                f"only {{id}} may appear in braces (write {{{{ }}}} for a brace), got {value!r}"
            ) from None
        parts = urlsplit(value.format(id=1))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("components")
    @classmethod
    def _components(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one component")
        seen: set[str] = set()
        out: list[str] = []
        for index, name in enumerate(value):
            name = name.strip()
            if not name:
                raise FieldError((index,), "must not be empty")
            if name.casefold() in seen:
                raise FieldError((index,), f"duplicate component {name!r}")
            seen.add(name.casefold())
            out.append(name)
        return tuple(out)

    @model_validator(mode="after")
    def _warn_below_cadence(self) -> IncidentConfig:
        if "warn_before" not in self.model_fields_set and self.warn_before >= self.update_every:
            # Only the default is too long for a short cadence: warn in the last quarter.
            object.__setattr__(self, "warn_before", self.update_every / 4)
        if self.warn_before >= self.update_every:
            raise FieldError(
                ("warn_before",),
                f"must be shorter than update_every ({format_duration(self.update_every)})",
            )
        return self

    def postmortem_url(self, incident_id: int) -> str:
        """The post-mortem link of incident ``incident_id``; empty without a template."""
        return self.postmortem_url_template.format(id=incident_id)
