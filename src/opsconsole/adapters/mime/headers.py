"""Header sections: split, capped and decoded before anything else reads them."""

from __future__ import annotations

import re

from opsconsole.adapters.mime.limits import (
    _PART_HEADER_FIELDS,
    _PART_HEADER_SECTION,
    MAX_HEADER_BYTES,
    MAX_HEADER_FIELDS,
    MAX_HEADER_SECTION_BYTES,
    _fmt_size,
)
from opsconsole.adapters.mime.model import MailRejected, _Context

_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]{1,200})[ \t]*:")


def _scan_headers(
    data: bytes, ctx: _Context, *, strict: bool
) -> tuple[list[tuple[str, bytes]], int]:
    """Split the header section into ``(name, unfolded raw value)`` pairs.

    Returns the fields and the offset where the body starts. With ``strict`` (the top-level
    section) broken caps raise :class:`MailRejected`; inside MIME parts they drop the field or
    the rest of the section with a defect note.
    """
    section_limit = MAX_HEADER_SECTION_BYTES if strict else _PART_HEADER_SECTION
    field_limit = MAX_HEADER_FIELDS if strict else _PART_HEADER_FIELDS
    fields: list[tuple[str, bytes]] = []
    name: str | None = None
    chunks: list[bytes] = []
    size = 0
    dropped = False
    pos = 0
    n = len(data)
    body_start = n

    def finish() -> None:
        if name is not None and not dropped:
            fields.append((name, b"".join(chunks).strip()))

    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        next_pos = n if nl < 0 else nl + 1
        line = data[pos:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            body_start = next_pos
            break
        if pos >= section_limit:
            if strict:
                raise MailRejected(f"header section is over the {_fmt_size(section_limit)} limit")
            ctx.note(f"MIME part header section over {_fmt_size(section_limit)}; rest skipped")
            body_start = pos
            break
        if line[:1] in (b" ", b"\t"):
            if name is None:
                ctx.note("malformed MIME: FirstHeaderLineIsContinuationDefect")
            else:
                chunks.append(line)
                size += len(line)
        else:
            match = _FIELD_NAME.match(line)
            if match is None:
                if pos == 0 and line.startswith(b"From "):
                    pos = next_pos  # mbox separator line
                    continue
                if name is None:
                    if strict:
                        raise MailRejected("not an email (no headers)")
                    body_start = pos  # a part without headers
                    break
                ctx.note("malformed MIME: MissingHeaderBodySeparatorDefect")
                body_start = pos
                break
            finish()
            if len(fields) >= field_limit:
                if strict:
                    count = _count_fields(data, pos, section_limit)
                    raise MailRejected(
                        f"message has {count:,} header fields (limit {field_limit:,})"
                    )
                ctx.note(f"MIME part has over {field_limit} header fields; rest skipped")
                name = None
                body_start = _section_end(data, pos)
                break
            name = match.group(1).decode("ascii").lower()
            chunks = [line[match.end() :]]
            size = len(line)
            dropped = False
        if name is not None and size > MAX_HEADER_BYTES and not dropped:
            if strict:
                total = _field_size(data, next_pos, size)
                raise MailRejected(
                    f"header {_header_label(name)} is {_fmt_size(total)} "
                    f"(limit {_fmt_size(MAX_HEADER_BYTES)})"
                )
            ctx.note(f"header {_header_label(name)} in a MIME part is over 16 KB; skipped")
            dropped = True
        pos = next_pos
    finish()
    if strict and not fields:
        raise MailRejected("not an email (no headers)")
    return fields, body_start


def _field_size(data: bytes, pos: int, size: int) -> int:
    """Measure the rest of an oversized folded field (for the rejection message)."""
    n = len(data)
    while pos < n and data[pos : pos + 1] in (b" ", b"\t"):
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        size += end - pos
        pos = n if nl < 0 else nl + 1
    return size


def _count_fields(data: bytes, pos: int, limit: int) -> int:
    """Roughly count the fields of an over-full header section (for the rejection message)."""
    end = _section_end(data, pos, limit)
    return MAX_HEADER_FIELDS + sum(
        1 for line in data[pos:end].split(b"\n") if line[:1] not in (b" ", b"\t", b"", b"\r")
    )


_SECTION_END = re.compile(rb"\n\r?\n")


def _section_end(data: bytes, pos: int, limit: int | None = None) -> int:
    match = _SECTION_END.search(data, pos, limit if limit else len(data))
    return match.end() if match else (limit or len(data))


def _decode_fields(fields: list[tuple[str, bytes]], ctx: _Context) -> list[tuple[str, str]]:
    """Decode raw header values: UTF-8 (RFC 6532), else latin-1 with a note; NULs removed."""
    out: list[tuple[str, str]] = []
    for name, raw in fields:
        value = raw.replace(b"\r\n", b"").replace(b"\n", b"")
        if b"\x00" in value:
            value = value.replace(b"\x00", b"")
            ctx.note("NUL bytes removed")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
            ctx.note(f"header {_header_label(name)} is not UTF-8 (decoded as latin-1)")
        out.append((name, text))
    return out


def _header_label(name: str) -> str:
    return "'" + "-".join(w.capitalize() for w in name[:40].split("-")) + "'"
