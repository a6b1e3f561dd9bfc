"""Schema of the ``checklists:`` key of ``checks.yaml``: the guide's §9 checklists.

Every key has a default, so the checklist works without configuration: the guide's
daily, weekly (Friday) and monthly (the 1st) items, with the console verifying what it
can. An item is either a string (ticked by the operator) or ``{text, auto}``, where
``auto`` names an automatic check, validated when the config is loaded::

    checklists:
      daily:
        - {text: "Check status page", auto: statuspage}
        - {text: "Verify API health", auto: "probe:API health"}
        - Read the overnight handover
      weekly: {on: friday, items: [...]}
      monthly: {day: 1, items: [...]}
      auto_open: true
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsconsole.config.types import FieldError, describe_value
from opsconsole.core.checklists import (
    DAILY_ITEMS,
    MONTHLY_ITEMS,
    WEEKLY_ITEMS,
    Cadence,
    ChecklistItem,
    check_auto_key,
    item_key,
)

__all__ = [
    "WEEKDAYS",
    "ChecklistItemConfig",
    "ChecklistsConfig",
    "MonthlyChecklistConfig",
    "WeeklyChecklistConfig",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""Day names accepted by ``weekly.on`` (also as three-letter abbreviations)."""


class ChecklistItemConfig(BaseModel):
    """One checklist item: a plain string, or ``{text, auto}``.

    Keys:
        text: what the operator reads (required, not blank).
        auto: the automatic check: ``statuspage``, ``sentry``, ``metrics``, ``alerts``,
            ``tickets``, ``stale_tickets``, ``metric_trends``, ``sla_review`` or
            ``probe:<probe name>``; omit it for an item the operator ticks.
    """

    model_config = _FROZEN

    text: str
    auto: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"text": data}
        if data is None or isinstance(data, list | tuple | int | float | bool):
            raise ValueError(f"expected an item text or {{text, auto}}, got {describe_value(data)}")
        return data

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be empty")
        if not item_key(value):
            raise ValueError(f"needs a letter or digit before any '(' or ':', got {value!r}")
        return value

    @field_validator("auto")
    @classmethod
    def _auto(cls, value: str | None) -> str | None:
        return None if value is None else check_auto_key(value)

    def to_item(self, cadence: Cadence) -> ChecklistItem:
        """The core :class:`~opsconsole.core.checklists.ChecklistItem`."""
        return ChecklistItem(item_key(self.text), self.text, cadence, self.auto)


def _configs(items: tuple[ChecklistItem, ...]) -> tuple[ChecklistItemConfig, ...]:
    return tuple(ChecklistItemConfig(text=i.text, auto=i.auto) for i in items)


def _unique_texts(value: tuple[ChecklistItemConfig, ...]) -> tuple[ChecklistItemConfig, ...]:
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        key = item_key(item.text)
        if key in seen:
            raise FieldError((index,), f"duplicate item {item.text!r} (already at [{seen[key]}])")
        seen[key] = index
    return value


