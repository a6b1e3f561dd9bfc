"""A hostile-mail corpus, built in code (nothing is stored on disk).

``CASES`` maps a case name to a :class:`HostileCase` whose ``build()`` returns the raw bytes
(built lazily: a few cases are 25 MB). ``expect`` says what intake must do with it:
``"parse"`` (a ParsedMail, possibly with defects), ``"reject"`` (MailRejected) or
``"either"``. Every case must finish within 2 s of CPU (RELIABILITY-AND-PERFORMANCE.md §A5).

Families: terminal escapes and markup in every stored field (via encoded words, RFC 2231,
raw UTF-8, HTML), charsets, broken MIME, size and count caps, quadratic-parser traps
(encoded words, address and parameter parsing, ``html.parser`` comments, line-heavy bodies,
many parts), NUL bytes, dates, addresses, non-email bytes, and seeded random mutations.
"""

from __future__ import annotations

import base64
import random
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Expect = Literal["parse", "reject", "either"]

MB = 1024 * 1024


@dataclass(frozen=True)
class HostileCase:
    """One hostile message: a name, a lazy builder and the required outcome."""

    name: str
    build: Callable[[], bytes]
    expect: Expect = "either"


CASES: dict[str, HostileCase] = {}


def _add(name: str, expect: Expect, build: Callable[[], bytes]) -> None:
    assert name not in CASES, name
    CASES[name] = HostileCase(name, build, expect)


def message(
    *,
    subject: bytes = b"Help",
    sender: bytes = b"Alice <alice@example.com>",
    headers: bytes = b"",
    content_type: bytes = b"text/plain; charset=utf-8",
    body: bytes = b"Hello\n",
    message_id: bytes | None = b"<m1@example.com>",
    date: bytes = b"Mon, 03 Mar 2025 10:00:00 +0000",
) -> bytes:
    """Assemble a simple message from raw pieces (LF line endings)."""
    out = b"From: " + sender + b"\nTo: support@example.com\nSubject: " + subject + b"\n"
    if message_id is not None:
        out += b"Message-ID: " + message_id + b"\n"
    out += b"Date: " + date + b"\nMIME-Version: 1.0\n"
    out += headers
    out += b"Content-Type: " + content_type + b"\n\n" + body
    return out


def ew_b(text: str, charset: str = "utf-8") -> bytes:
    """One RFC 2047 B encoded word."""
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(text.encode("utf-8")) + b"?="


def ew_q(text: str) -> bytes:
    """One RFC 2047 Q encoded word (every byte hex-escaped)."""
    return b"=?utf-8?Q?" + b"".join(b"=%02X" % c for c in text.encode("utf-8")) + b"?="


def multipart(
    parts: list[bytes], *, boundary: bytes = b"BOUND", subtype: bytes = b"mixed"
) -> bytes:
    """A multipart message from already-serialized parts (headers + blank line + body)."""
    body = (
        b"".join(b"--" + boundary + b"\n" + p + b"\n" for p in parts) + b"--" + boundary + b"--\n"
    )
    return message(
        content_type=b"multipart/" + subtype + b'; boundary="' + boundary + b'"', body=body
    )


def attachment(name_param: bytes, *, ctype: bytes = b"application/octet-stream") -> bytes:
    """A base64 attachment part whose Content-Disposition carries ``name_param``."""
    return (
        b"Content-Type: " + ctype + b"\nContent-Disposition: attachment; " + name_param
        + b"\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"
    )  # fmt: skip


# -- 1. terminal escapes and markup, in every stored field ------------------------------------

PAYLOADS: dict[str, str] = {
    "osc52": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "osc8": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "osc0-title": "\x1b]0;owned\x07",
    "csi-clear": "\x1b[2J\x1b[H",
    "csi-8bit": "\x9b31m red",
    "dcs": "\x1bP+q544e\x1b\\",
    "bidi-rlo": "invoice\u202egnp.exe",
    "bidi-isolate": "\u2066abc\u2069\u200f",
    "cr-overwrite": "safe\rEVIL",
    "crlf-bcc": "hi\r\nBcc: victim@example.com",
    "markup-click": "[@click=app.quit]x[/]",
    "markup-link": "[link=https://evil.example]x[/link]",
    "markup-lone": "[/foo] oops [",
    "bell-bs": "\x07\x08\x0b\x0c\x7f",
    "c1-all": "".join(chr(c) for c in range(0x80, 0xA0)),
    "c0-all": "".join(chr(c) for c in range(1, 0x20)),
}


