"""Every incident write goes through :class:`IncidentService`.

The timeline is append-only and written before anything is sent, so an update is never
lost: when Slack is unreachable the message waits in the store's outbox and is retried;
the timeline entry's delivery result changes from "queued" to "ok" when it gets through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opsconsole.config.schema import Config
from opsconsole.core.clock import Clock, system_clock
from opsconsole.core.incident_text import compose_all_clear, compose_update, render_review
from opsconsole.core.incidents import (
    EntryKind,
    Impact,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    TimelineEntry,
    UpdateState,
    all_clear_allowed,
    next_update_due,
    update_state,
)
from opsconsole.core.redact import redact_text
from opsconsole.core.store import StoreError

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(seconds=30)
# Longer than one post can take with its retries: 4 attempts × 10 s + 3 waits of at most
# 60 s (Retry-After and backoff are both capped at 60 s) = 220 s.
CLAIM_FOR = timedelta(minutes=4)
IncidentListener = Callable[[Incident | None], None]


class IncidentError(Exception):
    """An operator mistake or a refused delivery, with a one-line reason."""


class IncidentAlreadyResolved(IncidentError):
    """Another console (or the CLI) resolved the incident first: this caller changed and
    sent nothing. The message says who resolved it and when."""

    def __init__(self, incident: Incident, message: str) -> None:
        super().__init__(message)
        self.incident = incident


class ResolvedWithProblem(IncidentError):
    """The incident *is* resolved (this caller won the claim and recorded the all-clear),
    but a later step failed; resolving again would only say it is already resolved."""

    def __init__(self, incident: Incident, path: Path, message: str) -> None:
        super().__init__(message)
        self.incident = incident
        self.path = path


class ReviewNotWritten(ResolvedWithProblem):
    """The incident *is* resolved (the all-clear is recorded and sent), but its review file
    could not be written (``reviews_dir`` missing permissions, a full disk)."""

    def __init__(self, incident: Incident, path: Path, reason: str) -> None:
        super().__init__(
            incident,
            path,
            f"incident #{incident.id} resolved, but the review could not be written to "
            f"{path}: {reason}",
        )


class AllClearNotDelivered(ResolvedWithProblem):
    """The incident *is* resolved and its review written, but Slack refused the all-clear
    (a 4xx, a 200 without ``ok``): it stays recorded on the timeline, undelivered."""

    def __init__(self, incident: Incident, path: Path, reason: str) -> None:
        super().__init__(
            incident,
            path,
            f"incident #{incident.id} resolved and review written to {path}, but the "
            f"all-clear was not delivered to Slack: {reason} (it stays recorded)",
        )
        self.reason = reason


class UpdateRecordedWithProblem(IncidentError):
    """The update *is* on the timeline (and delivered as ``delivery`` says), but a later
    database write failed: the incident's ``last_update_at``, or the entry's delivery state.
    Sending it again would post it twice, so the caller must not offer that."""

    def __init__(self, entry: TimelineEntry, delivery: str, reason: str) -> None:
        super().__init__(f"update recorded ({delivery}), but {reason}")
        self.entry = entry
        self.delivery = delivery


class IncidentService:
    """Declare, update, note, snooze, resolve; retry queued Slack posts."""

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
        claimed = await self.store.resolve_incident(
            incident.id,
            changes,
            actor=self.actor,
            at=now,
            entry=self._entry(
                EntryKind.ALL_CLEAR, text, delivery="slack: sending" if send else "recorded"
            ),
        )
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

    def _review_path(self, incident: Incident) -> Path:
        day = incident.started_at.strftime("%Y-%m-%d")
        path: Path = self.config.incident.reviews_dir / f"incident-{incident.id}-{day}.md"
        return path

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

    def _notify(self, incident: Incident | None) -> None:
        if self.listener is not None:
            try:
                self.listener(incident)
            except Exception:
                log.exception("incident listener failed")
