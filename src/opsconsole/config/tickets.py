"""Schema of the support-ticket keys of ``checks.yaml``: operator, team, SLA, triage,
runbooks, email and ticket links.

Every key has a default, so a config without them validates and the guide's behaviour
applies: the §2 SLA table on a calendar schedule, the §3.2/§3.3 triage rules and the §4
runbooks. Regexes, times, dates and addresses are checked when the config is loaded.
Passwords are ``SecretStr``: their ``repr`` never shows the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    field_validator,
    model_validator,
)

from opsconsole.config.types import Duration, FieldError, describe_value
from opsconsole.core.durations import format_duration
from opsconsole.core.runbooks import DEFAULT_RUNBOOKS, Runbook, RunbookStep
from opsconsole.core.sla import BusinessHours, SlaPolicy, SlaTarget
from opsconsole.core.templates import Operator
from opsconsole.core.tickets import Category, Severity
from opsconsole.core.triage import DEFAULT_RULES, TriageRule

__all__ = [
    "DEFAULT_OPERATOR",
    "BusinessHoursConfig",
    "EmailConfig",
    "EscalationAddresses",
    "ImapConfig",
    "OperatorConfig",
    "RunbookConfig",
    "RunbooksConfig",
    "SlaConfig",
    "SlaTargetConfig",
    "SlaTargetsConfig",
    "SmtpConfig",
    "TicketsConfig",
    "TriageConfig",
    "TriageRuleConfig",
    "default_outbox",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# -- shared field types -------------------------------------------------------------------------


def _to_time(value: object) -> time:
    """``"09:00"``; ``"24:00"`` is midnight at the end of the day (``time(0)``).

    Unquoted ``18:00`` reaches us as 1080: YAML 1.1 reads it as base-60 minutes, so an
    integer of 60 or more is taken as minutes since midnight, and 0-24 as whole hours.
    """
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 24:
            return time(value % 24)
        if 60 <= value <= 24 * 60:
            hours, minutes = divmod(value, 60)
            return time(hours % 24, minutes)
    if isinstance(value, str):
        text = value.strip()
        if text == "24:00":
            return time(0)
        found = _HHMM.match(text)
        if found:
            return time(int(found.group(1)), int(found.group(2)))
    raise ValueError(f"expected a time like '09:00', got {describe_value(value)}")


LocalTime = Annotated[
    time,
    PlainValidator(_to_time, json_schema_input_type=str),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
"""A local wall-clock time written ``HH:MM``."""


def _to_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2025-12-25, got {describe_value(value)}")


IsoDate = Annotated[
    date,
    PlainValidator(_to_date, json_schema_input_type=str),
    PlainSerializer(date.isoformat, return_type=str),
]
"""A calendar date written ``YYYY-MM-DD``."""


def _to_path(value: object) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    if isinstance(value, str) and value.strip():
        return Path(value.strip()).expanduser()
    raise ValueError(f"expected a path, got {describe_value(value)}")


UserPath = Annotated[
    Path,
    PlainValidator(_to_path, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
]
"""A filesystem path; a leading ``~`` is expanded."""


def _to_address(value: object) -> str:
    """An email address, optionally with a display name: ``Support <support@x.com>``."""
    if isinstance(value, str):
        text = value.strip()
        if not any(c in text for c in "\r\n\0"):
            _, address = parseaddr(text)
            local, at, domain = address.rpartition("@")
            if at and local and "." in domain and " " not in address:
                return text
    raise ValueError(
        f"expected an email address like support@company.com, got {describe_value(value)}"
    )


Address = Annotated[str, PlainValidator(_to_address, json_schema_input_type=str)]
"""An email address (``name@domain``), optionally ``Display Name <name@domain>``."""


def _check_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like 'UTC' or 'Europe/Paris')"
        ) from None
    return value


def _compile_all(patterns: tuple[str, ...]) -> None:
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise FieldError(("patterns", index), f"invalid regex {pattern!r}: {exc}") from None


def _listify(value: Any) -> Any:
    """Let a single pattern be written without a list."""
    return [value] if isinstance(value, str) else value


# -- operator -----------------------------------------------------------------------------------


class OperatorConfig(BaseModel):
    """``operator:`` — who signs replies and is "me" for assignment.

    Keys:
        name: the name signed under replies (default ``On-call engineer``).
        email: the address signed under replies (default ``support@company.com``).
        team: the signature's team line (default ``Support Team``).
    """

    model_config = _FROZEN

    name: str = Field(default="On-call engineer", min_length=1)
    email: Address = "support@company.com"
    team: str = Field(default="Support Team", min_length=1)

    def to_operator(self) -> Operator:
        """The core :class:`~opsconsole.core.templates.Operator`."""
        return Operator(self.name, self.email, self.team)


DEFAULT_OPERATOR = OperatorConfig().to_operator()


def check_team(value: tuple[str, ...]) -> tuple[str, ...]:
    """Validate ``team:`` (assignee names): non-empty and unique.

    Raises:
        FieldError: naming the offending entry.
    """
    seen: set[str] = set()
    out = []
    for index, name in enumerate(value):
        name = name.strip()
        if not name:
            raise FieldError((index,), "must not be empty")
        if name in seen:
            raise FieldError((index,), f"duplicate team member {name!r}")
        seen.add(name)
        out.append(name)
    return tuple(out)


# -- SLA ----------------------------------------------------------------------------------------


class BusinessHoursConfig(BaseModel):
    """``sla.business_hours:`` — used when ``sla.schedule`` is ``business``.

    Keys:
        start: opening time, ``HH:MM`` (default ``09:00``).
        end: closing time, ``HH:MM``; ``24:00`` for midnight (default ``18:00``).
        days: business days, ``mon`` … ``sun`` (default Monday to Friday).
    """

    model_config = _FROZEN

    start: LocalTime = time(9)
    end: LocalTime = time(18)
    days: tuple[str, ...] = _DAYS[:5]

    @field_validator("days")
    @classmethod
    def _day_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one day (mon, tue, wed, thu, fri, sat, sun)")
        out: list[str] = []
        for index, text in enumerate(value):
            name = text.strip().lower()
            if name in _FULL_DAYS:
                name = _DAYS[_FULL_DAYS.index(name)]
            if name not in _DAYS:
                raise FieldError((index,), f"expected one of {', '.join(_DAYS)}, got {text!r}")
            if name not in out:
                out.append(name)
        return tuple(out)

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHoursConfig:
        if self.end != time(0) and self.end <= self.start:
            raise FieldError(("end",), f"must be after start ({self.start.strftime('%H:%M')})")
        return self

    def to_business_hours(self) -> BusinessHours:
        """The core :class:`~opsconsole.core.sla.BusinessHours`."""
        days = frozenset(_DAYS.index(d) for d in self.days)
        return BusinessHours(self.start, self.end, days)


class SlaTargetConfig(BaseModel):
    """Targets for one severity; ``null`` means no deadline ("best effort").

    Keys:
        response: time to the first outbound reply.
        resolution: time to resolved.
    """

    model_config = _FROZEN

    response: Duration | None = None
    resolution: Duration | None = None

    def to_target(self) -> SlaTarget:
        """The core :class:`~opsconsole.core.sla.SlaTarget`."""
        return SlaTarget(self.response, self.resolution)


_DEFAULT_TARGETS: dict[str, dict[str, str | None]] = {
    "critical": {"response": "1h", "resolution": None},
    "high": {"response": "4h", "resolution": "24h"},
    "medium": {"response": "12h", "resolution": "3d"},
    "low": {"response": "48h", "resolution": "7d"},
}


class SlaTargetsConfig(BaseModel):
    """``sla.targets:`` — per severity; a partial entry keeps the guide's other value.

    Defaults (guide §2, low resolution 7d per §3.3): critical 1h / none, high 4h / 24h,
    medium 12h / 3d, low 48h / 7d.
    """

    model_config = _FROZEN

    critical: SlaTargetConfig = SlaTargetConfig.model_validate(_DEFAULT_TARGETS["critical"])
    high: SlaTargetConfig = SlaTargetConfig.model_validate(_DEFAULT_TARGETS["high"])
    medium: SlaTargetConfig = SlaTargetConfig.model_validate(_DEFAULT_TARGETS["medium"])
    low: SlaTargetConfig = SlaTargetConfig.model_validate(_DEFAULT_TARGETS["low"])

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        merged = dict(data)
        for name, default in _DEFAULT_TARGETS.items():
            given = data.get(name)
            if isinstance(given, Mapping):
                merged[name] = {**default, **given}
        return merged

    def to_targets(self) -> dict[Severity, SlaTarget]:
        """Targets by severity."""
        return {s: getattr(self, s.value).to_target() for s in Severity}


class SlaConfig(BaseModel):
    """``sla:`` — response and resolution clocks (guide §2).

    Keys:
        schedule: ``calendar`` (24/7, the default) or ``business`` (only business hours).
        business_hours: ``{start, end, days}``, used by the business schedule.
        timezone: IANA zone of business hours and holidays (default: top-level timezone).
        holidays: dates (``YYYY-MM-DD``) that are not working time, in either schedule.
        pause_when_pending: stop the clocks while pending on the customer (default true).
        at_risk: a clock is at risk when its remaining time is at most this fraction of
            its target (default 0.25).
        targets: per-severity ``{response, resolution}``; see :class:`SlaTargetsConfig`.
    """

    model_config = _FROZEN

    schedule: Literal["calendar", "business"] = "calendar"
    business_hours: BusinessHoursConfig = Field(default_factory=BusinessHoursConfig)
    timezone: str | None = None
    holidays: tuple[IsoDate, ...] = ()
    pause_when_pending: bool = True
    at_risk: float = Field(default=0.25, ge=0, lt=1)
    targets: SlaTargetsConfig = Field(default_factory=SlaTargetsConfig)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return _check_zone(value)

    def to_policy(self, default_tz: str | tzinfo = "UTC") -> SlaPolicy:
        """The core :class:`~opsconsole.core.sla.SlaPolicy`.

        Args:
            default_tz: the zone used when ``sla.timezone`` is unset (the top-level one).
        """
        if self.timezone is not None:
            tz: tzinfo = ZoneInfo(self.timezone)
        else:
            tz = ZoneInfo(default_tz) if isinstance(default_tz, str) else default_tz
        hours = self.business_hours.to_business_hours() if self.schedule == "business" else None
        return SlaPolicy(
            targets=self.targets.to_targets(),
            tz=tz,
            business_hours=hours,
            holidays=frozenset(self.holidays),
            pause_when_pending=self.pause_when_pending,
            at_risk_fraction=self.at_risk,
        )


# -- triage -------------------------------------------------------------------------------------


class TriageRuleConfig(BaseModel):
    """One ``triage.rules`` entry.

    Keys:
        name: shown on the ticket as the reason (required).
        patterns: case-insensitive regexes (a list, or one string); any match counts.
        field: ``subject``, ``body`` or ``any`` (default).
        category: bug, feature, question, billing or feedback.
        severity: critical, high, medium or low.
    """

    model_config = _FROZEN

    name: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)
    field: Literal["subject", "body", "any"] = "any"
    category: Category | None = None
    severity: Severity | None = None

    @field_validator("patterns", mode="before")
    @classmethod
    def _single_pattern(cls, value: Any) -> Any:
        return _listify(value)

    @model_validator(mode="after")
    def _valid(self) -> TriageRuleConfig:
        _compile_all(self.patterns)
        if self.category is None and self.severity is None:
            raise ValueError("a rule must set a category, a severity or both")
        return self

    def to_rule(self) -> TriageRule:
        """The core :class:`~opsconsole.core.triage.TriageRule`."""
        return TriageRule(self.name, self.patterns, self.field, self.category, self.severity)


class TriageConfig(BaseModel):
    """``triage:`` — auto-triage rules on intake (guide §3.2, §3.3).

    Keys:
        rules: extra rules, tried in order before the built-in ones.
        replace_defaults: use only ``rules`` (default false).
    """

    model_config = _FROZEN

    rules: tuple[TriageRuleConfig, ...] = ()
    replace_defaults: bool = False

    def to_rules(self) -> tuple[TriageRule, ...]:
        """Rules in priority order: configured rules, then the defaults unless replaced."""
        own = tuple(r.to_rule() for r in self.rules)
        return own if self.replace_defaults else own + DEFAULT_RULES


# -- runbooks -----------------------------------------------------------------------------------


class RunbookStepConfig(BaseModel):
    """A runbook step: ``text`` and an optional live ``evidence`` key."""

    model_config = _FROZEN

    text: str = Field(min_length=1)
    evidence: str | None = None

    @field_validator("evidence")
    @classmethod
    def _evidence_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        kind, _, name = value.partition(":")
        if kind in ("sentry", "statuspage") and not name:
            return value
        if kind in ("probe", "metric") and name.strip():
            return value
        raise ValueError(
            "expected 'probe:<probe name>', 'metric:<query name>', 'sentry' or 'statuspage', "
            f"got {value!r}"
        )

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data

    def to_step(self) -> RunbookStep:
        """The core :class:`~opsconsole.core.runbooks.RunbookStep`."""
        return RunbookStep(self.text, self.evidence)


class RunbookConfig(BaseModel):
    """One ``runbooks.custom`` entry.

    Keys:
        key: identifier (required); reusing a built-in key replaces that runbook.
        title: heading shown on the ticket (required).
        patterns: case-insensitive regexes matched against subject, then body.
        diagnosis: steps, each a string or ``{text, evidence}``.
        resolution: steps, likewise.
        escalate: what to do if still broken.
        notes: extra lines shown under the checklist.
    """

    model_config = _FROZEN

    key: str = Field(min_length=1)
    title: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)
    diagnosis: tuple[RunbookStepConfig, ...] = ()
    resolution: tuple[RunbookStepConfig, ...] = ()
    escalate: str = ""
    notes: tuple[str, ...] = ()

    @field_validator("patterns", mode="before")
    @classmethod
    def _single_pattern(cls, value: Any) -> Any:
        return _listify(value)

    @model_validator(mode="after")
    def _valid(self) -> RunbookConfig:
        _compile_all(self.patterns)
        if not self.diagnosis and not self.resolution:
            raise ValueError("a runbook needs at least one diagnosis or resolution step")
        return self

    def to_runbook(self) -> Runbook:
        """The core :class:`~opsconsole.core.runbooks.Runbook`."""
        return Runbook(
            key=self.key,
            title=self.title,
            patterns=self.patterns,
            diagnosis=tuple(s.to_step() for s in self.diagnosis),
            resolution=tuple(s.to_step() for s in self.resolution),
            escalate=self.escalate,
            notes=self.notes,
        )


class RunbooksConfig(BaseModel):
    """``runbooks:`` — checklists matched to tickets (guide §4).

    Keys:
        custom: extra runbooks, matched before the built-in ones; one with a built-in
            key replaces it.
        replace_defaults: use only ``custom`` (default false).
    """

    model_config = _FROZEN

    custom: tuple[RunbookConfig, ...] = ()
    replace_defaults: bool = False

    @model_validator(mode="after")
    def _unique_keys(self) -> RunbooksConfig:
        seen: dict[str, int] = {}
        for index, runbook in enumerate(self.custom):
            if runbook.key in seen:
                raise FieldError(
                    ("custom", index, "key"),
                    f"duplicate runbook key {runbook.key!r} "
                    f"(already used by custom[{seen[runbook.key]}])",
                )
            seen[runbook.key] = index
        return self

    def to_runbooks(self) -> tuple[Runbook, ...]:
        """Runbooks in priority order: custom ones, then the remaining defaults."""
        own = tuple(r.to_runbook() for r in self.custom)
        if self.replace_defaults:
            return own
        keys = {r.key for r in own}
        return own + tuple(r for r in DEFAULT_RUNBOOKS if r.key not in keys)


# -- email --------------------------------------------------------------------------------------


class ImapConfig(BaseModel):
    """``email.imap:`` — a mailbox polled for new tickets.

    Keys:
        host: server name (required).
        port: default 993 (IMAP over TLS).
        user: login (required).
        password: a ``${ENV_VAR}`` reference (required).
        folder: mailbox to read (default ``INBOX``).
        tls: connect with TLS (default true).
        timeout: socket timeout for each network read or write (default 30s).
        deadline: the longest one whole poll may take, login and fetches included
            (default 5m); must be longer than ``timeout``.
    """

    model_config = _FROZEN

    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    user: str = Field(min_length=1)
    password: SecretStr
    folder: str = Field(default="INBOX", min_length=1)
    tls: bool = True
    timeout: Duration = timedelta(seconds=30)
    deadline: Duration = timedelta(minutes=5)

    @model_validator(mode="after")
    def _timeout_below_deadline(self) -> ImapConfig:
        _check_timeout_below_deadline(self.timeout, self.deadline)
        return self


def _check_timeout_below_deadline(timeout: timedelta, deadline: timedelta) -> None:
    if timeout >= deadline:
        raise FieldError(
            ("timeout",), f"must be shorter than deadline ({format_duration(deadline)})"
        )


class SmtpConfig(BaseModel):
    """``email.smtp:`` — sending replies, auto-replies and escalations.

    Keys:
        host: server name (required).
        port: default 587 (submission with STARTTLS); use 465 with ``ssl: true``.
        user: login; omit for an unauthenticated relay.
        password: a ``${ENV_VAR}`` reference; required with ``user``.
        starttls: upgrade the connection with STARTTLS (default true).
        ssl: connect with implicit TLS (default false); not together with ``starttls``.
        from_address: the From of sent mail (default ``email.support_address``).
        timeout: socket timeout for each network read or write (default 30s).
        deadline: the longest sending one message may take, connect to QUIT (default
            2m); must be longer than ``timeout``.
    """

    model_config = _FROZEN

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    ssl: bool = False
    from_address: Address | None = None
    timeout: Duration = timedelta(seconds=30)
    deadline: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _consistent(self) -> SmtpConfig:
        _check_timeout_below_deadline(self.timeout, self.deadline)
        if self.ssl and self.starttls:
            raise FieldError(
                ("starttls",), "set starttls: false with ssl: true (implicit TLS, port 465)"
            )
        if self.user is not None and self.password is None:
            raise FieldError(("password",), "required with user (use ${SMTP_PASSWORD})")
        if self.password is not None and self.user is None:
            raise FieldError(("user",), "required with password")
        return self


class EscalationAddresses(BaseModel):
    """``email.escalation:`` — where escalations are mailed (guide §5).

    Keys:
        L2: the engineering team's address.
        L3: the on-call address.
    """

    model_config = _FROZEN

    L2: Address | None = None
    L3: Address | None = None


def default_outbox() -> Path:
    """``$XDG_DATA_HOME/opsconsole/outbox`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "opsconsole" / "outbox"


class EmailConfig(BaseModel):
    """``email:`` — ticket intake and outgoing mail; omit the key to run without email.

    Keys:
        maildir: a Maildir polled for new tickets.
        imap: an IMAP mailbox polled for new tickets (:class:`ImapConfig`).
        smtp: the server replies go through (:class:`SmtpConfig`); without it replies are
            written to ``outbox``.
        outbox: Maildir for unsent replies (default ``$XDG_DATA_HOME/opsconsole/outbox``).
        poll_interval: how often mailboxes are polled (default 30s).
        max_message_bytes: larger messages are rejected before parsing (default 25 MiB).
        escalation: ``{L2: address, L3: address}``.
        support_address: the support inbox (default ``support@company.com``); mail from it
            never becomes a ticket.
    """

    model_config = _FROZEN

    maildir: UserPath | None = None
    imap: ImapConfig | None = None
    smtp: SmtpConfig | None = None
    outbox: UserPath = Field(default_factory=default_outbox)
    poll_interval: Duration = timedelta(seconds=30)
    max_message_bytes: int = Field(default=26_214_400, ge=1024)
    escalation: EscalationAddresses = Field(default_factory=EscalationAddresses)
    support_address: Address = "support@company.com"

    @property
    def from_address(self) -> str:
        """The From of sent mail: ``smtp.from_address``, else the support address."""
        if self.smtp is not None and self.smtp.from_address is not None:
            return self.smtp.from_address
        return self.support_address


# -- ticket links -------------------------------------------------------------------------------


class TicketsConfig(BaseModel):
    """``tickets:`` — ticket numbering and links.

    Keys:
        url: link template with ``{number}`` (default
            ``https://support.company.com/tickets/{number}``, the guide's §3.1).
        first_number: the first ticket's number (default 101, the guide's "#101…").
    """

    model_config = _FROZEN

    url: str = "https://support.company.com/tickets/{number}"
    first_number: int = Field(default=101, ge=1)

    @field_validator("url")
    @classmethod
    def _template(cls, value: str) -> str:
        value = value.strip()
        if "{number}" not in value:
            raise ValueError(f"must contain {{number}}, got {value!r}")
        try:
            value.format(number=101)
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                f"only {{number}} may appear in braces (write {{{{ }}}} for a brace), got {value!r}"
            ) from None
        return value

    def ticket_url(self, number: int) -> str:
        """The link to ticket ``number``."""
        return self.url.format(number=number)
