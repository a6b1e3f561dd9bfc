"""Mail intake: ``tickets import PATH`` and the console's background mailbox poller."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from opsconsole.adapters.mail import MAX_MESSAGE_BYTES, delivery_order, format_size
from opsconsole.config.schema import Config
from opsconsole.tickets.service import IntakeResult, TicketService

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """Counts and per-message reasons of one import or poll."""

    results: list[IntakeResult] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        """imported / threaded / duplicate / rejected / ignored."""
        return Counter(r.outcome for r in self.results)

    def summary(self) -> str:
        """One line: ``imported 12, threaded 2, duplicate 3, rejected 1, ignored 1``."""
        counts = self.counts
        order = ("imported", "threaded", "duplicate", "rejected", "ignored")
        return ", ".join(f"{name} {counts.get(name, 0)}" for name in order)


async def import_path(service: TicketService, path: Path) -> ImportReport:
    """Import a Maildir, an mbox, a .eml file or a directory of .eml files.

    Raises:
        MailSourceError: only when ``path`` is unreadable or not a mailbox.
    """
    from opsconsole.adapters.mail import iter_source

    report = ImportReport()
    problems: list[tuple[str, str]] = []
    messages = iter_source(path, max_bytes=max_message_bytes(service.config), problems=problems)
    while True:  # one message in memory at a time; reading happens off the event loop
        item: tuple[str, bytes] | None = await asyncio.to_thread(next, messages, None)
        if item is None:
            break
        source, raw = item
        report.results.append(await service.ingest(raw, source=source))
    report.results.extend(IntakeResult("rejected", src, reason=why) for src, why in problems)
    return report


class MailboxPoller:
    """Polls the configured Maildir (``new/``, then moved to ``cur/``) and IMAP mailbox."""

    def __init__(self, service: TicketService, config: Config) -> None:
        self.service = service
        self.config = config
        self.error: str | None = None
        self._imap = None
        self._unreadable: set[str] = set()
        """Maildir entries already reported as unreadable (reported once, not every poll)."""
        from opsconsole.tickets.runtime import imap_settings

        settings = imap_settings(config)
        if settings is not None:
            from opsconsole.adapters.mail_transport import ImapPoller

            self._imap = ImapPoller(
                settings,  # type: ignore[arg-type]
                max_bytes=max_message_bytes(config),
            )

    async def poll_once(self) -> ImportReport:
        """Import whatever arrived since the last poll."""
        report = ImportReport()
        email = self.config.email
        errors: list[str] = []
        if email is not None and email.maildir is not None:
            try:
                await self._poll_maildir(email.maildir, report)
            except Exception as exc:
                errors.append(f"maildir: {exc}")
        if self._imap is not None:
            try:
                await self._poll_imap(report)
            except Exception as exc:
                errors.append(f"imap: {exc}")
        self.error = "; ".join(errors) or None
        return report

    async def _poll_maildir(self, path: Path, report: ImportReport) -> None:
        """Maildir protocol: read each file in ``new/``, then rename it into ``cur/`` as seen."""
        new = path / "new"  # the config loader already expanded ~
        await asyncio.to_thread(_ensure_maildir, path)
        names = await asyncio.to_thread(lambda: [p.name for p in new.iterdir()])
        names.sort(key=delivery_order)  # a reply after the message it answers
        for name in names:
            if name.startswith("."):
                continue
            file = new / name
            source = f"maildir:{name}"
            cap = max_message_bytes(self.config)
            try:
                raw = await asyncio.to_thread(_read_message, file, cap)
            except FileNotFoundError:
                continue  # taken meanwhile (another poller moved it to cur/)
            except OSError as exc:  # one bad entry must not stall the mail behind it
                if name not in self._unreadable:
                    self._unreadable.add(name)
                    why = f"cannot read: {exc.strerror or type(exc).__name__}"
                    report.results.append(IntakeResult("rejected", source, reason=why))
                continue
            if isinstance(raw, int):  # never read a huge file into memory
                reason = f"message is {format_size(raw)} (limit {format_size(cap)})"
                report.results.append(IntakeResult("rejected", source, reason=reason))
            else:
                report.results.append(await self.service.ingest(raw, source=source))
            with contextlib.suppress(FileNotFoundError):  # another poller moved it to cur/
                await asyncio.to_thread(file.rename, path / "cur" / f"{name}:2,S")

    async def _poll_imap(self, report: ImportReport) -> None:
        assert self._imap is not None
        fetched = await self._imap.fetch_unseen()
        done: list[str] = []
        for uid, reason in getattr(self._imap, "skipped", ()):
            report.results.append(IntakeResult("rejected", f"imap:{uid}", reason=reason))
            done.append(uid)  # reported once, like an over-cap Maildir file moved to cur/
        for uid, raw in fetched:
            report.results.append(await self.service.ingest(raw, source=f"imap:{uid}"))
            done.append(uid)
        if done:
            await self._imap.mark_seen(done)

    async def run(self, interval: float) -> None:
        """Poll for ever, then sleep ``interval`` seconds."""
        while True:
            try:
                report = await self.poll_once()
                if report.results:
                    log.info("mail intake: %s", report.summary())
            except Exception:
                log.exception("mail intake failed")
            await asyncio.sleep(interval)


def max_message_bytes(config: Config) -> int:
    """The size cap applied before parsing (``email.max_message_bytes``)."""
    return config.email.max_message_bytes if config.email is not None else MAX_MESSAGE_BYTES


def _read_message(file: Path, cap: int) -> bytes | int:
    """The file's bytes, or its size when that is over ``cap``.

    Raises:
        OSError: e.g. IsADirectoryError for a folder in ``new/``, or PermissionError.
    """
    if not stat.S_ISREG(file.stat().st_mode):  # before open(): a FIFO would block it
        raise OSError(errno.EINVAL, "not a regular file")
    with file.open("rb") as fh:
        info = os.fstat(fh.fileno())
        if info.st_size > cap:
            return info.st_size
        return fh.read(cap + 1)


def _ensure_maildir(path: Path) -> None:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
