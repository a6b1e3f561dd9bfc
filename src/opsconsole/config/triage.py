"""Schema of the ``triage:`` and ``runbooks:`` keys of ``checks.yaml``.

Both add regex rules matched against a ticket's text to the built-in ones: triage rules
set a new ticket's category and severity (guide §3.2, §3.3), runbooks attach a
diagnosis and resolution checklist (guide §4). Every pattern is compiled, case
insensitive, when the config is loaded.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsconsole.config.types import FieldError
from opsconsole.core.runbooks import DEFAULT_RUNBOOKS, Runbook, RunbookStep
from opsconsole.core.tickets import Category, Severity
from opsconsole.core.triage import DEFAULT_RULES, TriageRule

__all__ = [
    "RunbookConfig",
    "RunbookStepConfig",
    "RunbooksConfig",
    "TriageConfig",
    "TriageRuleConfig",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)


def _compile_all(patterns: tuple[str, ...]) -> None:
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise FieldError(("patterns", index), f"invalid regex {pattern!r}: {exc}") from None


def _listify(value: Any) -> Any:
    """Let a single pattern be written without a list."""
    return [value] if isinstance(value, str) else value


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
