"""Hints for config errors: a YAML mistake's likely cause, the key meant by an unknown one.

Gatus configs are the most common thing pasted into checks.yaml, so its key names get a
pointer to ours, and its features opsconsole has no equivalent for say so plainly instead of
suggesting a look-alike key (``alerts`` is not a misspelt ``headers``).
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any

from pydantic import BaseModel

from opsconsole.config.schema import Config

__all__ = ["fields_at", "gatus_unsupported", "unknown_key", "yaml_hint"]

KeyPath = tuple[str | int, ...]


def yaml_hint(text: str, line: int | None, problem: str = "") -> str:
    """A short parenthesised hint for a YAML syntax error on ``line`` ('' when none)."""
    if line is None:
        return ""
    lines = text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1].lstrip(" ").startswith("\t"):
        return " (indent with spaces, not tabs)"
    if "'\\t'" in problem and 0 < line <= len(lines) and "\t" in lines[line - 1]:
        return " (use spaces, not tabs)"
    context = " ".join(lines[max(line - 2, 0) : line])
    if re.search(r"(^|[-:]\s*|,\s*)\[[A-Z_]+\]", context):
        return ' (quote conditions: - "[STATUS] == 200")'
    return ""


_GATUS_NAMES = {
    "endpoints": ("probes",),
    "client": ("timeout", "verify_tls"),
    "insecure": ("verify_tls",),
    "concurrency": ("max_concurrency",),
}
"""Gatus's names for what checks.yaml calls something else."""

_GATUS_PROBE_ONLY = {
    "enabled": "comment the probe out to disable it",
    "alerts": "the console shows each probe's state; it sends no alerts",
    "graphql": "send the query as body: with method: POST",
    "dns": "there are no DNS probes; use url: (http/https) or tcp: host:port",
    "ssh": "there are no SSH probes; tcp: host:22 checks the port",
    "maintenance-windows": "there are no maintenance windows",
    "extra-labels": "there are no metric labels",
    "ui": "there are no per-probe UI settings",
    "store": "there are no Gatus suites",
    "always-run": "there are no Gatus suites",
}
"""Gatus endpoint keys with no equivalent in a probe, and what to do instead."""

_GATUS_TOP_ONLY = (
    "alerting",
    "announcements",
    "connectivity",
    "disable-monitoring-lock",
    "external-endpoints",
    "maintenance",
    "metrics",
    "remote",
    "security",
    "skip-invalid-config-update",
    "storage",
    "suites",
    "ui",
    "web",
)
"""Gatus top-level sections that opsconsole has no equivalent for."""


def gatus_unsupported(key: str, fields: list[str]) -> str | None:
    """Why the Gatus key ``key`` (unknown where ``fields`` are known) is refused, or None."""
    if "url" in fields and key in _GATUS_PROBE_ONLY:
        return f"unsupported Gatus key ({_GATUS_PROBE_ONLY[key]})"
    if "probes" in fields and key in _GATUS_TOP_ONLY:
        return "unsupported Gatus section (opsconsole has no equivalent)"
    return None


def unknown_key(key: str, fields: list[str]) -> str:
    """The reason for an unknown ``key`` where ``fields`` are the known keys."""
    if not fields:
        return "unknown key"
    unsupported = gatus_unsupported(key, fields)
    if unsupported:
        return unsupported
    ours = _GATUS_NAMES.get(key, ())
    if ours and all(name in fields for name in ours):
        return f"unknown key (did you mean {' or '.join(repr(name) for name in ours)}?)"
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if not close and "-" in key:  # Gatus writes failure-threshold, we failure_threshold
        close = difflib.get_close_matches(key.replace("-", "_"), fields, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (expected one of: {', '.join(fields)})"


def fields_at(path: KeyPath) -> list[str]:
    """Field names of the model found at ``path`` under :class:`Config`."""
    model: type[BaseModel] | None = Config
    for part in path:
        if model is None or isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        model = _model_in(info.annotation) if info is not None else None
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
