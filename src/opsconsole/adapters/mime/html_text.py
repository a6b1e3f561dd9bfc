"""HTML-only mail bodies as plain text, by a small linear tokenizer (``html.parser`` is
quadratic on hostile input: see the package docstring)."""

from __future__ import annotations

import html
import re

from opsconsole.adapters.mime.limits import MAX_BODY_CHARS

_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]{0,40})([^>]{0,4096})>?"
    r"|<[!?/][^>]{0,4096}>?"
    r"|[^<]+"
    r"|<",
    re.DOTALL,
)
_HTML_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_HTML_SKIP = frozenset({"script", "style", "title", "template"})
_HTML_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "table", "blockquote"})
_HTML_BLOCK = frozenset(
    {
        "p", "div", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "h1", "h2", "h3",
        "h4", "h5", "h6", "section", "article", "header", "footer", "dl", "dd", "dt", "address",
        "form", "fieldset", "body", "html",
    }
)  # fmt: skip
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def html_to_text(markup: str, *, limit: int = MAX_BODY_CHARS) -> str:
    """Render HTML to readable plain text in linear time.

    Drops ``script``/``style``/``title``/``template`` content and comments, turns ``p``,
    ``div``, ``br``, ``li`` and other block elements into line breaks (``li`` gets a
    ``- `` bullet), keeps ``pre`` whitespace, appends link targets that differ from the
    link text, and unescapes entities. The result is *not* sanitized.

    Args:
        markup: The HTML source.
        limit: Stop once about this many characters have been produced.
    """
    out: list[str] = []
    size = 0
    pre = 0
    href: str | None = None
    link_start = 0
    pos = 0
    n = len(markup)

    def emit(text: str) -> None:
        nonlocal size
        if not pre:  # &nbsp; is layout (Outlook's empty paragraphs), not content
            text = _SPACES.sub(" ", text.replace("\xa0", " "))
            if not out or out[-1].endswith("\n"):
                text = text.lstrip(" ")
        if text:
            out.append(text)
            size += len(text)

    while pos < n and size < limit:
        match = _HTML_TOKEN.match(markup, pos)
        if match is None:  # pragma: no cover - the pattern always matches one character
            break
        pos = match.end()
        token, tag = match.group(0), match.group(2)
        if tag is None:
            if not token.startswith("<!--") and not (len(token) > 1 and token[1] in "!?/"):
                emit(html.unescape(token))
            continue
        tag = tag.lower()
        closing = bool(match.group(1))
        if not closing and tag in _HTML_SKIP:
            if not token.rstrip().endswith("/>"):
                close = re.compile(rf"</{tag}\s*>", re.IGNORECASE).search(markup, pos)
                pos = close.end() if close else n
            continue
        if tag == "pre":
            pre = max(pre - 1, 0) if closing else pre + 1
        if tag == "br":
            out.append("\n")
        elif tag == "li" and not closing:
            out.append("\n- ")
        elif tag in ("td", "th") and closing:
            out.append("  ")
        elif tag in _HTML_BLOCK:
            out.append("\n\n" if tag in _HTML_PARAGRAPH else "\n")
        elif tag == "a" and not closing:
            found = _HTML_HREF.search(match.group(3) or "")
            href = html.unescape(next((g for g in found.groups() if g), "")) if found else None
            link_start = len(out)
        elif tag == "a" and href:
            shown = "".join(out[link_start:]).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if href.lower().startswith(("http:", "https:", "mailto:")) and target not in shown:
                out.append(f" ({href})")
            href = None
        size += 1
    text = _TRAILING_SPACE.sub("\n", "".join(out))
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()[:limit]
