"""The caps that keep :func:`~opsconsole.adapters.mime.parser.parse_message` linear, and
the size format of the rejection reasons."""

from __future__ import annotations

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""Largest raw message accepted (bytes)."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest header field accepted, unfolded, name included (bytes)."""
MAX_BODY_CHARS = 200_000
"""The stored body is cut here (characters)."""
MAX_HEADER_SECTION_BYTES = 256 * 1024
"""Largest top-level header section accepted (bytes)."""
MAX_HEADER_FIELDS = 1000
"""Most header fields accepted in the top-level header section."""
MAX_PARTS = 500
"""MIME parts read per message; later ones are skipped with a defect note."""
MAX_DEPTH = 8
"""Deepest multipart nesting read; deeper parts are skipped with a defect note."""
MAX_SUBJECT_CHARS = 1000
"""The stored subject is cut here (characters)."""

_MAX_NAME_CHARS = 200
_MAX_ADDRESS_CHARS = 320
_MAX_ATTACHMENT_NAME_CHARS = 255
_MAX_ID_CHARS = 500
_MAX_STRUCTURED_CHARS = 1024
_STDLIB_BUDGET = 64 * 1024
_MAX_ENCODED_WORDS = 200
_MAX_HTML_BYTES = 2_000_000
_MAX_REFERENCES = 100
_MAX_DEFECTS = 30
_PART_HEADER_FIELDS = 100
_PART_HEADER_SECTION = 64 * 1024
_MAX_BOUNDARY_CHARS = 200
_MAX_PARAMS = 50
_MAX_PARAM_TEXT = 4096


def format_size(n: int) -> str:
    """``26 MB``, ``5.1 KB``: sizes in rejection reasons (binary units, as the caps)."""
    return _fmt_size(n)


def _fmt_size(n: int) -> str:
    if n >= 1024 * 1024:
        value, unit = n / (1024 * 1024), "MB"
    else:
        value, unit = n / 1024, "KB"
    text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{text} {unit}"
