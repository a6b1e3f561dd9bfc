"""Shared ticket fixtures: a config, a seeded store and raw guide-style emails."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml

from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.sla import next_deadline
from opsconsole.core.tickets import (
    Category,
    Direction,
    Requester,
    Severity,
    Status,
    ThreadMessage,
    Ticket,
)

from fakes import FROZEN, BreakableStore, MutableClock, ScriptedRunner


def ticket_config(tmp_path: Path, **extra: object) -> Config:
    """Operator Alex on a team with Sam; replies go to an outbox Maildir in tmp_path."""
    document: dict[str, object] = {
        "service": "AI Governance API",
        "timezone": "UTC",
        "operator": {"name": "Alex Doe", "email": "alex@company.com"},
        "team": ["Alex Doe", "Sam Lee"],
        "email": {
            "outbox": str(tmp_path / "outbox"),
            "support_address": "support@company.com",
            "escalation": {"L2": "engineering@company.com", "L3": "oncall@company.com"},
        },
        **extra,
    }
    return loads_config(yaml.safe_dump(document))


SEED = [
    # (subject, address, company, category, severity, age)
    ("CRITICAL: API returning 500 errors", "ops@acme.io", "acme.io", "bug", "critical", 50),
    ("[BUG] Dashboard shows wrong data", "kim@globex.com", "globex.com", "bug", "high", 200),
    ("How do I create a policy?", "li@initech.com", "initech.com", "question", "medium", 300),
    ("Why am I charged twice?", "pay@umbrella.io", "umbrella.io", "billing", "low", 600),
    ("Can we add IP whitelisting?", "cto@hooli.com", "hooli.com", "feature", "medium", 30),
    ("Love the metrics page", "fan@piedpiper.com", "piedpiper.com", "feedback", "low", 10),
]


def seed_tickets(config: Config) -> list[Ticket]:
    """Tickets as intake would have created them, received ``age`` minutes before FROZEN."""
    policy = config.sla.to_policy(config.tz)
    tickets = []
    for subject, address, company, category, severity, minutes in SEED:
        received = FROZEN - timedelta(minutes=minutes)
        ticket = Ticket(
            number=0,
            subject=subject,
            requester=Requester(address.split("@")[0].title(), address, company),
            received_at=received,
            category=Category(category),
            severity=Severity(severity),
            status=Status.NEW,
            triage_rule=f"severity: {severity} — seeded",
        )
        tickets.append(replace(ticket, next_due=next_deadline(ticket, policy, FROZEN)))
    return tickets


def first_message(ticket: Ticket, n: int) -> ThreadMessage:
    return ThreadMessage(
        direction=Direction.INBOUND,
        at=ticket.received_at,
        author=ticket.requester.address,
        subject=ticket.subject,
        body=f"Hello,\n\n{ticket.subject}.\n\nThanks",
        message_id=f"<seed-{n}@example.com>",
    )


async def seed_store(store, config: Config) -> list[Ticket]:
    """Create the seeded tickets through the store, in order (#101…)."""
    created = []
    for n, ticket in enumerate(seed_tickets(config)):
        created.append(await store.create_ticket(ticket, first_message(ticket, n), actor="seed"))
    return created


def raw_mail(
    subject: str,
    body: str,
    *,
    sender: str = "Kim Park <kim@globex.com>",
    message_id: str = "<m1@globex.com>",
    **headers: str,
) -> bytes:
    """A well-formed email as bytes."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@company.com"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Sat, 28 Nov 2026 02:30:00 +0000"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def console_config(tmp_path: Path, webhook: str) -> Config:
    """:func:`ticket_config` plus three probes and incident mode posting to ``webhook``."""
    probes = [
        {"name": f"probe {n}", "url": f"http://127.0.0.1:9/{n}", "interval": "1h"} for n in range(3)
    ]
    incident = {"reviews_dir": str(tmp_path / "reviews"), "slack": {"webhook": webhook}}
    return ticket_config(tmp_path, probes=probes, incident=incident)


async def breakable_console(
    tmp_path: Path, config: Config, *, seeded: bool = True, clock: MutableClock | None = None
) -> tuple[Any, list[BreakableStore]]:
    """The real app on a real SQLite store wrapped in :class:`BreakableStore` (the list
    holds it once the app has opened it), with the seeded tickets unless ``seeded=False``."""
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.app import make_app

    db = tmp_path / "console.db"
    if seeded:
        store = await SqliteStore.open(db)
        await seed_store(store, config)
        await store.close()
    clock = clock or MutableClock()
    stores: list[BreakableStore] = []

    async def store_factory() -> BreakableStore:
        stores.append(BreakableStore(await SqliteStore.open(db, clock=clock)))
        return stores[-1]

    app = make_app(
        config,
        store_factory=store_factory,  # type: ignore[arg-type]
        runner_factory=ScriptedRunner,
        clock=clock,
        poll=False,
    )
    return app, stores


async def seeded_config(tmp_path: Path) -> Config:
    """:func:`ticket_config`, with the seeded tickets stored in ``tmp_path / "t.db"``."""
    from opsconsole.adapters.sqlite_store import SqliteStore

    config = ticket_config(tmp_path)
    store = await SqliteStore.open(tmp_path / "t.db")
    await seed_store(store, config)
    await store.close()
    return config


def ticket_app(tmp_path: Path, config: Config, clock: MutableClock | None = None) -> Any:
    """The real app on the real SQLite store at ``tmp_path / "t.db"``, not polling."""
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.app import make_app

    clock = clock or MutableClock()

    async def store_factory() -> SqliteStore:
        return await SqliteStore.open(tmp_path / "t.db", clock=clock)

    return make_app(
        config, store_factory=store_factory, runner_factory=ScriptedRunner, clock=clock, poll=False
    )


def intake_config(tmp_path: Path, **email: object) -> Config:
    """Operator Alex, no team; mail goes to an outbox Maildir in tmp_path, plus ``email``."""
    document = {
        "service": "AI Governance API",
        "timezone": "UTC",
        "operator": {"name": "Alex Doe", "email": "alex@company.com"},
        "email": {
            "outbox": str(tmp_path / "outbox"),
            "support_address": "support@company.com",
            **email,
        },
    }
    return loads_config(yaml.safe_dump(document))


def intake_service(store: Any, config: Config) -> Any:
    """A TicketService sending through the sender ``config`` describes (SMTP or outbox)."""
    from opsconsole.tickets.runtime import make_sender
    from opsconsole.tickets.service import TicketService

    return TicketService(store, config, clock=MutableClock(), sender=make_sender(config))


def loopback_smtp(port: int) -> dict[str, object]:
    """``email.smtp`` for a plain relay on 127.0.0.1 (no STARTTLS)."""
    return {"host": "127.0.0.1", "port": port, "starttls": False}
