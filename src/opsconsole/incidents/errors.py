"""What incident operations raise: each carries a one-line reason for the operator."""

from __future__ import annotations

from pathlib import Path

from opsconsole.core.incidents import Incident, TimelineEntry


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
