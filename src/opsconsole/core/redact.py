"""Remove secrets from URLs and free text before they reach a log, Sentry or the screen.

Pure functions over strings (stdlib only). What counts as a secret:

* a URL's userinfo (``user:pass@``, a Sentry DSN's public key), every query value, its
  fragment, and the secret path of webhook URLs (Slack ``/services/…``, Discord
  ``/api/webhooks/…``);
* ``Bearer``/``Basic`` credentials and the values of auth headers and ``token=``-like pairs;
* known token shapes (Sentry ``sntryu_``/``sntrys_``, Grafana ``glsa_``, Slack ``xox?-``,
  GitHub, GitLab, AWS access key ids, JWTs);
* every literal secret the caller passes (config tokens, header values), in any letter
  case, also percent-encoded (either hex case), escaped as in a Python ``repr`` or a JSON
  string (a password with a backslash or a quote, seen in a Sentry frame's locals), and
  base64-encoded at any alignment (``Basic``/``AUTH PLAIN`` credentials that hold it).

Redaction errs on the side of hiding too much: a redacted log line is still useful, a
leaked token is an incident.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "mask_url",
    "redact_query",
    "redact_text",
    "redact_url",
]

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4
"""Shorter literal secrets are ignored (replacing "ab" everywhere would destroy the text)."""
_MIN_BASE64_CHARS = 8
"""A secret's base64 form is matched only from this many characters (two 3-byte groups)."""

_URL = re.compile(r"""\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>"'`\\]+""")
_URL_TRAILER = ".,;:!?)]}"

_WEBHOOK_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hooks.slack.com", ("/services/", "/workflows/", "/triggers/")),
    ("hooks.slack-gov.com", ("/services/", "/workflows/", "/triggers/")),
    ("discord.com", ("/api/webhooks/",)),
    ("discordapp.com", ("/api/webhooks/",)),
    ("api.telegram.org", ("/bot",)),
)

_TOKEN_SHAPES = re.compile(
    r"""
    \b(?:
        sntry[usp]_[A-Za-z0-9_=+/.\-]{8,}           # Sentry user / org / project tokens
      | glsa_[A-Za-z0-9_]{8,}                       # Grafana service account
      | glc_[A-Za-z0-9_=+/]{16,}                    # Grafana Cloud
      | xox[abeoprs]-[A-Za-z0-9\-]{8,}              # Slack bot / user / app tokens
      | xapp-[A-Za-z0-9\-]{8,}
      | gh[pousr]_[A-Za-z0-9]{20,}                  # GitHub
      | github_pat_[A-Za-z0-9_]{20,}
      | glpat-[A-Za-z0-9_\-]{16,}                   # GitLab
      | (?:AKIA|ASIA)[0-9A-Z]{16}                   # AWS access key id
      | eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*  # JWT
    )
    """,
    re.VERBOSE,
)

_AUTH_SCHEME = re.compile(r"\b((?i:bearer)|Basic|Digest|Token)(\s+)[A-Za-z0-9._~+/=\-]{8,}")

# Header-like names whose whole value is a credential: `Authorization: Bearer x`,
# `{'X-Api-Key': 'x'}`, `"cookie": "x"`.
_SECRET_HEADER = re.compile(
    r"""
    (?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi-key|\bx-auth-token|\bprivate-token
        |\bx-sentry-auth|\bset-cookie|\bcookie|\bx-grafana-key|\bx-vault-token)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>(?!\[redacted\])[^"'\r\n]+)
    """,
    re.I | re.VERBOSE,
)

# `key=value` / `"key": "value"` pairs whose value is a secret.
_SECRET_PAIR = re.compile(
    r"""
    (?P<name>\b[A-Za-z0-9_\-]*(?:token|secret|password|passwd|api_?key|sentry_key|dsn
        |webhook(?:_url)?|client_secret|private_key|credentials?))
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>(?!\[redacted\](?:$|[\s"',;&}\])]))
        (?:(?<=")(?:[^"\\\r\n]|\\.)+|(?<=')(?:[^'\\\r\n]|\\.)+  # to the closing quote
        |(?:\[redacted\]|[^\s"',;&}\])\[])+))
    """,
    re.I | re.VERBOSE,
)

# A webhook URL written without its scheme (``hooks.slack.com/services/T…/B…/secret``).
_BARE_WEBHOOK = re.compile(
    r"""\b((?:hooks\.slack(?:-gov)?\.com)/(?:services|workflows|triggers)/)[^\s"'<>`]+"""
    r"""|\b((?:discord(?:app)?\.com)/api/webhooks/)[^\s"'<>`]+""",
    re.I,
)


_USERINFO = re.compile(r"^([^:]*://)[^/?#]*@")


def mask_url(url: str) -> str:
    """``url`` to show: its credentials and whole query string hidden.

    ``https://u:pw@host/health?key=k`` is shown ``https://***@host/health?***`` (the
    health pane's target, URLs quoted in config errors).
    """
    masked = _USERINFO.sub(r"\1***@", url, count=1)
    head, sep, _query = masked.partition("?")
    return head + "?***" if sep else masked


