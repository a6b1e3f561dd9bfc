"""Resolving after the monitoring window: the window is judged on what the console read,
and the claim holds only while that is still so. Another console setting the status back
to investigating in between (the fix did not hold) makes the resolve fail: nothing is
resolved, recorded or sent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.incidents import EntryKind, IncidentSeverity, IncidentStatus
from opsconsole.core.store import IncidentConflict
from opsconsole.incidents.service import IncidentError, IncidentService

from fakes import MutableClock


def config_for(tmp_path: Path, webhook: None) -> Config:
    document = {
        "service": "AI Governance API",
        "incident": {"reviews_dir": str(tmp_path / "reviews")},
    }
    return loads_config(yaml.safe_dump(document))


class _MeddledStore:
    """A real store whose ``resolve_incident`` first lets ``meddle`` run: what another
    console does between this console's read and its claim."""

    def __init__(self, store: SqliteStore, meddle: Any) -> None:
        self._store = store
        self._meddle = meddle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def resolve_incident(self, *args: Any, **kwargs: Any) -> Any:
        await self._meddle()
        return await self._store.resolve_incident(*args, **kwargs)


async def test_store_claim_refuses_when_an_expected_field_changed(tmp_path: Path) -> None:
    clock = MutableClock()
    store = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
    try:
        service = IncidentService(store, config_for(tmp_path, None), clock=clock)
        declared = await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        monitoring = await service.set_status(IncidentStatus.MONITORING)
        await service.set_status(IncidentStatus.INVESTIGATING)
        with pytest.raises(IncidentConflict) as caught:
            await store.resolve_incident(
                declared.id,
                {"fix": "x"},
                actor="bo",
                at=clock(),
                expected={"status": IncidentStatus.MONITORING, "monitoring_since": clock()},
            )
        assert str(caught.value) == (
            f"incident #{declared.id} changed meanwhile: status is now investigating "
            f"(you saw monitoring); monitoring_since is now none (you saw "
            f"{monitoring.monitoring_since.isoformat(timespec='seconds')})"  # type: ignore[union-attr]
        )
        after = await store.get_incident(declared.id)
        assert after.active and after.fix == ""
        assert EntryKind.ALL_CLEAR not in {e.kind for e in after.timeline}
    finally:
        await store.close()


async def test_a_status_set_back_meanwhile_stops_the_resolve(tmp_path: Path) -> None:
    clock = MutableClock()
    config = config_for(tmp_path, None)
    mine = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
    theirs = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
    try:
        other = IncidentService(theirs, config, clock=clock, actor="bo")

        async def fix_did_not_hold() -> None:
            await other.set_status(IncidentStatus.INVESTIGATING)

        console = IncidentService(_MeddledStore(mine, fix_did_not_hold), config, clock=clock)
        await console.declare("API down", "API", IncidentSeverity.CRITICAL)
        await console.set_status(IncidentStatus.MONITORING)
        clock.advance(minutes=31)  # the monitoring window is over
        with pytest.raises(IncidentError) as caught:
            await console.resolve(root_cause="pool", fix="bigger pool")
        assert "changed meanwhile: status is now investigating (you saw monitoring)" in str(
            caught.value
        )
        assert str(caught.value).endswith("not resolved, nothing sent")
        active = await mine.active_incident()
        assert active is not None and active.status is IncidentStatus.INVESTIGATING
        assert EntryKind.ALL_CLEAR not in {e.kind for e in active.timeline}
        assert not list((tmp_path / "reviews").glob("*.md"))
        # With the window still to run, an override resolves as before.
        clock.advance(minutes=1)
        console = IncidentService(mine, config, clock=clock)
        resolved, _ = await console.resolve(root_cause="pool", fix="x", override="verified")
        assert resolved.status is IncidentStatus.RESOLVED
    finally:
        await mine.close()
        await theirs.close()


async def test_an_unchanged_incident_resolves_after_the_window(tmp_path: Path) -> None:
    clock = MutableClock()
    store = await SqliteStore.open(tmp_path / "inc.db", clock=clock)
    try:
        service = IncidentService(store, config_for(tmp_path, None), clock=clock)
        await service.declare("API down", "API", IncidentSeverity.CRITICAL)
        await service.set_status(IncidentStatus.MONITORING)
        clock.advance(minutes=31)
        resolved, path = await service.resolve(root_cause="pool", fix="bigger pool")
        assert resolved.status is IncidentStatus.RESOLVED and path.exists()
        assert clock() - resolved.resolved_at < timedelta(seconds=1)  # type: ignore[operator]
    finally:
        await store.close()
