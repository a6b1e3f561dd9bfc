"""The §3.1 acknowledgement goes out once per new ticket, whichever process imports its mail.

Real SQLite connections (one per "process") to one file, a real aiosmtpd relay on 127.0.0.1
(plain, loopback: ``starttls: false``) counting what reaches it, and, in the last test, two
real ``opsconsole tickets import`` processes on one Maildir.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopback_mail import Recorder, free_port
from opsconsole.adapters.sqlite_store import SqliteStore
from opsconsole.config.loader import loads_config
from opsconsole.config.schema import Config
from opsconsole.core.store import AckClaim
from opsconsole.core.tickets import Direction
from opsconsole.tickets.runtime import make_sender
from opsconsole.tickets.service import TicketService

from fakes import MutableClock
from ticket_fixtures import raw_mail

OPSCONSOLE = Path(sys.executable).with_name("opsconsole")


def _document(tmp_path: Path, port: int) -> dict[str, object]:
    return {
        "service": "AI Governance API",
        "timezone": "UTC",
        "operator": {"name": "Alex Doe", "email": "alex@company.com"},
        "email": {
            "outbox": str(tmp_path / "outbox"),
            "support_address": "support@company.com",
            "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "timeout": "5s"},
        },
    }


def _config(tmp_path: Path, port: int) -> Config:
    return loads_config(yaml.safe_dump(_document(tmp_path, port)))


class _TogetherStore:
    """A real store whose first duplicate check waits for the other process's: both see the
    mail as new, as two processes polling the same Maildir at the same moment can."""

    def __init__(self, inner: SqliteStore, barrier: asyncio.Barrier) -> None:
        self._inner = inner
        self._barrier: asyncio.Barrier | None = barrier

    async def find_ticket_by_message_id(self, message_id: str) -> int | None:
        found: int | None = await self._inner.find_ticket_by_message_id(message_id)
        if self._barrier is not None:
            barrier, self._barrier = self._barrier, None
            await barrier.wait()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    """Two connections to one database file, as two processes have."""
    path = tmp_path / "tickets.db"
    async with await SqliteStore.open(path) as a, await SqliteStore.open(path) as b:
        yield a, b


def _services(
    stores: tuple[SqliteStore, SqliteStore], config: Config, *, together: bool
) -> tuple[TicketService, TicketService]:
    barrier = asyncio.Barrier(2)
    made = []
    for store in stores:
        wrapped: Any = _TogetherStore(store, barrier) if together else store
        made.append(
            TicketService(wrapped, config, clock=MutableClock(), sender=make_sender(config))
        )
    return made[0], made[1]


def _acks_per_ticket(recorder: Recorder) -> Counter[str]:
    """Acknowledgements received by the relay, by the Message-ID they answer."""
    return Counter(str(mail.in_reply_to) for mail in recorder.mails())


@pytest.mark.parametrize("together", [True, False], ids=["both-see-it-new", "natural-race"])
async def test_two_processes_importing_one_new_mail_send_one_acknowledgement(
    relay: tuple[int, Recorder],
    stores: tuple[SqliteStore, SqliteStore],
    tmp_path: Path,
    together: bool,
) -> None:
    """Regression: the console's poller and ``tickets import`` (or two consoles) ingesting
    the same new mail at once made one ticket but both sent the §3.1 acknowledgement. The
    acknowledgement is claimed in the database first: exactly one reaches the SMTP server,
    and exactly one is recorded in the thread."""
    port, recorder = relay
    config = _config(tmp_path, port)
    rounds = 1 if together else 8
    for n in range(rounds):
        a, b = _services(stores, config, together=together)
        raw = raw_mail("Dashboard not loading", "Blank page.", message_id=f"<race-{n}@globex.com>")
        results = await asyncio.gather(a.ingest(raw, source="poller"), b.ingest(raw, source="cli"))
        numbers = {r.number for r in results if r.number is not None}
        assert len(numbers) == 1, results
        ticket = await stores[0].get_ticket(numbers.pop())
        assert ticket is not None
        outbound = [m for m in ticket.thread if m.direction is Direction.OUTBOUND]
        assert [m.author for m in outbound] == ["auto-reply"]
        assert [m for m in ticket.thread if m.direction is Direction.NOTE] == []
        claim = await stores[1].acknowledgement_claim(ticket.number)
        assert claim is not None and claim.outcome == "sent"
    assert len(recorder.envelopes) == rounds
    assert set(_acks_per_ticket(recorder).values()) == {1}
    assert (await stores[0].ticket_counts())["total"] == rounds


async def test_an_acknowledgement_that_fails_is_noted_once(
    stores: tuple[SqliteStore, SqliteStore], tmp_path: Path
) -> None:
    """With the mail server down, the one process that claimed the acknowledgement writes
    the "Auto-reply not sent" note; the other one neither tries nor notes anything."""
    config = _config(tmp_path, free_port())  # nothing listens there
    a, b = _services(stores, config, together=True)
    raw = raw_mail("API key not working", "401", message_id="<down-1@globex.com>")
    await asyncio.gather(a.ingest(raw, source="poller"), b.ingest(raw, source="cli"))
    ticket = await stores[0].get_ticket(101)
    assert ticket is not None
    notes = [m.body for m in ticket.thread if m.direction is Direction.NOTE]
    assert len(notes) == 1 and notes[0].startswith("Auto-reply not sent:"), notes
    claim = await stores[0].acknowledgement_claim(101)
    assert claim is not None and claim.outcome == "not sent"


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


async def test_a_claim_whose_process_died_is_sent_when_the_mail_comes_again(
    relay: tuple[int, Recorder], stores: tuple[SqliteStore, SqliteStore], tmp_path: Path
) -> None:
    """A process that claimed the acknowledgement and died before sending it leaves the
    mail in Maildir ``new/`` (intake had not returned): when the mail is read again, the
    claim of the dead process is taken over and the acknowledgement sent, once. A claim of
    a process that still runs is left alone, until it is older than an hour."""
    port, recorder = relay
    config = _config(tmp_path, port)
    clock = MutableClock()
    service = TicketService(stores[0], config, clock=clock, sender=make_sender(config))
    no_smtp = TicketService(stores[1], loads_config(yaml.safe_dump({"service": "x"})))
    raw = raw_mail("Invoice wrong", "Twice charged.", message_id="<crash-1@globex.com>")
    assert (await no_smtp.ingest(raw, source="old")).number == 101  # no claim: no SMTP then

    assert (await service.ingest(raw, source="again")).outcome == "duplicate"
    assert recorder.envelopes == []  # never claimed (e.g. made before claims existed): none

    host = service.claimant.split(":")[0]
    alive = f"{host}:{os.getppid()}:feedbeef"
    assert await stores[1].claim_acknowledgement(101, claimant=alive, at=clock())
    assert (await service.ingest(raw, source="again")).outcome == "duplicate"
    assert recorder.envelopes == []  # its process still runs: maybe sending right now

    dead = AckClaim(f"{host}:{_dead_pid()}:deadbeef", clock())
    assert await stores[1].claim_acknowledgement(
        101, claimant=dead.claimant, at=clock(), replacing=AckClaim(alive, clock())
    )
    assert (await service.ingest(raw, source="again")).outcome == "duplicate"
    assert len(recorder.envelopes) == 1
    assert recorder.mails()[0].in_reply_to == "<crash-1@globex.com>"
    claim = await stores[1].acknowledgement_claim(101)
    assert claim is not None and claim.outcome == "sent" and claim.claimant == service.claimant

    assert (await service.ingest(raw, source="again")).outcome == "duplicate"
    assert len(recorder.envelopes) == 1  # finished: never again

    # A live process's claim, older than the lease, is taken over too.
    raw2 = raw_mail("Export fails", "CSV empty.", message_id="<crash-2@globex.com>")
    assert (await no_smtp.ingest(raw2, source="old")).number == 102
    assert await stores[1].claim_acknowledgement(102, claimant=alive, at=clock())
    clock.advance(minutes=59)
    await service.ingest(raw2, source="again")
    assert len(recorder.envelopes) == 1
    clock.advance(minutes=2)
    await service.ingest(raw2, source="again")
    assert len(recorder.envelopes) == 2


async def test_a_claim_is_granted_once_and_taken_over_only_as_seen(
    stores: tuple[SqliteStore, SqliteStore], tmp_path: Path
) -> None:
    """The store's claim: the first INSERT wins; a takeover names the exact unfinished
    claim it replaces, so of two processes taking over the same dead claim only one wins."""
    config = _config(tmp_path, free_port())
    service = TicketService(stores[0], config, clock=MutableClock())
    await service.ingest(raw_mail("Hi", "there", message_id="<s1@x.io>"), source="t")
    a, b = stores
    now = service.clock()
    # no sender was given to the service: intake claimed nothing
    assert await a.acknowledgement_claim(101) is None
    first = await asyncio.gather(
        a.claim_acknowledgement(101, claimant="h:1:a", at=now),
        b.claim_acknowledgement(101, claimant="h:2:b", at=now),
    )
    assert sorted(first) == [False, True]
    held = await a.acknowledgement_claim(101)
    assert held is not None and held.outcome is None
    takeovers = await asyncio.gather(
        a.claim_acknowledgement(101, claimant="h:3:c", at=now, replacing=held),
        b.claim_acknowledgement(101, claimant="h:4:d", at=now, replacing=held),
    )
    assert sorted(takeovers) == [False, True]
    await a.finish_acknowledgement(101, "sent", at=now)
    finished = await b.acknowledgement_claim(101)
    assert finished is not None and finished.outcome == "sent"
    assert not await b.claim_acknowledgement(101, claimant="h:5:e", at=now, replacing=finished)


def _maildir(path: Path, count: int) -> Path:
    box = mailbox.Maildir(str(path), create=True)
    for n in range(count):
        box.add(
            raw_mail(
                f"Question {n}",
                "How do I rotate an API key?",
                sender=f"Customer {n} <c{n}@initech.com>",
                message_id=f"<both-{n}@initech.com>",
            )
        )
    return path


def test_two_tickets_import_processes_on_one_maildir_send_each_acknowledgement_once(
    relay: tuple[int, Recorder], tmp_path: Path
) -> None:
    """Two real ``opsconsole tickets import`` processes started together on one Maildir and
    one database, SMTP to a loopback relay: every new ticket's acknowledgement reaches the
    relay exactly once."""
    port, recorder = relay
    count = 30
    maildir = _maildir(tmp_path / "Mail", count)
    config = tmp_path / "checks.yaml"
    config.write_text(yaml.safe_dump(_document(tmp_path, port)), encoding="utf-8")
    db = tmp_path / "t.db"
    command = [str(OPSCONSOLE), "tickets", "import", str(maildir), "--config", str(config)]
    procs = [
        subprocess.Popen(
            [*command, "--db", str(db)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "rejected 0" in out, out
    acks = _acks_per_ticket(recorder)
    assert len(recorder.envelopes) == count, acks
    assert acks == Counter({f"<both-{n}@initech.com>": 1 for n in range(count)})


async def test_a_claim_this_process_dropped_is_taken_over_when_the_mail_comes_back(
    stores: tuple[SqliteStore, SqliteStore], relay: tuple[int, Recorder], tmp_path: Path
) -> None:
    """The database fails between the claim and the send (the hour's-tickets check): the
    intake fails, the mail stays unread, and when it is read again this same process takes
    its own unfinished claim over and sends the acknowledgement once."""
    from fakes import BreakableStore

    port, recorder = relay
    config = _config(tmp_path, port)
    store = BreakableStore(stores[0])
    service = TicketService(store, config, sender=make_sender(config))  # type: ignore[arg-type]
    raw = raw_mail("Export broken", "CSV empty.", message_id="<drop-1@globex.com>")
    store.only = frozenset({"list_tickets"})
    store.broken = True
    with pytest.raises(Exception, match="disk I/O error"):
        await service.ingest(raw, source="poll")
    store.broken = False
    claim = await stores[1].acknowledgement_claim(101)
    assert claim is not None and claim.outcome is None and claim.claimant == service.claimant
    assert recorder.envelopes == []

    assert (await service.ingest(raw, source="poll")).outcome == "duplicate"
    assert len(recorder.envelopes) == 1
    claim = await stores[1].acknowledgement_claim(101)
    assert claim is not None and claim.outcome == "sent"
    assert (await service.ingest(raw, source="poll")).outcome == "duplicate"
    assert len(recorder.envelopes) == 1


async def test_a_claim_left_under_this_pid_by_an_earlier_process_is_taken_over(
    stores: tuple[SqliteStore, SqliteStore], relay: tuple[int, Recorder], tmp_path: Path
) -> None:
    """A restarted container's console is PID 1 again: a claim its previous life left
    unfinished carries the same host and pid but another process token."""
    port, recorder = relay
    config = _config(tmp_path, port)
    service = TicketService(stores[0], config, sender=make_sender(config))
    no_smtp = TicketService(stores[1], loads_config(yaml.safe_dump({"service": "x"})))
    raw = raw_mail("Login loop", "Again.", message_id="<pid1-1@globex.com>")
    assert (await no_smtp.ingest(raw, source="old")).number == 101
    host, pid = service.claimant.split(":")[:2]
    earlier = f"{host}:{pid}:0ldl1fe0:abcd1234"
    assert await stores[1].claim_acknowledgement(101, claimant=earlier, at=MutableClock()())
    assert (await service.ingest(raw, source="poll")).outcome == "duplicate"
    assert len(recorder.envelopes) == 1
