"""Every incident write goes through :class:`IncidentService`.

The timeline is append-only and written before anything is sent, so an update is never
lost: when Slack is unreachable the message waits in the store's outbox and is retried;
the timeline entry's delivery result changes from "queued" to "ok" when it gets through.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
)
from opsconsole.core.redact import redact_text
from opsconsole.core.store import StoreError
from opsconsole.incidents.errors import (
    AllClearNotDelivered,
    IncidentAlreadyResolved,
    IncidentError,
    ResolvedWithProblem,
    ReviewNotWritten,
    UpdateRecordedWithProblem,
)
from opsconsole.incidents.resolution import IncidentResolution
from opsconsole.incidents.service_base import IncidentListener

__all__ = [
    "AllClearNotDelivered",
    "IncidentAlreadyResolved",
    "IncidentError",
    "IncidentListener",
    "IncidentService",
    "ResolvedWithProblem",
    "ReviewNotWritten",
    "UpdateRecordedWithProblem",
]

RETRY_AFTER = timedelta(seconds=30)
# Longer than one post can take with its retries: 4 attempts × 10 s + 3 waits of at most
# 60 s (Retry-After and backoff are both capped at 60 s) = 220 s.
CLAIM_FOR = timedelta(minutes=4)


class IncidentService(IncidentResolution):
    """Declare, update, note, snooze, resolve; retry queued Slack posts."""

    # -- writing ----------------------------------------------------------------------

    async def declare(
        self,
        title: str,
        component: str,
        severity: IncidentSeverity,
        impact: Impact | None = None,
    ) -> Incident:
        """Open an incident (only one can be active)."""
        if await self.active() is not None:
            raise IncidentError("an incident is already active")
        incident = Incident(
            id=0,
            title=title.strip() or "Untitled incident",
            component=component.strip() or "API",
            severity=severity,
            status=IncidentStatus.INVESTIGATING,
            started_at=self.clock(),
            impact=impact or Impact(),
        )
        try:
            created: Incident = await self.store.create_incident(incident, actor=self.actor)
        except StoreError as exc:
            raise IncidentError(str(exc)) from None
        self._notify(created)
        return created

    async def set_status(self, status: IncidentStatus) -> Incident:
        """investigating → identified → monitoring (starts the 30-minute window).

        Choosing monitoring again while monitoring keeps the window running; going back
        to investigating or identified (the fix did not hold) ends it, so the all-clear
        waits for a new full window and the downtime runs on.
        """
        if status is IncidentStatus.RESOLVED:
            raise IncidentError("use resolve to close an incident (it sends the all-clear)")
        current = await self._require()
        changes: dict[str, object] = {"status": status}
        if status is IncidentStatus.MONITORING:
            if current.status is not IncidentStatus.MONITORING or current.monitoring_since is None:
                changes["monitoring_since"] = self.clock()
        elif current.monitoring_since is not None:
            changes["monitoring_since"] = None
        return await self._change(changes, self._entry(EntryKind.STATUS, f"Status: {status.value}"))

    async def note(self, text: str) -> Incident:
        """A manual timeline note."""
        return await self._change({}, self._entry(EntryKind.NOTE, text))

    async def record(self, kind: EntryKind, text: str, *, at: datetime | None = None) -> None:
        """An automatic entry (probe down/up, alert, Sentry spike, ticket); no-op when idle.

        ``at`` is when it happened (default now): an entry retried after a failed write
        keeps its time.
        """
        incident = await self.active()
        if incident is not None:
            entry = self._entry(kind, text)
            if at is not None:
                entry = replace(entry, at=at)
            await self.store.append_timeline(incident.id, entry)
            self._notify(await self.active())

    async def set_severity(self, severity: IncidentSeverity) -> Incident:
        """Raise or lower the severity (recorded; later updates carry the new one)."""
        current = await self._require()
        if severity is current.severity:
            return current
        text = f"Severity: {severity.value} (was {current.severity.value})"
        return await self._change({"severity": severity}, self._entry(EntryKind.STATUS, text))

    async def set_impact(self, impact: Impact) -> Incident:
        """Record a new impact estimate."""
        return await self._change(
            {"impact": impact}, self._entry(EntryKind.IMPACT, f"Impact: {impact.label()}")
        )

    async def snooze(self, minutes: int = 5) -> Incident:
        """Push the update prompt back (recorded)."""
        until = self.clock() + timedelta(minutes=minutes)
        entry = self._entry(EntryKind.SNOOZE, f"Update prompt snoozed for {minutes} min")
        return await self._change({"snoozed_until": until}, entry)

    async def tick_playbook(self, key: str, done: bool) -> Incident:
        """Tick a playbook step (with its time) or untick it."""
        incident = await self._require()
        steps = set(incident.playbook)
        times = dict(incident.playbook_times)
        if done:
            steps.add(key)
            times[key] = self.clock()
        else:
            steps.discard(key)
            times.pop(key, None)
        entry = self._entry(EntryKind.PLAYBOOK, f"{'Done' if done else 'Undone'}: {key}")
        return await self._change(
            {"playbook": frozenset(steps), "playbook_times": tuple(sorted(times.items()))}, entry
        )

    async def send_update(
        self, text: str, *, slack: bool = True, copied: bool = False
    ) -> TimelineEntry:
        """Record a stakeholder update, then deliver it (or queue it). Never loses it.

        Raises:
            IncidentError: no active incident, an empty text (nothing is recorded), or
                Slack refused it (it stays recorded, with the failure).
        """
        if not text.strip():
            raise IncidentError("the update is empty: nothing recorded or sent")
        incident = await self._require()
        deliveries = ["clipboard"] if copied else []
        send = slack and self.slack is not None
        if send:
            deliveries.append("slack: sending")
        entry = await self.store.append_timeline(
            incident.id,
            self._entry(EntryKind.UPDATE, text, delivery=", ".join(deliveries) or "recorded"),
        )
        # From here the update is recorded: a failing database must not stop its delivery,
        # nor make it look unsent (sending it again would post it twice).
        problems: list[str] = []
        try:
            await self.store.update_incident(
                incident.id,
                {"last_update_at": self.clock(), "snoozed_until": None},
                actor=self.actor,
                at=self.clock(),
            )
        except StoreError as exc:
            problems.append(f"the update time was not saved: {exc}")
        if send:
            try:
                result = await self._deliver(text, entry)
            except StoreError as exc:  # a retryable failure that could not be queued
                result = f"slack: failed: not queued: {exc}"
            deliveries[-1] = result
            try:
                await self.store.set_entry_delivery(entry.id, ", ".join(deliveries))
            except StoreError as exc:
                problems.append(f"its delivery state was not saved: {exc}")
        delivery = ", ".join(deliveries) or "recorded"
        try:
            self._notify(await self.active())
        except StoreError as exc:
            problems.append(f"the incident could not be re-read: {exc}")
        final: TimelineEntry = replace(entry, delivery=delivery)
        if send and deliveries[-1].startswith("slack: failed"):
            raise IncidentError(deliveries[-1].removeprefix("slack: failed: "))
        if problems:
            raise UpdateRecordedWithProblem(final, delivery, "; ".join(problems))
        return final

    async def flush_outbox(self) -> int:
        """Retry queued Slack posts; returns how many got through."""
        if self.slack is None:
            return 0
        from opsconsole.adapters.slack import SlackError

        now = self.clock()
        sent = 0
        for message in await self.store.pending_outbound(now):
            # Another console on the same database may be flushing too: one takes it.
            if not await self.store.claim_outbound(message.id, now=now, until=now + CLAIM_FOR):
                continue
            try:
                await self.slack.post(message.payload)
            except SlackError as exc:
                retry = now + (
                    timedelta(seconds=exc.retry_after) if exc.retry_after else RETRY_AFTER
                )
                await self.store.mark_outbound(
                    message.id,
                    delivered=exc.retryable is False,
                    error=redact_text(exc.reason),
                    next_attempt_at=retry if exc.retryable else None,
                    at=now,
                )
                if not exc.retryable and message.entry_id is not None:
                    await self.store.set_entry_delivery(
                        message.entry_id, f"slack: failed: {redact_text(exc.reason)}"
                    )
                continue
            await self.store.mark_outbound(
                message.id, delivered=True, error=None, next_attempt_at=None, at=now
            )
            if message.entry_id is not None:
                await self.store.set_entry_delivery(message.entry_id, "slack: ok (after retry)")
            sent += 1
        if sent:
            self._notify(await self.active())
        return sent
