"""Schema of the support-ticket keys of ``checks.yaml``: operator, team, SLA, triage,
runbooks, email and ticket links.

Every key has a default, so a config without them validates and the guide's behaviour
applies: the §2 SLA table on a calendar schedule, the §3.2/§3.3 triage rules and the §4
runbooks. Regexes, times, dates and addresses are checked when the config is loaded.
Passwords are ``SecretStr``: their ``repr`` never shows the value.

The keys are split by subject: the SLA clocks in :mod:`opsconsole.config.sla`, triage
rules and runbooks in :mod:`opsconsole.config.triage`, email in
:mod:`opsconsole.config.mail` and the shared field types in
:mod:`opsconsole.config.fields`. This module keeps the operator, team and ticket-link
keys and re-exports the rest, so ``from opsconsole.config.tickets import ...`` keeps
working.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsconsole.config.fields import Address as Address
from opsconsole.config.fields import IsoDate as IsoDate
from opsconsole.config.fields import LocalTime as LocalTime
from opsconsole.config.fields import UserPath as UserPath
from opsconsole.config.mail import (
    EmailConfig,
    EscalationAddresses,
    ImapConfig,
    SmtpConfig,
    default_outbox,
)
from opsconsole.config.sla import (
    BusinessHoursConfig,
    SlaConfig,
    SlaTargetConfig,
    SlaTargetsConfig,
)
from opsconsole.config.triage import (
    RunbookConfig,
    RunbooksConfig,
    TriageConfig,
    TriageRuleConfig,
)
from opsconsole.config.triage import RunbookStepConfig as RunbookStepConfig
from opsconsole.config.types import FieldError
from opsconsole.core.templates import Operator

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
