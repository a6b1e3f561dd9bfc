"""A stakeholder update is recorded first; a database failing after that must not make it
look unsent. Before, the console reopened the prompt and a second send posted it twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from opsconsole.adapters.slack import SlackWebhook
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.loader import loads_config
from opsconsole.core.incidents import EntryKind, IncidentSeverity
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.incidents.service import IncidentService, UpdateRecordedWithProblem

from fakes import BreakableStore, MutableClock

T0 = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)


def _config(tmp_path: Path, webhook: str):
    section = {"reviews_dir": str(tmp_path / "reviews"), "slack": {"webhook": webhook}}
    return loads_config(yaml.safe_dump({"service": "API", "incident": section}))


@pytest.mark.parametrize(
    ("failing", "said"),
    [
        ("set_entry_delivery", "its delivery state was not saved"),
        ("update_incident", "the update time was not saved"),
    ],
)
async def test_update_is_delivered_once_when_a_later_write_fails(
    tmp_path: Path, slack: SlackFake, failing: str, said: str
) -> None:
    clock = MutableClock(T0)
    inner = await SqliteStore.open(tmp_path / "i.db", clock=clock)
    store = BreakableStore(inner)
    webhook = SlackWebhook(slack.webhook_url)
    try:
        service = IncidentService(
            store, _config(tmp_path, slack.webhook_url), clock=clock, slack=webhook
        )
        incident = await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        store.only, store.broken = frozenset({failing}), True
        with pytest.raises(UpdateRecordedWithProblem, match=said) as caught:
            await service.send_update("Investigating the 500s")
        assert caught.value.delivery == "slack: ok"
        assert [m["text"] for m in slack.messages] == ["Investigating the 500s"]
        store.broken = False
        stored = await inner.get_incident(incident.id)
        updates = [e for e in stored.timeline if e.kind is EntryKind.UPDATE]
        assert [e.text for e in updates] == ["Investigating the 500s"]
    finally:
        await webhook.aclose()
        await inner.close()


@pytest.mark.parametrize("failing", ["set_entry_delivery", "append_timeline", "get_incident"])
async def test_resolve_reports_a_write_failing_after_the_claim_as_resolved(
    tmp_path: Path, slack: SlackFake, failing: str
) -> None:
    """Once the store has claimed the resolution, a failing database write must not read
    as "not resolved" (a retry could only say it is already resolved): the all-clear is
    sent once, the review written, and the error says the incident is resolved."""
    from opsconsole.incidents.service import ResolvedWithProblem

    clock = MutableClock(T0)
    inner = await SqliteStore.open(tmp_path / "i.db", clock=clock)
    store = BreakableStore(inner)
    webhook = SlackWebhook(slack.webhook_url)
    try:
        service = IncidentService(
            store, _config(tmp_path, slack.webhook_url), clock=clock, slack=webhook
        )
        incident = await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        store.only, store.broken = frozenset({failing}), True
        with pytest.raises(ResolvedWithProblem, match=r"incident #1 resolved and review") as caught:
            await service.resolve(root_cause="pool", fix="bigger pool", override="verified")
        assert "disk I/O error" in str(caught.value) and caught.value.path.is_file()
        assert len(slack.messages) == 1 and slack.messages[0]["text"].startswith("✅ Issue")
        store.broken = False
        stored = await inner.get_incident(incident.id)
        assert stored is not None and not stored.active
        assert [e.kind for e in stored.timeline].count(EntryKind.ALL_CLEAR) == 1
    finally:
        await webhook.aclose()
        await inner.close()