def redact_url(url: str) -> str:
    """Return ``url`` without userinfo, with every query value, the fragment and
    webhook path secrets replaced by ``[redacted]``.

    ``https://u:p@h/x?token=abc&q=1#f`` → ``https://h/x?token=[redacted]&q=[redacted]#[redacted]``.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        path = _redact_path(netloc, parts.path)
        query = redact_query(parts.query)
        fragment = REDACTED if parts.fragment else ""
        result = urlunsplit((parts.scheme, netloc, path, query, fragment))
    except ValueError:
        # Unparseable (a stray "[" in the host...): keep only what surely is not secret.
        head = url.split("?", 1)[0].split("#", 1)[0]
        scheme, sep, rest = head.partition("://")
        if sep:
            head = scheme + sep + rest.rpartition("@")[2]
        result = head + (f"?{REDACTED}" if "?" in url or "#" in url else "")
    return _TOKEN_SHAPES.sub(REDACTED, result)


def _redact_path(netloc: str, path: str) -> str:
    host = netloc.rpartition(":")[0] if netloc.count(":") == 1 else netloc
    host = host.lower().rstrip(".")
    for webhook_host, prefixes in _WEBHOOK_PATHS:
        if host == webhook_host or host.endswith("." + webhook_host):
            for prefix in prefixes:
                if path.startswith(prefix) and len(path) > len(prefix):
                    return prefix + REDACTED
    return path


def redact_query(query: str) -> str:
    """Return a query string (without ``?``) with every value replaced by ``[redacted]``.

    ``token=abc&flag`` → ``token=[redacted]&[redacted]``.
    """
    if not query:
        return ""
    out: list[str] = []
    for part in query.split("&"):
        if not part:
            continue
        name, sep, _ = part.partition("=")
        out.append(f"{name}={REDACTED}" if sep else REDACTED)
    return "&".join(out)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with URLs, auth values, token shapes and the given secrets redacted.

    Args:
        text: any free text (a log line, an exception message, a repr).
        secrets: literal secret values; those of at least 4 characters are replaced
            wherever they appear, also percent-encoded.
    """
    if not text:
        return text
    text = _replace_literals(text, secrets)
    text = _URL.sub(_url_match, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _BARE_WEBHOOK.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)
    text = _SECRET_HEADER.sub(_pair_match, text)
    text = _SECRET_PAIR.sub(_pair_match, text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def _replace_literals(text: str, secrets: Iterable[str]) -> str:
    usable = tuple(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH)
    if not usable:
        return text
    variants, pattern = _literal_matcher(usable)
    lowered = text.lower()
    if any(variant in lowered for variant in variants):
        text = pattern.sub(REDACTED, text)
    return text


@lru_cache(maxsize=64)
def _literal_matcher(secrets: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """The lowercased variants of ``secrets`` and one case-insensitive pattern for them."""
    variants: set[str] = set()
    for secret in secrets:
        variants.update(v for v in _variants(secret) if len(v) >= MIN_SECRET_LENGTH)
    ordered = sorted(variants, key=len, reverse=True)  # longest first: no partial leftovers
    pattern = re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)
    return tuple(dict.fromkeys(v.lower() for v in ordered)), pattern


def _variants(secret: str) -> set[str]:
    """How ``secret`` can be spelled in a log line, a repr, a JSON string or a header."""
    found = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    for _ in range(2):  # escaped once (a repr) and twice (a repr of a dict holding a repr)
        for variant in list(found):
            found.update(_escaped(variant))
    found.update(_base64_runs(secret))
    return found


def _escaped(text: str) -> set[str]:
    doubled = text.replace("\\", "\\\\")
    return {
        repr(text)[1:-1],  # repr picks the quote: the other one is not escaped
        doubled,
        doubled.replace("'", "\\'"),  # inside a '…' repr
        doubled.replace('"', '\\"'),  # inside a "…" repr
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }


def _base64_runs(secret: str) -> set[str]:
    """The base64 characters that only ``secret``'s bytes decide, at each of the three
    alignments it can have inside a longer encoded value (``user:secret``)."""
    data = secret.encode("utf-8", "replace")
    runs: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        first, last = -(-offset // 3), (offset + len(data)) // 3  # whole groups in secret
        # The whole groups, and (for a secret that ends the value, as in ``user:secret``)
        # the same run with the padded last group.
        for run in (encoded[4 * first : 4 * last], encoded[4 * first :]):
            if len(run) >= _MIN_BASE64_CHARS:
                runs.update((run, run.replace("+", "-").replace("/", "_")))
    return runs


def _url_match(match: re.Match[str]) -> str:
    url = match.group(0)
    trailer = ""
    while url and url[-1] in _URL_TRAILER and not url.endswith(REDACTED):
        trailer = url[-1] + trailer
        url = url[:-1]
    return redact_url(url) + trailer


def _pair_match(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.strip() in ("", REDACTED):
        return match.group(0)
    return f"{match.group('name')}{match.group('sep')}{REDACTED}"
