"""The shared part of :class:`~opsconsole.incidents.service.IncidentService`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.incident_text import compose_all_clear, compose_update
from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    TimelineEntry,
    UpdateState,
    next_update_due,
    update_state,
)
from opsconsole.core.redact import redact_text
from opsconsole.incidents.errors import IncidentError

log = logging.getLogger(__name__)

IncidentListener = Callable[[Incident | None], None]


class IncidentServiceBase:
    """What every incident operation shares: settings, reading, drafting, recording a
    change, delivering to Slack and telling the listener."""

    def __init__(
        self,
        store: Any,
        config: Config,
        *,
        clock: Clock = system_clock,
        slack: Any | None = None,
        listener: IncidentListener | None = None,
        actor: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.slack = slack
        self.listener = listener
        self.actor = actor or config.operator.name
        settings = config.incident
        self.every: timedelta = settings.update_every
        self.warn_before: timedelta = settings.warn_before

    # -- reading ----------------------------------------------------------------------

    async def active(self) -> Incident | None:
        """The active incident (with its timeline), or None."""
        incident: Incident | None = await self.store.active_incident()
        return incident

    def next_update(self, incident: Incident) -> datetime:
        """When the next stakeholder update is due."""
        return next_update_due(incident, self.every)

    def update_state(
        self, incident: Incident, now: datetime | None = None
    ) -> tuple[UpdateState, timedelta]:
        """OK / WARNING / OVERDUE and the time left (negative when late)."""
        return update_state(incident, self.every, now or self.clock(), warn_before=self.warn_before)

    def draft_update(
        self,
        incident: Incident,
        *,
        step_5: tuple[str, str, str] = ("", "", ""),
        placeholders: bool = True,
    ) -> str:
        """The guide's Step 2/5 update, pre-filled (see
        :func:`~opsconsole.core.incident_text.compose_update`)."""
        now = self.clock()
        return compose_update(
            incident,
            now,
            now + self.every,
            self.config.tz,
            step_5=step_5,
            placeholders=placeholders,
        )

    def draft_all_clear(self, incident: Incident) -> str:
        """The guide's Step 6 all-clear message.

        Its "Post-mortem" line links the incident review: the ``postmortem_url_template``
        link when configured, else the path the review file is written to.
        """
        return compose_all_clear(self._with_review_link(incident), self.clock())

    def _with_review_link(self, incident: Incident) -> Incident:
        if incident.postmortem_url or incident.review_path:
            return incident
        template = self.config.incident.postmortem_url_template
        if template:
            return replace(incident, postmortem_url=template.format(id=incident.id))
        return replace(incident, review_path=str(self._review_path(incident)))

    # -- writing ----------------------------------------------------------------------

    async def _require(self) -> Incident:
        incident = await self.active()
        if incident is None:
            raise IncidentError("no active incident")
        return incident

    async def _change(self, changes: Mapping[str, object], entry: TimelineEntry | None) -> Incident:
        incident = await self._require()
        if entry is not None:
            await self.store.append_timeline(incident.id, entry)
        if changes:
            await self.store.update_incident(
                incident.id, changes, actor=self.actor, at=self.clock()
            )
        updated: Incident = await self.store.get_incident(incident.id)
        self._notify(updated if updated.active else None)
        return updated

    def _entry(self, kind: EntryKind, text: str, delivery: str | None = None) -> TimelineEntry:
        return TimelineEntry(
            at=self.clock(), kind=kind, text=text, actor=self.actor, delivery=delivery
        )

    async def _deliver(self, text: str, entry: TimelineEntry) -> str:
        from opsconsole.adapters.slack import SlackError

        assert self.slack is not None
        try:
            await self.slack.post(text)
        except SlackError as exc:
            reason = redact_text(exc.reason)
            if exc.retryable:
                await self.store.enqueue_outbound("slack", text, entry_id=entry.id, at=self.clock())
                return f"slack: queued ({reason})"
            return f"slack: failed: {reason}"
        return "slack: ok"

    def _review_path(self, incident: Incident) -> Path:
        day = incident.started_at.strftime("%Y-%m-%d")
        path: Path = self.config.incident.reviews_dir / f"incident-{incident.id}-{day}.md"
        return path

    def _notify(self, incident: Incident | None) -> None:
        if self.listener is not None:
            try:
                self.listener(incident)
            except Exception:
                log.exception("incident listener failed")
