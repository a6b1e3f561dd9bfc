"""Schema of the ``sla:`` key of ``checks.yaml``: response and resolution clocks.

Defaults are the guide's §2 SLA table on a calendar (24/7) schedule; a business schedule
counts only business hours, and holidays are never working time. The time zone is
checked when the config is loaded. :meth:`SlaConfig.to_policy` builds the core
:class:`~opsconsole.core.sla.SlaPolicy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsconsole.config.fields import IsoDate, LocalTime, check_zone
from opsconsole.config.types import Duration, FieldError
from opsconsole.core.durations import format_duration
from opsconsole.core.sla import BusinessHours, SlaPolicy, SlaTarget, add_working_time
from opsconsole.core.tickets import Severity

__all__ = [
    "BusinessHoursConfig",
    "SlaConfig",
    "SlaTargetConfig",
    "SlaTargetsConfig",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _check_zone(value: str | None) -> str | None:
    return None if value is None else check_zone(value)


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

    @model_validator(mode="after")
    def _reachable(self) -> SlaConfig:
        """A business-hours target must fit the engine's 20-year look-ahead: ``3650d`` is
        37 years of office hours, and every reading of such a ticket would fail."""
        if self.schedule != "business":
            return self
        policy = self.to_policy()
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for severity, target in self.targets.to_targets().items():
            for clock in ("response", "resolution"):
                amount: timedelta | None = getattr(target, clock)
                if amount is None:
                    continue
                try:
                    add_working_time(start, amount, policy)
                except ValueError:
                    raise FieldError(
                        ("targets", severity.value, clock),
                        f"{format_duration(amount)} of working time does not fit in 20 years"
                        " of business hours (use a shorter target, or null for none)",
                    ) from None
        return self

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
