"""Resolving an incident: the atomic claim, the all-clear, the post-incident review."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from opsconsole.core.incident_text import render_review
from opsconsole.core.incidents import (
    EntryKind,
    Incident,
    IncidentStatus,
    TimelineEntry,
    all_clear_allowed,
)
from opsconsole.core.store import IncidentConflict, StoreError
from opsconsole.incidents.errors import (
    AllClearNotDelivered,
    IncidentAlreadyResolved,
    IncidentError,
    ResolvedWithProblem,
    ReviewNotWritten,
)
from opsconsole.incidents.service_base import IncidentServiceBase


class IncidentResolution(IncidentServiceBase):
    """Resolve (exactly once across consoles), write and track the review."""

    async def resolve(
        self,
        *,
        root_cause: str = "",
        fix: str = "",
        override: str = "",
        all_clear: str | None = None,
        slack: bool = True,
        incident_id: int | None = None,
    ) -> tuple[Incident, Path]:
        """Close the incident, send the all-clear and write the post-incident review.

        Closing comes first, as one atomic claim in the store together with the
        all-clear's timeline entry: of two consoles (or a console and the CLI) resolving
        at once, exactly one sends the all-clear and writes the review.

        Args:
            incident_id: The incident the caller means (the one on its screen); when it
                is no longer the active one, nothing is resolved. None: the active one.

        Raises:
            IncidentAlreadyResolved: another console or process resolved it first (or
                it was resolved before); nothing was changed or sent.
            IncidentError: no active incident, or the monitoring window is not over and
                no override was given.
            ResolvedWithProblem: resolved, but the review file could not be written
                (:class:`ReviewNotWritten`), Slack refused the all-clear
                (:class:`AllClearNotDelivered`), or a database write after the claim
                failed.
        """
        incident = await self._resolvable(incident_id)
        now = self.clock()
        allowed, remaining = all_clear_allowed(
            incident, now, window=self.config.incident.monitoring_window
        )
        if not allowed and not override.strip():
            minutes = max(int(remaining.total_seconds() // 60), 0)
            if incident.monitoring_since is None:
                raise IncidentError(
                    f"not monitoring yet: set the status to monitoring, then wait the "
                    f"{minutes}-minute monitoring window (or give an override reason)"
                )
            raise IncidentError(
                f"still monitoring: {minutes} min left of the monitoring window "
                "(give an override reason to resolve now)"
            )
        changes: dict[str, object] = {"root_cause": root_cause, "fix": fix}
        if override.strip() and not allowed:
            changes["monitoring_override"] = override.strip()
        postmortem_url = incident.postmortem_url
        template = self.config.incident.postmortem_url_template
        if template and not postmortem_url:
            postmortem_url = changes["postmortem_url"] = template.format(id=incident.id)
        text = all_clear or self.draft_all_clear(
            replace(incident, root_cause=root_cause, fix=fix, postmortem_url=postmortem_url)
        )
        path = self._review_path(incident)
        changes["review_due"] = now + self.config.incident.review_due
        changes["review_path"] = str(path)
        send = slack and self.slack is not None
        # The window was judged on what was read above: the claim holds only while that is
        # still so (another console may have set the status back to investigating).
        expected = (
            {"status": incident.status, "monitoring_since": incident.monitoring_since}
            if allowed
            else None
        )
        try:
            claimed = await self.store.resolve_incident(
                incident.id,
                changes,
                actor=self.actor,
                at=now,
                entry=self._entry(
                    EntryKind.ALL_CLEAR, text, delivery="slack: sending" if send else "recorded"
                ),
                expected=expected,
            )
        except IncidentConflict as exc:
            raise IncidentError(f"{exc}: not resolved, nothing sent") from None
        if claimed is None:
            raise await self._already_resolved(incident.id)
        # Resolved, and the all-clear recorded: from here on nothing may stop its delivery
        # or the review, and no failure may read as "not resolved".
        final: Incident = claimed
        entry = max(
            (e for e in claimed.timeline if e.kind is EntryKind.ALL_CLEAR),
            key=lambda e: e.id or 0,
        )
        problems: list[str] = []
        delivery = entry.delivery or "recorded"
        if send:
            delivery = await self._deliver_entry(text, entry, problems)
        try:
            await self.store.append_timeline(
                incident.id, self._entry(EntryKind.REVIEW, f"Review written: {path.name}")
            )
            final = await self.store.get_incident(incident.id)
        except StoreError as exc:
            problems.append(f"the review entry was not recorded: {exc}")
            final = replace(
                claimed,
                timeline=tuple(
                    replace(e, delivery=delivery) if e.id == entry.id else e
                    for e in claimed.timeline
                ),
            )
        self._notify(None)
        try:
            await asyncio.to_thread(self._write_review, final, path)  # once, the full timeline
        except OSError as exc:
            raise ReviewNotWritten(final, path, exc.strerror or str(exc)) from exc
        if delivery.startswith("slack: failed"):
            raise AllClearNotDelivered(final, path, delivery.removeprefix("slack: failed: "))
        if problems:
            raise ResolvedWithProblem(
                final,
                path,
                f"incident #{final.id} resolved and review written to {path}, but "
                + "; ".join(problems),
            )
        return final, path

    async def _resolvable(self, incident_id: int | None) -> Incident:
        """The active incident (the one ``incident_id`` names, if given) to resolve."""
        incident = await self.active()
        if incident is not None and incident_id in (None, incident.id):
            return incident
        if incident_id is None:
            latest = await self.store.list_incidents(limit=1)
            if latest and not latest[0].active:
                raise await self._already_resolved(latest[0].id)
        else:
            wanted = await self.store.get_incident(incident_id)
            if wanted is not None and not wanted.active:
                raise await self._already_resolved(incident_id)
        raise IncidentError("no active incident")

    async def _already_resolved(self, incident_id: int) -> IncidentAlreadyResolved:
        """The loser's one line: who resolved incident ``incident_id``, and when."""
        incident: Incident = await self.store.get_incident(incident_id)
        sent = [e for e in incident.timeline if e.kind is EntryKind.ALL_CLEAR]
        who = " ".join(sent[-1].actor.split()) if sent else ""
        when = ""
        if incident.resolved_at is not None:
            local = incident.resolved_at.astimezone(self.config.tz)
            today = self.clock().astimezone(self.config.tz).date()
            day = "" if local.date() == today else f"{local:%Y-%m-%d} "
            when = f"{day}{local:%H:%M} {local.tzname() or ''}".rstrip()
        by = " ".join(
            part for part in (f"by {who}" if who else "", f"at {when}" if when else "") if part
        )
        return IncidentAlreadyResolved(
            incident,
            f"incident #{incident.id} was already resolved"
            + (f" ({by})" if by else "")
            + ": the all-clear was not sent again",
        )

    async def _deliver_entry(self, text: str, entry: TimelineEntry, problems: list[str]) -> str:
        """Deliver a recorded entry to Slack (or queue it) and save the result; a failing
        database is noted in ``problems``, never raised (the entry is already recorded)."""
        try:
            delivery = await self._deliver(text, entry)
        except StoreError as exc:  # a retryable failure that could not be queued
            delivery = f"slack: failed: not queued: {exc}"
        try:
            await self.store.set_entry_delivery(entry.id, delivery)
        except StoreError as exc:
            problems.append(f"the all-clear's delivery state ({delivery}) was not saved: {exc}")
        return delivery

    def _write_review(self, incident: Incident, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_review(incident, self.clock(), self.every), encoding="utf-8")

    async def mark_review_done(self, incident_id: int) -> Incident:
        """The post-incident review is written and shared."""
        await self.store.update_incident(
            incident_id, {"review_done_at": self.clock()}, actor=self.actor, at=self.clock()
        )
        incident: Incident = await self.store.get_incident(incident_id)
        self._notify(await self.active())
        return incident

    async def pending_review(self) -> Incident | None:
        """The latest resolved incident whose review is not done yet."""
        for incident in await self.store.list_incidents(limit=20):
            if incident.status is IncidentStatus.RESOLVED and incident.review_done_at is None:
                found: Incident = incident
                return found
        return None