def _escape_cases() -> None:
    for key, payload in PAYLOADS.items():
        _add(f"subject-b-{key}", "parse", lambda p=payload: message(subject=ew_b("[BUG] " + p)))
        _add(f"subject-q-{key}", "parse", lambda p=payload: message(subject=ew_q(p)))
        _add(
            f"subject-raw-{key}",
            "parse",
            lambda p=payload: message(subject=p.replace("\r\n", " ").encode("utf-8")),
        )
        _add(
            f"from-name-{key}",
            "parse",
            lambda p=payload: message(sender=ew_b(p) + b" <alice@example.com>"),
        )
        _add(
            f"filename-2231-{key}",
            "parse",
            lambda p=payload: multipart(
                [
                    b"Content-Type: text/plain\n\nsee attached",
                    attachment(b"filename*=utf-8''" + urllib.parse.quote(p + ".pdf").encode()),
                ]
            ),
        )
        _add(
            f"filename-ew-{key}",
            "parse",
            lambda p=payload: multipart(
                [b"Content-Type: text/plain\n\nx", attachment(b'filename="' + ew_b(p) + b'"')]
            ),
        )
        _add(
            f"body-plain-{key}",
            "parse",
            lambda p=payload: message(body=("line1\n" + p + "\nline3\n").encode("utf-8")),
        )
        _add(
            f"body-html-{key}",
            "parse",
            lambda p=payload: message(
                content_type=b"text/html; charset=utf-8",
                body=("<p>hi</p><p>" + p + "</p>").encode("utf-8"),
            ),
        )


# -- 2. charsets --------------------------------------------------------------------------------

BODY_CHARSETS = [
    "x-foo", "rot13", "base64", "zlib", "hex", "punycode", "idna", "utf-7", "", '"', "undefined",
    "unicode_escape", "a" * 500, "utf-8\x00", "../../etc/passwd", "utf-16", "utf-32", "cp1252",
    "iso-2022-jp", "gb18030",
]  # fmt: skip


def _charset_cases() -> None:
    for i, cs in enumerate(BODY_CHARSETS):
        _add(
            f"body-charset-{i}",
            "parse",
            lambda c=cs: message(
                content_type=b'text/plain; charset="' + c.encode("latin-1") + b'"',
                body=b"caf\xe9 \x1b[2J +AGEAYgBj- \\x1b ok\n" * 50,
            ),
        )
    for i, cs in enumerate(["x-foo", "rot13", "utf-7", "punycode", "idna", "unknown-8bit"]):
        _add(
            f"ew-charset-{i}",
            "parse",
            lambda c=cs: message(subject=b"=?" + c.encode() + b"?Q?caf=E9=1B=5B2J?= tail"),
        )
    _add("body-invalid-utf8", "parse", lambda: message(body=b"\xff\xfe\xc3\x28 \xed\xa0\x80 ok\n"))
    _add("header-latin1-8bit", "parse", lambda: message(subject=b"caf\xe9 \x9b2J"))
    _add("header-utf8-surrogate", "parse", lambda: message(subject=b"\xed\xa0\x80\xed\xbf\xbf x"))
    _add(
        "html-charset-unknown",
        "parse",
        lambda: message(content_type=b"text/html; charset=x-nope", body=b"<b>caf\xe9</b>"),
    )
    _add(
        "utf7-big",
        "parse",
        lambda: message(content_type=b"text/plain; charset=utf-7", body=b"+AGEAYgBj-" * 300_000),
    )


# -- 3. broken MIME -----------------------------------------------------------------------------


