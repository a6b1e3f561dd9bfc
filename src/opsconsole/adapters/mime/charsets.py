"""Decoding text as mail clients mean it: lying charset labels and Windows supersets."""

from __future__ import annotations

import codecs
import re

from opsconsole.adapters.mime.model import _Context

_BLOCKED_CODECS = frozenset(
    {"punycode", "idna", "undefined", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"}
)


def _windows_1252(data: bytes) -> str:
    """Decode as Windows-1252; its five undefined bytes stay C1 controls (Latin-1)."""
    return data.decode("latin-1").translate(_CP1252_TABLE)


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes UTF-8 refused as Windows-1252."""
    if not isinstance(exc, UnicodeDecodeError):  # pragma: no cover - registered for decoding
        raise exc
    return _windows_1252(exc.object[exc.start : exc.end]), exc.end


def _utf8_else_cp1252(data: bytes) -> str:
    """UTF-8, with bytes that are not UTF-8 read as Windows-1252 (linear, C speed).

    A few stray bytes in UTF-8 text are decoded one by one; a body with many of them is a
    legacy single-byte body and is decoded as Windows-1252 as a whole.
    """
    if data.decode("utf-8", "replace").count("\ufffd") - data.count(b"\xef\xbf\xbd") > 64:
        return _windows_1252(data)
    return data.decode("utf-8", _CP1252_FALLBACK)


_CP1252_TABLE = {
    0x80 + i: ch
    for i, ch in enumerate(bytes(range(0x80, 0xA0)).decode("cp1252", "replace"))
    if ch != "\ufffd"
}
_CP1252_FALLBACK = "opsconsole-cp1252"
codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


_SUPERSETS = {
    "iso8859-1": "cp1252",
    "cp1252": "cp1252",
    "iso8859-9": "cp1254",
    "tis-620": "cp874",
    "iso8859-11": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
}
"""Labels mail clients use for their Windows supersets (the WHATWG Encoding Standard's
mapping): Outlook's "iso-8859-1" holds cp1252 smart quotes and the euro sign, "gb2312"
mail holds GBK characters, "ks_c_5601-1987" is cp949, "shift_jis" is cp932."""


def _superset_label(match: re.Match[str]) -> str:
    """An encoded word's charset, widened like a body's (see :data:`_SUPERSETS`)."""
    label = match.group(1)
    try:
        name = codecs.lookup(label.split("*", 1)[0]).name
    except LookupError:
        return match.group(0)
    wide = _SUPERSETS.get(name)
    return f"=?{wide}?" if wide and wide != name else match.group(0)


def _text_codec(name: str) -> codecs.CodecInfo:
    """``codecs.lookup`` for text charsets: binary and blocked codecs raise LookupError too."""
    info = codecs.lookup(name)
    if not getattr(info, "_is_text_encoding", True) or info.name in _BLOCKED_CODECS:
        raise LookupError(name)
    return info


def _decode_text(data: bytes, charset: str | None, ctx: _Context) -> str:
    """Decode body bytes; unknown charsets fall back to latin-1 with a note."""
    name = (charset or "us-ascii").strip().strip("\"'").lower()[:60]
    try:
        info = _text_codec(name)
    except LookupError:
        ctx.note(f"unknown charset {name!r} (decoded as latin-1)")
        return data.decode("latin-1")
    if info.name in ("ascii", "utf-8"):
        # "us-ascii" (also the default) is often a lie, and so is "utf-8": UTF-8 is the
        # guess, and a byte that is not UTF-8 is read as Windows-1252 (what Outlook and old
        # mailers send undeclared) rather than turned into U+FFFD.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        what = "8-bit body without a charset" if charset is None else f"body is not {name!r}"
        ctx.note(f"{what}: bytes that are not UTF-8 read as windows-1252")
        return _utf8_else_cp1252(data)
    codec = _SUPERSETS.get(info.name, info.name)
    if codec == "cp1252":
        return _windows_1252(data)
    try:
        return data.decode(codec, "replace")
    except Exception:
        ctx.note(f"charset {name!r} failed to decode (decoded as latin-1)")
        return data.decode("latin-1")
