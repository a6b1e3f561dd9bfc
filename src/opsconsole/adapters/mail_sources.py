"""Raw messages from disk: a Maildir, an mbox file, one ``.eml`` file or a directory of them."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from opsconsole.adapters.mime.limits import MAX_MESSAGE_BYTES, _fmt_size


class MailSourceError(Exception):
    """A mail source (path) cannot be read at all; the message is one line."""


def iter_source(
    path: Path,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    problems: list[tuple[str, str]] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(source id, raw bytes)`` for every message under ``path``.

    ``path`` may be a Maildir (``cur``/``new``; ``tmp`` holds deliveries in progress and is
    not read), an mbox file (starts with ``From ``), a single ``.eml`` file, or a directory
    of ``.eml`` files. Source ids are ``new/<file>`` for a Maildir, ``<name>#<n>`` for an
    mbox and the file name otherwise.

    Args:
        path: The mailbox.
        max_bytes: Messages larger than this are not read into memory.
        problems: When given, messages that cannot be read (file vanished or unreadable,
            larger than ``max_bytes``) are appended here as ``(source id, reason)`` and
            skipped; when None such a message raises :class:`MailSourceError`.

    Raises:
        MailSourceError: The path is missing, unreadable or not a mailbox (one line).
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        if (path / "cur").is_dir() or (path / "new").is_dir():
            yield from _iter_maildir(path, max_bytes, problems)
        else:
            yield from _iter_eml_dir(path, max_bytes, problems)
    elif stat.S_ISREG(info.st_mode):
        head = _read_head(path)
        if head.startswith(b"From "):
            yield from _iter_mbox(path, max_bytes, problems)
        else:
            data = _read_file(path, path.name, max_bytes, problems, fatal=True)
            if data is not None:
                yield path.name, data
    else:
        raise MailSourceError(f"{path} is not a mailbox (not a file or directory)")


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(5)
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {exc.strerror or exc}") from None


def _problem(
    problems: list[tuple[str, str]] | None, source_id: str, reason: str, *, fatal: bool = False
) -> None:
    if problems is None or fatal:
        raise MailSourceError(f"{source_id}: {reason}")
    problems.append((source_id, reason))


def _read_file(
    path: Path,
    source_id: str,
    max_bytes: int,
    problems: list[tuple[str, str]] | None,
    *,
    fatal: bool = False,
) -> bytes | None:
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                _problem(
                    problems,
                    source_id,
                    f"message is {_fmt_size(size)} (limit {_fmt_size(max_bytes)})",
                    fatal=False,
                )
                return None
            return fh.read(max_bytes + 1)
    except OSError as exc:
        _problem(problems, source_id, f"cannot read: {exc.strerror or exc}", fatal=fatal)
        return None


def delivery_order(name: str) -> tuple[str | int, ...]:
    """Sort key for Maildir file names in delivery order: their numbers compared as numbers.

    Maildir names start with the delivery time, e.g. ``1764300000.M5234P12Q1.host``
    (seconds, then microseconds *without* leading zeros), so a plain string sort puts
    ``M123456`` before ``M5234`` within a second, and a reply before the message it answers.
    """
    parts = re.split(r"(\d+)", name)  # even positions text, odd positions digits
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def _iter_maildir(
    path: Path, max_bytes: int, problems: list[tuple[str, str]] | None
) -> Iterator[tuple[str, bytes]]:
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        try:
            names = sorted(os.listdir(folder), key=delivery_order)
        except OSError as exc:
            raise MailSourceError(f"cannot read {folder}: {exc.strerror or exc}") from None
        for name in names:
            if name.startswith("."):
                continue
            file = folder / name
            if not file.is_file():
                continue
            data = _read_file(file, f"{sub}/{name}", max_bytes, problems)
            if data is not None:
                yield f"{sub}/{name}", data


def _iter_eml_dir(
    path: Path, max_bytes: int, problems: list[tuple[str, str]] | None
) -> Iterator[tuple[str, bytes]]:
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    emls = [e for e in entries if e.lower().endswith(".eml") and (path / e).is_file()]
    if entries and not emls:
        raise MailSourceError(f"{path} is not a mailbox (no cur/new folders and no .eml files)")
    for name in emls:
        data = _read_file(path / name, name, max_bytes, problems)
        if data is not None:
            yield name, data


_ENVELOPE = re.compile(rb"From \S+ .*\b\d{1,2}:\d{2}\b.*\b\d{4}\b")
"""An mbox separator: ``From sender Mon Mar  3 10:00:00 2025`` (a time and a year). A body
line such as "From the logs we see…" that the writer did not escape is text, not a message."""
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def _iter_mbox(
    path: Path, max_bytes: int, problems: list[tuple[str, str]] | None
) -> Iterator[tuple[str, bytes]]:
    """Read an mbox one message's raw bytes at a time (mboxrd ``>From`` lines unescaped)."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise MailSourceError(f"cannot read {path}: {_reason(exc)}") from None
    with fh:
        try:
            spans = _mbox_spans(fh)
        except OSError as exc:
            raise MailSourceError(f"cannot read {path}: {_reason(exc)}") from None
        for index, (begin, end) in enumerate(spans, start=1):
            source_id = f"{path.name}#{index}"
            if end - begin > max_bytes:
                reason = f"message is {_fmt_size(end - begin)} (limit {_fmt_size(max_bytes)})"
                _problem(problems, source_id, reason)
                continue
            try:
                fh.seek(begin)
                data = fh.read(end - begin)
            except OSError as exc:
                _problem(problems, source_id, f"cannot read: {_reason(exc)}")
                continue
            yield source_id, _ESCAPED_FROM.sub(rb"\1", data)


def _mbox_spans(fh: BinaryIO) -> list[tuple[int, int]]:
    """(start, end) offsets of each message, its ``From`` line and trailing blank line
    excluded; one scan of the file."""
    spans: list[tuple[int, int]] = []
    begin: int | None = None
    pos = 0
    last_blank = 0  # the length of the previous line when it was blank
    for line in fh:
        if line.startswith(b"From ") and (
            pos == 0 or (len(line) <= 256 and _ENVELOPE.match(line.rstrip(b"\r\n")))
        ):
            if begin is not None:
                spans.append((begin, max(begin, pos - last_blank)))
            begin = pos + len(line)
        pos += len(line)
        last_blank = len(line) if line in (b"\n", b"\r\n") else 0
    if begin is not None:
        spans.append((begin, pos))
    return spans


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