class WeeklyChecklistConfig(BaseModel):
    """``checklists.weekly:`` — the weekly checklist.

    Keys:
        on: the day it is due, ``monday`` … ``sunday`` or ``mon`` … ``sun`` (default
            ``friday``: the guide's "Friday before EOD"); missed, it shows as overdue
            on the following days until done.
        items: the items (default: the guide's weekly list).
    """

    model_config = _FROZEN

    on: str = "friday"
    items: tuple[ChecklistItemConfig, ...] = _configs(WEEKLY_ITEMS)

    @field_validator("on", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a day name like 'friday', got {describe_value(value)}")
        name = value.strip().casefold()
        for day in WEEKDAYS:
            if name in (day, day[:3]):
                return day
        close = difflib.get_close_matches(name, WEEKDAYS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown day {value!r}{hint}; expected monday … sunday or mon … sun")

    @field_validator("items")
    @classmethod
    def _items(cls, value: tuple[ChecklistItemConfig, ...]) -> tuple[ChecklistItemConfig, ...]:
        return _unique_texts(value)

    @property
    def weekday(self) -> int:
        """The due day as 0 = Monday … 6 = Sunday."""
        return WEEKDAYS.index(self.on)


class MonthlyChecklistConfig(BaseModel):
    """``checklists.monthly:`` — the monthly checklist.

    Keys:
        day: the day of the month it is due, 1 … 31 (default 1); in shorter months
            the last day (31 → 30 April, 28/29 February).
        items: the items (default: the guide's monthly list).
    """

    model_config = _FROZEN

    day: int = Field(default=1, ge=1, le=31)
    items: tuple[ChecklistItemConfig, ...] = _configs(MONTHLY_ITEMS)

    @field_validator("items")
    @classmethod
    def _items(cls, value: tuple[ChecklistItemConfig, ...]) -> tuple[ChecklistItemConfig, ...]:
        return _unique_texts(value)


class ChecklistsConfig(BaseModel):
    """``checklists:`` — the start-of-shift, weekly and monthly checklists (guide §9).

    Keys:
        daily: the start-of-shift items (default: the guide's daily list, all verified
            by the console).
        weekly: ``{on, items}`` (:class:`WeeklyChecklistConfig`).
        monthly: ``{day, items}`` (:class:`MonthlyChecklistConfig`).
        auto_open: open the checklist at the first launch of a shift (default true).
    """

    model_config = _FROZEN

    daily: tuple[ChecklistItemConfig, ...] = _configs(DAILY_ITEMS)
    weekly: WeeklyChecklistConfig = Field(default_factory=WeeklyChecklistConfig)
    monthly: MonthlyChecklistConfig = Field(default_factory=MonthlyChecklistConfig)
    auto_open: bool = True

    @field_validator("daily")
    @classmethod
    def _items(cls, value: tuple[ChecklistItemConfig, ...]) -> tuple[ChecklistItemConfig, ...]:
        return _unique_texts(value)

    @model_validator(mode="after")
    def _keys_unique_across_cadences(self) -> ChecklistsConfig:
        # Stored runs and due dates refer to items by key: one key, one item.
        seen: dict[str, str] = {}
        lists: tuple[tuple[tuple[str, ...], tuple[ChecklistItemConfig, ...]], ...] = (
            (("daily",), self.daily),
            (("weekly", "items"), self.weekly.items),
            (("monthly", "items"), self.monthly.items),
        )
        for path, items in lists:
            for index, item in enumerate(items):
                key = item_key(item.text)
                if key in seen:
                    raise FieldError(
                        (*path, index),
                        f"duplicate item {item.text!r} (already in the {seen[key]} list)",
                    )
                seen[key] = path[0]
        return self

    def daily_items(self) -> tuple[ChecklistItem, ...]:
        """The daily items as core items."""
        return tuple(i.to_item(Cadence.DAILY) for i in self.daily)

    def weekly_items(self) -> tuple[ChecklistItem, ...]:
        """The weekly items as core items."""
        return tuple(i.to_item(Cadence.WEEKLY) for i in self.weekly.items)

    def monthly_items(self) -> tuple[ChecklistItem, ...]:
        """The monthly items as core items."""
        return tuple(i.to_item(Cadence.MONTHLY) for i in self.monthly.items)

    def all_items(self) -> tuple[ChecklistItem, ...]:
        """Daily, then weekly, then monthly items: what :func:`due_items` filters."""
        return self.daily_items() + self.weekly_items() + self.monthly_items()

    @property
    def weekly_day(self) -> int:
        """``weekly.on`` as 0 = Monday … 6 = Sunday, for :func:`due_items`."""
        return self.weekly.weekday

    @property
    def monthly_day(self) -> int:
        """``monthly.day``, for :func:`due_items`."""
        return self.monthly.day
