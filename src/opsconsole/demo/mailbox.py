"""The demo's support mailbox: a seeded queue and new mail arriving while the demo runs."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from opsconsole.config.schema import Config
from opsconsole.core.runbooks import match_runbook
from opsconsole.core.sla import next_deadline
from opsconsole.core.tickets import Direction, Requester, ThreadMessage, Ticket
from opsconsole.core.triage import triage

# (subject, sender name, address, body, minutes ago)
SEED: tuple[tuple[str, str, str, str, int], ...] = (
    (
        "CRITICAL: API returning 500 errors on /v1/check",
        "Dana Ops",
        "dana@acme.io",
        "Since 02:10 UTC every POST /v1/check returns 500 Internal Server Error.\n"
        "All our traffic is failing. Environment: production.",
        70,
    ),
    (
        "Dashboard not loading for our admins",
        "Kim Park",
        "kim@globex.com",
        "The dashboard shows a blank page after login in Chrome 120 on macOS 14.1.",
        215,
    ),
    (
        "API key not working for key_3f2a",
        "Li Wei",
        "li@initech.com",
        "Authorization: Bearer key_3f2a... returns 401 since this morning.",
        190,
    ),
    (
        "Rate limit hitting false positives",
        "Ravi Rao",
        "ravi@hooli.com",
        "We send 40 req/min and get 429 Too Many Requests.",
        30,
    ),
    (
        "How do I create a policy?",
        "Ana Lima",
        "ana@umbrella.io",
        "How do I create a policy that blocks prompts with card numbers?",
        400,
    ),
    (
        "Why was I charged twice this month?",
        "Pat Kim",
        "billing@piedpiper.com",
        "Our invoice shows two charges for November. Can you check?",
        900,
    ),
    (
        "Feature request: IP whitelisting",
        "Sam Cho",
        "sam@hooli.com",
        "Can we add IP whitelisting for the admin API?",
        300,
    ),
    (
        "Documentation typo in the quickstart",
        "Joe Fix",
        "joe@example.org",
        "Step 3 says 'polcy' instead of 'policy'.",
        1500,
    ),
    (
        "Love the new metrics page!",
        "Mia Fan",
        "mia@globex.com",
        "Your dashboard metrics are great, thanks. One feedback: dark mode please.",
        120,
    ),
    (
        "Can't see audit logs",
        "Olu Ade",
        "olu@acme.io",
        "GET /api/admin/logs returns 403 for our admin key.",
        170,
    ),
)

ARRIVALS: tuple[tuple[str, str, str, str], ...] = (
    (
        "[BUG] Policy not evaluating for new tenant",
        "Dana Ops",
        "dana@acme.io",
        "Policy p-42 never matches requests from tenant t-9.",
    ),
    ("Dashboard showing wrong data", "Kim Park", "kim@globex.com", "Totals are off by 10x."),
    ("API slow since deploy", "Ravi Rao", "ravi@hooli.com", "p95 is above 1500ms since 03:00."),
    ("Can I upgrade to the paid tier?", "Pat Kim", "billing@piedpiper.com", "Pricing please."),
    ("Why was my request blocked?", "Ana Lima", "ana@umbrella.io", "Request id r-77 blocked."),
)


def demo_mail(subject: str, name: str, address: str, body: str, when: datetime) -> bytes:
    """One realistic customer email."""
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = "support@company.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{uuid.uuid4().hex}@{address.rpartition('@')[2]}>"
    message.set_content(body + "\n\n-- \n" + name)
    return bytes(message)


async def seed_queue(store: object, config: Config, now: datetime) -> int:
    """Create the seeded tickets (every category and severity; some at risk, one breached)."""
    policy = config.sla.to_policy(config.tz)
    created = 0
    for n, (subject, name, address, body, minutes) in enumerate(SEED):
        received = now - timedelta(minutes=minutes)
        result = triage(subject, body, config.triage.to_rules())
        runbook = match_runbook(subject, body, config.runbooks.to_runbooks())
        ticket = Ticket(
            number=0,
            subject=subject,
            requester=Requester(name, address, address.rpartition("@")[2]),
            received_at=received,
            category=result.category,
            severity=result.severity,
            triage_rule=result.rule,
            runbook=runbook.key if runbook else None,
        )
        ticket = replace(ticket, next_due=next_deadline(ticket, policy, now))
        message = ThreadMessage(
            direction=Direction.INBOUND,
            at=received,
            author=address,
            subject=subject,
            body=body,
            message_id=f"<demo-seed-{n}@{address.rpartition('@')[2]}>",
        )
        await store.create_ticket(ticket, message, actor="demo")  # type: ignore[attr-defined]
        created += 1
    return created


class MailDropper:
    """Delivers a new customer email into the Maildir every ``every`` seconds."""

    def __init__(self, maildir: Path, *, every: float = 40.0, seed: int = 3) -> None:
        self.maildir = maildir
        self.every = every
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-mail", daemon=True)
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)

    def start(self) -> MailDropper:
        """Start delivering."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop delivering."""
        self._stop.set()
        self._thread.join(timeout=2)

    def deliver(self) -> Path:
        """Deliver one email now (Maildir protocol: write to tmp/, rename into new/)."""
        subject, name, address, body = self._rng.choice(ARRIVALS)
        raw = demo_mail(subject, name, address, body, datetime.now().astimezone())
        key = f"{time.time():.6f}.{uuid.uuid4().hex[:8]}.opsconsole-demo"
        tmp = self.maildir / "tmp" / key
        tmp.write_bytes(raw)
        return tmp.rename(self.maildir / "new" / key)

    def _run(self) -> None:
        first = min(self.every, 15.0)  # the first arrival comes soon, so the user sees it
        if self._stop.wait(first):
            return
        while True:
            self.deliver()
            if self._stop.wait(self.every):
                return
