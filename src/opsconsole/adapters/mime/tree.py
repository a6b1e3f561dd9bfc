"""The MIME structure: multipart splitting, content types and transfer encodings."""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

from opsconsole.adapters.mime.headers import _decode_fields, _scan_headers
from opsconsole.adapters.mime.limits import (
    _MAX_BOUNDARY_CHARS,
    _MAX_PARAM_TEXT,
    _MAX_PARAMS,
    MAX_DEPTH,
    MAX_PARTS,
)
from opsconsole.adapters.mime.model import _Context, _Part

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"\s*({_TOKEN})\s*/\s*({_TOKEN})")
_PARAM = re.compile(rf';\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.){{0,2000}}"|[^;\s]*)')
_NAME_PARAM = re.compile(r"(?:^|;)\s*(?:file)?name\*?[0-9]*\*?\s*=", re.IGNORECASE)
_QUOTED_PAIR = re.compile(r"\\(.)")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_B64_RUN = re.compile(rb"([A-Za-z0-9+/]+)=*")
_CTE_TOKEN = re.compile(r"\s*([A-Za-z0-9_.+-]+)")


def _build_tree(part: _Part, ctx: _Context, *, depth: int, default_type: str) -> None:
    """Fill in ``part``'s content type and, for multiparts, its children (recursively)."""
    part.content_type, part.params = _content_type(part.get("content-type"), default_type, ctx)
    if not part.content_type.startswith("multipart/"):
        return
    boundary = part.params.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY_CHARS:
        ctx.note("malformed MIME: NoBoundaryInMultipartDefect")
        part.content_type, part.params = "text/plain", {}
        return
    if depth >= MAX_DEPTH:
        ctx.note(f"MIME nesting deeper than {MAX_DEPTH} levels; inner parts not read")
        return
    pieces, found, closed = _split_multipart(part.body, boundary.encode("utf-8", "replace"))
    if not found:
        ctx.note("malformed MIME: StartBoundaryNotFoundDefect")
        part.content_type, part.params = "text/plain", {}
        return
    if not closed:
        ctx.note("malformed MIME: CloseBoundaryNotFoundDefect")
    child_default = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
    for piece in pieces:
        if ctx.parts >= MAX_PARTS:
            ctx.note(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            break
        ctx.parts += 1
        fields, body_start = _scan_headers(piece, ctx, strict=False)
        child = _Part(headers=_decode_fields(fields, ctx), body=piece[body_start:])
        _build_tree(child, ctx, depth=depth + 1, default_type=child_default)
        part.children.append(child)
    part.body = b""  # the children hold their slices; drop the parent's copy
    if not part.children:
        ctx.note("malformed MIME: multipart without parts")


def _split_multipart(body: bytes, boundary: bytes) -> tuple[list[bytes], bool, bool]:
    """Split a multipart body at its delimiter lines (RFC 2046 §5.1.1).

    Returns the parts, whether any delimiter was found and whether the close delimiter was.
    """
    delimiter = re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$", re.MULTILINE)
    pieces: list[bytes] = []
    start: int | None = None
    found = closed = False
    for match in delimiter.finditer(body):
        found = True
        if start is not None:
            end = max(match.start() - 1, start)  # the line break before belongs to the delimiter
            if end > start and body[end - 1 : end] == b"\r":
                end -= 1
            pieces.append(body[start:end])
            if len(pieces) > MAX_PARTS:
                return pieces, found, True
        if match.group(1):
            closed = True
            break
        start = min(match.end() + 1, len(body))
    if start is not None and not closed:
        pieces.append(body[start:])
    return pieces, found, closed


def _content_type(value: str | None, default: str, ctx: _Context) -> tuple[str, dict[str, str]]:
    if value is None:
        return default, {}
    match = _CONTENT_TYPE.match(value)
    if match is None:
        ctx.note("malformed header 'Content-Type' (read as text/plain)")
        return "text/plain", {}
    return f"{match.group(1)}/{match.group(2)}".lower(), _params(value[match.end() :])


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for count, match in enumerate(_PARAM.finditer(text, 0, _MAX_PARAM_TEXT)):
        if count >= _MAX_PARAMS:
            break
        key, value = match.group(1).lower(), match.group(2)
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
        params.setdefault(key, value)
    return params


def _leaves(part: _Part) -> Iterator[_Part]:
    if part.is_multipart:
        for child in part.children:
            yield from _leaves(child)
    else:
        yield part


def _disposition(part: _Part) -> str:
    value = part.get("content-disposition") or ""
    return value.split(";", 1)[0].strip().lower()


def _is_attachment(part: _Part) -> bool:
    if part.content_type not in ("text/plain", "text/html"):
        return True
    if _disposition(part) == "attachment":
        return True
    return any(
        _NAME_PARAM.search(v or "")
        for v in (part.get("content-disposition"), part.get("content-type"))
    )


def _payload(part: _Part, ctx: _Context) -> bytes:
    """Undo the Content-Transfer-Encoding."""
    value = part.get("content-transfer-encoding") or "7bit"
    token = _CTE_TOKEN.match(value)  # "base64 (comment)" and "base64;" occur in the wild
    cte = token.group(1).lower() if token else value.strip().lower()
    data = part.body
    if cte == "base64":
        if b"=" not in data.rstrip(b"= \t\r\n"):  # padding only at the end
            try:
                return binascii.a2b_base64(data)
            except (binascii.Error, ValueError):
                pass
        ctx.note("malformed MIME: InvalidBase64PaddingDefect (decoded what could be read)")
        return _lenient_base64(data)
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte not in ("7bit", "8bit", "binary", ""):
        ctx.note(f"unknown Content-Transfer-Encoding {cte[:40]!r} (read as is)")
    return data


def _lenient_base64(data: bytes) -> bytes:
    """Decode base64 with missing or misplaced padding, in linear time.

    ``binascii`` stops at the first ``=``, so a body whose lines were encoded one by one
    (``SGk=`` on each line) would lose everything after its first line, and one without its
    final ``=`` would be refused; here each padded run is decoded on its own, its padding
    restored.
    """
    clean = _B64_JUNK.sub(b"", data)
    out: list[bytes] = []
    for match in _B64_RUN.finditer(clean):
        run = match.group(1)
        run = run[: len(run) - 1] if len(run) % 4 == 1 else run  # a lone 6-bit tail is no byte
        if run:
            try:
                out.append(binascii.a2b_base64(run + b"=" * (-len(run) % 4)))
            except (binascii.Error, ValueError):  # pragma: no cover - the run is clean
                continue
    return b"".join(out)