def _mime_cases() -> None:
    _add(
        "no-close-boundary",
        "parse",
        lambda: message(
            content_type=b'multipart/mixed; boundary="B"',
            body=b"--B\nContent-Type: text/plain\n\nbody text\n",
        ),
    )
    _add(
        "no-boundary-param",
        "parse",
        lambda: message(content_type=b"multipart/mixed", body=b"--B\n\nhello\n--B--\n"),
    )
    _add(
        "boundary-never-used",
        "parse",
        lambda: message(content_type=b'multipart/mixed; boundary="ZZ"', body=b"just text\n"),
    )
    _add(
        "empty-boundary",
        "parse",
        lambda: message(content_type=b'multipart/mixed; boundary=""', body=b"--\n\nx\n----\n"),
    )
    _add(
        "boundary-regex-meta",
        "parse",
        lambda: multipart([b"Content-Type: text/plain\n\nok"], boundary=b"(.*)+[a]{1,}\\"),
    )
    _add(
        "boundary-long",
        "parse",
        lambda: multipart([b"Content-Type: text/plain\n\nok"], boundary=b"b" * 1000),
    )
    _add("nested-deep-50", "parse", lambda: _nested(50))
    _add("nested-deep-8", "parse", lambda: _nested(8))
    _add(
        "parts-5000",
        "parse",
        lambda: multipart([b"Content-Type: text/plain\n\np%d" % i for i in range(5000)]),
    )
    _add(
        "parts-tiny-25mb",
        "parse",
        lambda: message(
            content_type=b'multipart/mixed; boundary="X"',
            body=b"--X\n\nx\n" * ((25 * MB - 1000) // 8) + b"--X--\n",
        ),
    )
    _add(
        "base64-garbage",
        "parse",
        lambda: message(
            headers=b"Content-Transfer-Encoding: base64\n", body=b"!!!!not*base64***=\n"
        ),
    )
    _add(
        "base64-bad-padding",
        "parse",
        lambda: message(headers=b"Content-Transfer-Encoding: base64\n", body=b"aGVsbG8gd29ybGQ\n"),
    )
    _add(
        "qp-broken",
        "parse",
        lambda: message(
            headers=b"Content-Transfer-Encoding: quoted-printable\n", body=b"a=\nb=ZZ=4=\n=1B[2J"
        ),
    )
    _add(
        "cte-unknown",
        "parse",
        lambda: message(headers=b"Content-Transfer-Encoding: x-uuencode\n", body=b"begin 644 x\n"),
    )
    _add(
        "missing-separator",
        "parse",
        lambda: b"From: a@example.com\nSubject: x\nthis line is body\nmore\n",
    )
    _add(
        "first-line-continuation",
        "either",
        lambda: b" folded\nFrom: a@example.com\nSubject: x\n\nbody\n",
    )
    _add(
        "digest",
        "parse",
        lambda: multipart(
            [b"\nFrom: x@example.com\nSubject: inner\n\ninner body", b"\nSubject: two\n\nb"],
            subtype=b"digest",
        ),
    )
    _add(
        "rfc822-attached",
        "parse",
        lambda: multipart(
            [
                b"Content-Type: text/plain\n\nforwarding",
                b"Content-Type: message/rfc822\n\nFrom: y@example.com\nSubject: "
                + ew_b("\x1b]52;c;x\x07")
                + b"\n\ninner",
            ]
        ),
    )
    _add(
        "bounce-report",
        "parse",
        lambda: message(
            sender=b"MAILER-DAEMON@example.com",
            content_type=b'multipart/report; report-type=delivery-status; boundary="R"',
            body=b"--R\nContent-Type: text/plain\n\nDelivery failed\n--R\n"
            b"Content-Type: message/delivery-status\n\nStatus: 5.1.1\n--R--\n",
        ),
    )
    _add(
        "alternative-html-only",
        "parse",
        lambda: multipart(
            [b"Content-Type: text/html\n\n<div>only <i>html</i></div>"], subtype=b"alternative"
        ),
    )
    _add(
        "content-type-garbage",
        "parse",
        lambda: message(content_type=b'\x1b]52;c;x\x07///;;;=="', body=b"x"),
    )
    _add(
        "part-header-64kb",
        "parse",
        lambda: multipart([b"X-Big: " + b"a" * 20_000 + b"\nContent-Type: text/plain\n\nok"]),
    )
    _add(
        "part-many-headers",
        "parse",
        lambda: multipart([b"X-A: 1\n" * 5000 + b"Content-Type: text/plain\n\nok"]),
    )
    _add(
        "parts-ctype-semicolons",
        "parse",
        lambda: multipart(
            [
                b"Content-Type: application/x; name=a" + b"; a=b" * 3000 + b"\n\nx"
                for _ in range(400)
            ]
        ),
    )
    _add(
        "parts-disposition-2231-continuations",
        "parse",
        lambda: multipart(
            [
                b"Content-Type: application/x\nContent-Disposition: attachment"
                + b"".join(b"; filename*%d*=utf-8''%%41" % i for i in range(700))
                + b"\n\nx"
                for _ in range(300)
            ]
        ),
    )


def _nested(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\n\ndeep body"
    for level in range(depth):
        boundary = b"L%d" % level
        inner = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n--' + boundary
            + b"\n" + inner + b"\n--" + boundary + b"--"
        )  # fmt: skip
    return b"From: a@example.com\nSubject: nested\n" + inner + b"\n"


# -- 4. size, count and super-linear traps ---------------------------------------------------------


def _size_cases() -> None:
    _add("raw-26mb", "reject", lambda: message(body=b"x" * (26 * MB)))
    _add("header-20kb", "reject", lambda: message(subject=b"x" * 20_000))
    _add(
        "header-folded-20kb",
        "reject",
        lambda: message(subject=b"\n ".join([b"x" * 70] * 300)),
    )
    _add("fields-2000", "reject", lambda: message(headers=b"X-A: 1\n" * 2000))
    _add(
        "section-300kb",
        "reject",
        lambda: message(
            headers=b"Received: "
            + b"r" * 8000
            + b"\n" * 1
            + (b"Received: " + b"r" * 8000 + b"\n") * 40
        ),
    )
    _add("header-15kb", "parse", lambda: message(subject=b"y" * (15 * 1024)))
    _add(
        "ew-many-small",
        "parse",
        lambda: message(subject=b" ".join([b"=?utf-8?q?a?="] * 1100)),
    )
    _add("ew-adjacent", "parse", lambda: message(subject=b"=?utf-8?q?a?=" * 1200))
    _add("ew-malformed", "parse", lambda: message(subject=b"=?utf-8?" * 1900))
    _add("ew-huge-b", "parse", lambda: message(subject=ew_b("z" * 11_000)))
    for name, sender in {
        "from-dots-1k": b"a" + b"." * 1000 + b"@b",
        "from-dots-15k": b"a" + b"." * 15_000 + b"@b",
        "from-quotes-15k": b'"a" ' * 3800 + b"<x@example.com>",
        "from-commas-15k": b"a@b," * 3800,
        "from-parens-900": b"(" * 900 + b"x@example.com",
        "from-parens-15k": b"(" * 15_000,
        "from-backslash-15k": b'"' + b"\\" * 15_000,
        "from-lt-15k": b"<" * 15_000,
        "from-ew-15k": b"=?utf-8?q?a?= " * 1000 + b"<x@example.com>",
        "from-group": b"undisclosed:;",
        "from-group-members": b"team: a@example.com, b@example.com;",
        "from-empty-angle": b"<>",
        "from-no-at": b"postmaster",
        "from-quoted-ctrl": b'"\x1b[2J"@example.com',
        "from-spoof-lookalike": b'"support@yourcompany.com" <attacker@evil.example>',
        "from-two-addresses": b"a@example.com, b@example.com",
        "from-unicode-idn": "Zoë <zoë@exämple.com>".encode(),
        "from-only-spaces": b"    ",
    }.items():
        _add(name, "parse", lambda s=sender: message(sender=s))
    _add(
        "html-comments-2mb",
        "parse",
        lambda: message(content_type=b"text/html", body=b"<!--" * 500_000),
    )
    _add("html-bang-1mb", "parse", lambda: message(content_type=b"text/html", body=b"<!" * 500_000))
    _add("html-lt-2mb", "parse", lambda: message(content_type=b"text/html", body=b"<" * 2_000_000))
    _add(
        "html-tags-2mb", "parse", lambda: message(content_type=b"text/html", body=b"<a>" * 700_000)
    )
    _add(
        "html-unclosed-quote",
        "parse",
        lambda: message(content_type=b"text/html", body=b"<a x='" * 300_000),
    )
    _add(
        "html-unclosed-script",
        "parse",
        lambda: message(content_type=b"text/html", body=b"<p>hi</p><script>" + b"x" * 1_000_000),
    )
    _add(
        "html-many-scripts",
        "parse",
        lambda: message(content_type=b"text/html", body=b"<script>" * 200_000),
    )
    _add(
        "html-entities",
        "parse",
        lambda: message(content_type=b"text/html", body=b"&#x1b;&#27;&#155;&#x202e;&amp" * 50_000),
    )
    _add(
        "html-25mb",
        "parse",
        lambda: message(content_type=b"text/html", body=b"<p>para</p>\n" * (24 * MB // 12)),
    )
    _add("body-lines-24mb", "parse", lambda: message(body=b"a\n" * (12 * MB)))
    _add("body-newlines-24mb", "parse", lambda: message(body=b"\n" * (24 * MB)))
    _add("body-cr-24mb", "parse", lambda: message(body=b"\r" * (24 * MB)))
    _add("body-oneline-24mb", "parse", lambda: message(body=b"x" * (24 * MB)))
    _add(
        "attachment-base64-18mb",
        "parse",
        lambda: multipart(
            [
                b"Content-Type: text/plain\n\nlog attached",
                b"Content-Type: application/gzip\nContent-Disposition: attachment; filename=log.gz"
                b"\nContent-Transfer-Encoding: base64\n\n"
                + base64.encodebytes(random.Random(1).randbytes(18 * MB)),
            ]
        ),
    )
    _add(
        "near-boundary-lines",
        "parse",
        lambda: message(
            content_type=b'multipart/mixed; boundary="XX"',
            body=b"--XX\n\n" + b"--XXa\n" * (4 * MB) + b"--XX--\n",
        ),
    )
    _add(
        "references-1500",
        "parse",
        lambda: message(
            headers=b"References: " + b" ".join(b"<r%d@x>" % i for i in range(1500)) + b"\n"
        ),
    )


# -- 5. NULs, dates, ids, non-email --------------------------------------------------------------


def _misc_cases() -> None:
    _add("nul-subject", "parse", lambda: message(subject=b"a\x00b"))
    _add("nul-body", "parse", lambda: message(body=b"a\x00b\x00\n"))
    _add("nul-header-name", "either", lambda: b"Sub\x00ject: x\nFrom: a@example.com\n\nb")
    _add("nul-everywhere", "either", lambda: message().replace(b"e", b"e\x00"))
    _add("nul-filename", "parse", lambda: multipart([attachment(b'filename="a\x00b.txt"')]))
    _add("ew-nul", "parse", lambda: message(subject=ew_b("a\x00b")))
    for i, date in enumerate(
        [
            b"Mon, 32 Foo 99999 99:99:99 +9999",
            b"Tue, 1 Jan 0001 00:00:00 -2359",
            b"Fri, 31 Dec 9999 23:59:59 -2359",
            b"",
            b"yesterday",
            b"1 Jan 2025 10:00:00",
            b"Mon, 03 Mar 2025 10:00:00 \x1b[2J",
        ]
    ):
        _add(f"date-{i}", "parse", lambda d=date: message(date=d))
    _add("no-message-id", "parse", lambda: message(message_id=None))
    _add("message-id-bare", "parse", lambda: message(message_id=b"abc@example.com"))
    _add("message-id-ctrl", "parse", lambda: message(message_id=b"<a\x1b[2J@x>"))
    _add("message-id-garbage", "parse", lambda: message(message_id=b"\x1b]52;c;x\x07"))
    _add("message-id-long", "parse", lambda: message(message_id=b"<" + b"a" * 5000 + b"@x>"))
    _add("empty", "reject", lambda: b"")
    _add("only-newlines", "reject", lambda: b"\n\n\n")
    _add("png", "reject", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    _add("plain-text-file", "reject", lambda: b"Dear support, my account is broken.\n")
    _add("mbox-from-only", "reject", lambda: b"From someone Mon Mar  3 10:00:00 2025\n")
    _add("mbox-from-line", "parse", lambda: b"From x Mon Mar  3 10:00:00 2025\n" + message())
    _add("crlf-endings", "parse", lambda: message(body=b"a\r\nb\r\n").replace(b"\n", b"\r\n"))
    _add("cr-only-endings", "either", lambda: message().replace(b"\n", b"\r"))
    _add("headers-only", "parse", lambda: b"From: a@example.com\nSubject: no body")
    _add("utf8-bom", "either", lambda: b"\xef\xbb\xbf" + message())
    _add("space-before-colon", "parse", lambda: message().replace(b"Subject:", b"Subject :"))
    _add(
        "auto-submitted-dup",
        "parse",
        lambda: message(headers=b"Auto-Submitted: no\nAuto-Submitted: auto-replied\n"),
    )


def _mutation_cases(count: int = 40) -> None:
    base = multipart(
        [
            b"Content-Type: text/plain; charset=utf-8\n\nHello, the dashboard is down.",
            b"Content-Type: text/html\n\n<p>Hello</p>",
            attachment(b'filename="screen.png"', ctype=b"image/png"),
        ],
        subtype=b"mixed",
    )
    for i in range(count):

        def build(seed: int = i) -> bytes:
            rng = random.Random(seed)
            data = bytearray(base)
            for _ in range(rng.randint(1, 30)):
                op = rng.random()
                pos = rng.randrange(len(data))
                if op < 0.4:
                    data[pos] = rng.randrange(256)
                elif op < 0.7:
                    del data[pos : pos + rng.randint(1, 20)]
                else:
                    data[pos:pos] = rng.choice(
                        [b"\n", b"\r", b"--BOUND", b"=?", b"?=", b"\x00", b"\x1b[", b":", b'"']
                    )
            return bytes(data)

        _add(f"mutation-{i}", "either", build)


_escape_cases()
_charset_cases()
_mime_cases()
_size_cases()
_misc_cases()
_mutation_cases()
