"""Email parsing and mailbox reading (``opsconsole.adapters.mail``).

Covers the issue's intake rules (item 2), untrusted text (item 9) and RELIABILITY §A5:
caps before parsing, sanitized fields, display-name spoofing, defects instead of crashes,
and a ≥200-message hostile corpus parsed within 2 s of CPU each.
"""

from __future__ import annotations

import base64
import mailbox
import os
import signal
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from opsconsole.adapters.mail import (
    MAX_BODY_CHARS,
    MailRejected,
    MailSourceError,
    ParsedMail,
    html_to_text,
    iter_source,
    parse_message,
)

from hostile_mail import CASES, MB, attachment, ew_b, message, multipart

CPU_DEADLINE = 2.0
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

GUIDE_BODY = """What happened:
The usage dashboard shows zero requests since 09:00 UTC.

Expected behavior:
It should show about 40k requests per hour.

Steps to reproduce:
1. Log in to the dashboard
2. Open Usage
3. Pick "Last 24 hours"

Environment:
- Browser: Chrome 120
- OS: macOS 14.1
- Timestamp: 2025-03-03 10:00 UTC
- API Key ID: key_8f3a...

Logs/Screenshots:
Error: 500 Internal Server Error (request id 7f3c)
"""


def guide_report() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Dana Whitfield <dana@acme.example>"
    msg["To"] = "support@company.com"
    msg["Subject"] = "[BUG] Dashboard shows zero usage"
    msg["Date"] = "Mon, 03 Mar 2025 10:04:00 +0100"
    msg["Message-ID"] = "<report-1@acme.example>"
    msg.set_content(GUIDE_BODY)
    msg.add_attachment(
        b"\x89PNG" + b"\x00" * 1000, maintype="image", subtype="png", filename="usage.png"
    )
    return msg.as_bytes()


def assert_clean(mail: ParsedMail) -> None:
    """No C0/C1/DEL/bidi control or lone surrogate in any stored field (body keeps \\n, \\t)."""
    single = [
        mail.subject,
        mail.from_name,
        mail.from_address,
        mail.message_id,
        mail.in_reply_to or "",
        *mail.references,
        *mail.defects,
        *(a.name for a in mail.attachments),
        *(a.content_type for a in mail.attachments),
    ]
    for text in single:
        bad = [c for c in text if _is_control(c)]
        assert not bad, (text[:200], bad[:5])
    bad = [c for c in mail.body if _is_control(c) and c not in "\n\t"]
    assert not bad, bad[:5]


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI


# -- well-formed mail -----------------------------------------------------------------------------


def test_guide_bug_report() -> None:
    mail = parse_message(guide_report())
    assert mail.subject == "[BUG] Dashboard shows zero usage"
    assert (mail.from_name, mail.from_address) == ("Dana Whitfield", "dana@acme.example")
    assert mail.message_id == "<report-1@acme.example>"
    assert mail.date == datetime(2025, 3, 3, 9, 4, tzinfo=UTC)
    assert mail.body.strip() == GUIDE_BODY.strip()
    assert [(a.name, a.size, a.content_type) for a in mail.attachments] == [
        ("usage.png", 1004, "image/png")
    ]
    assert mail.defects == ()
    assert mail.auto_submitted is False
    assert mail.size == len(guide_report())
    assert_clean(mail)


def test_crlf_line_endings_give_the_same_result() -> None:
    lf = parse_message(guide_report())
    crlf = parse_message(guide_report().replace(b"\n", b"\r\n"))
    assert (crlf.subject, crlf.body, crlf.attachments) == (lf.subject, lf.body, lf.attachments)


def test_html_only_body_is_rendered_as_text() -> None:
    html = (
        b"<html><head><title>T</title><style>p{color:red}</style></head><body>"
        b"<p>Hello &amp; welcome,</p><div>the <b>dashboard</b> is down.</div>"
        b"<ul><li>one</li><li>two</li></ul><br>see <a href='https://status.example/x'>status</a>"
        b"<script>alert(1)</script><pre>  trace\n    line</pre></body></html>"
    )
    mail = parse_message(message(content_type=b"text/html; charset=utf-8", body=html))
    assert mail.body == (
        "Hello & welcome,\n\nthe dashboard is down.\n\n- one\n- two\n\n"
        "see status (https://status.example/x)\n  trace\n    line"
    )
    assert "HTML-only body rendered as text" in mail.defects
    assert "alert" not in mail.body and "color" not in mail.body and "T" not in mail.body.split()


def test_alternative_prefers_plain_text() -> None:
    raw = multipart(
        [
            b"Content-Type: text/plain\n\nplain words",
            b"Content-Type: text/html\n\n<p>html words</p>",
        ],
        subtype=b"alternative",
    )
    mail = parse_message(raw)
    assert mail.body == "plain words"
    assert mail.attachments == ()
    assert "HTML-only body rendered as text" not in mail.defects


def test_multipart_attachments_names_sizes_types() -> None:
    raw = multipart(
        [
            b"Content-Type: text/plain\n\nsee attached",
            attachment(b'filename="report.pdf"', ctype=b"application/pdf"),
            attachment(b"filename*=utf-8''r%C3%A9sum%C3%A9%20v2.txt", ctype=b"text/plain"),
            b'Content-Type: image/png; name="../../etc/shot.png"\nContent-Transfer-Encoding: '
            b"base64\n\n" + base64.encodebytes(b"p" * 3000),
            b"Content-Type: application/octet-stream\n\nraw",
            b"Content-Type: message/rfc822\n\nFrom: x@example.com\nSubject: fwd\n\ninner",
        ]
    )
    mail = parse_message(raw)
    # a forwarded message (message/rfc822) is also shown in the body (test_hunt2_mail.py)
    assert mail.body == (
        "see attached\n\n---------- Forwarded message ----------\n"
        "From: x@example.com\nSubject: fwd\n\ninner"
    )
    assert [(a.name, a.size, a.content_type) for a in mail.attachments] == [
        ("report.pdf", 5, "application/pdf"),
        ("résumé v2.txt", 5, "text/plain"),
        ("shot.png", 3000, "image/png"),
        ("attachment-5.bin", 3, "application/octet-stream"),
        ("attachment-6.eml", 39, "message/rfc822"),
    ]


# -- untrusted text -------------------------------------------------------------------------------


def test_encoded_word_subject_with_escapes_markup_and_header_injection() -> None:
    """An RFC 2047 subject cannot smuggle ESC/OSC 52, markup or a CRLF+Bcc into one line."""
    nasty = (
        "[BUG] \x1b]52;c;cHduZWQ=\x07[@click=app.quit]x[/] \u202eevil\r\nBcc: victim@example.com"
    )
    mail = parse_message(message(subject=ew_b(nasty)))
    assert "\n" not in mail.subject and "\r" not in mail.subject and "\x1b" not in mail.subject
    assert mail.subject == (
        "[BUG] ^[]52;c;cHduZWQ=^G[@click=app.quit]x[/] \\u202eevil^M Bcc: victim@example.com"
    )
    assert_clean(mail)


def test_display_name_spoofing_keeps_the_real_address() -> None:
    mail = parse_message(message(sender=b'"alice@trusted.example" <mallory@evil.example>'))
    assert mail.from_address == "mallory@evil.example"
    assert mail.from_name == "alice@trusted.example"
    assert any("looks like another address" in d for d in mail.defects)


def test_sender_domain_is_lower_cased_and_name_decoded() -> None:
    mail = parse_message(message(sender=ew_b("Zoë Ng") + b" <Zoe.Ng@ACME.Example>"))
    assert (mail.from_name, mail.from_address) == ("Zoë Ng", "Zoe.Ng@acme.example")


def test_nul_bytes_are_removed_with_a_note() -> None:
    mail = parse_message(message(subject=b"a\x00b", body=b"line\x00one\n"))
    assert (mail.subject, mail.body) == ("ab", "lineone")
    assert "NUL bytes removed" in mail.defects


# -- ids and threading ----------------------------------------------------------------------------


def test_missing_message_id_is_synthesized_stably() -> None:
    raw = message(message_id=None)
    first, second = parse_message(raw), parse_message(raw)
    assert first.message_id == second.message_id
    assert first.message_id.startswith("<") and first.message_id.endswith(".invalid>")
    assert parse_message(raw.replace(b"\n", b"\r\n")).message_id == first.message_id
    assert parse_message(message(message_id=None, body=b"other")).message_id != first.message_id
    assert any("no Message-ID" in d for d in first.defects)


def test_in_reply_to_and_references() -> None:
    headers = (
        b"In-Reply-To: <parent@example.com> (sent by Bob)\n"
        b"References: <root@example.com>\n <mid@example.com>  <parent@example.com>"
        b" <root@example.com>\n"
    )
    mail = parse_message(message(headers=headers, message_id=b" <child@example.com> "))
    assert mail.message_id == "<child@example.com>"
    assert mail.in_reply_to == "<parent@example.com>"
    assert mail.references == ("<root@example.com>", "<mid@example.com>", "<parent@example.com>")


# -- auto-submitted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (message(headers=b"Auto-Submitted: auto-replied\n"), True),
        (message(headers=b"Auto-Submitted: auto-generated; owner-email=x@example.com\n"), True),
        (message(headers=b"Auto-Submitted: no\n"), False),
        (message(headers=b"Precedence: bulk\n"), True),
        (message(headers=b"Precedence: junk\n"), True),
        (message(headers=b"Precedence: auto_reply\n"), True),
        (message(headers=b"X-Autoreply: yes\n"), True),
        (message(headers=b"X-Autorespond: Out of office\n"), True),
        (message(headers=b"Return-Path: <>\n"), True),
        (message(sender=b"Mail Delivery System <MAILER-DAEMON@mx.example.com>"), True),
        (message(sender=b"postmaster@example.com"), True),
        (
            message(
                content_type=b'multipart/report; report-type=delivery-status; boundary="R"',
                body=b"--R\nContent-Type: text/plain\n\nfailed\n--R--\n",
            ),
            True,
        ),
        (guide_report(), False),
        (message(headers=b"Return-Path: <dana@acme.example>\nPrecedence: list\n"), False),
    ],
    ids=lambda v: "" if isinstance(v, bytes) else str(v),
)
def test_auto_submitted(raw: bytes, expected: bool) -> None:
    assert parse_message(raw).auto_submitted is expected


# -- caps, charsets, broken MIME ------------------------------------------------------------------


def test_raw_size_cap_is_checked_before_parsing() -> None:
    raw = message(body=b"")
    raw += b"x" * (26 * MB - len(raw))
    start = time.process_time()
    with pytest.raises(MailRejected) as info:
        parse_message(raw)
    assert time.process_time() - start < 0.05
    assert info.value.reason == "message is 26 MB (limit 25 MB)"


def test_header_size_cap_is_checked_before_parsing() -> None:
    raw = message(subject=b"=?utf-8?q?a?= " * 1500, body=b"x" * (20 * MB))
    start = time.process_time()
    with pytest.raises(MailRejected) as info:
        parse_message(raw)
    assert time.process_time() - start < 0.05
    assert info.value.reason == "header 'Subject' is 20.5 KB (limit 16 KB)"


def test_folded_header_is_measured_unfolded() -> None:
    with pytest.raises(MailRejected, match="header 'Subject' is"):
        parse_message(message(subject=b"\n ".join([b"x" * 70] * 300)))


def test_max_bytes_is_configurable() -> None:
    with pytest.raises(MailRejected, match=r"limit 1 KB"):
        parse_message(message(body=b"x" * 2000), max_bytes=1024)


@pytest.mark.parametrize("raw", [b"", b"\n\nbody", b"just some text\n", b"\x89PNG\r\n\x1a\n"])
def test_not_an_email(raw: bytes) -> None:
    with pytest.raises(MailRejected, match=r"^not an email \(no headers\)$"):
        parse_message(raw)


def test_unknown_body_charset_falls_back_to_latin1() -> None:
    mail = parse_message(message(content_type=b"text/plain; charset=x-foo", body=b"caf\xe9"))
    assert mail.body == "café"
    assert "unknown charset 'x-foo' (decoded as latin-1)" in mail.defects


@pytest.mark.parametrize("charset", ["rot13", "base64", "punycode", "idna"])
def test_non_text_or_unsafe_codecs_are_unknown_charsets(charset: str) -> None:
    mail = parse_message(
        message(content_type=f"text/plain; charset={charset}".encode(), body=b"abc")
    )
    assert mail.body == "abc"
    assert f"unknown charset '{charset}' (decoded as latin-1)" in mail.defects


def test_unknown_encoded_word_charset() -> None:
    mail = parse_message(message(subject=b"=?x-foo?q?caf=E9?= ok"))
    assert mail.subject == "caf\ufffd ok"
    assert "unknown charset 'x-foo' in an encoded word of 'Subject'" in mail.defects


def test_raw_utf8_and_latin1_headers() -> None:
    assert parse_message(message(subject="Zoë ✓".encode())).subject == "Zoë ✓"
    mail = parse_message(message(subject=b"caf\xe9"))
    assert mail.subject == "café"
    assert "header 'Subject' is not UTF-8 (decoded as latin-1)" in mail.defects


def test_no_close_boundary() -> None:
    raw = message(
        content_type=b'multipart/mixed; boundary="B"',
        body=b"--B\nContent-Type: text/plain\n\nstill readable\n",
    )
    mail = parse_message(raw)
    assert mail.body == "still readable"
    assert "malformed MIME: CloseBoundaryNotFoundDefect" in mail.defects


def test_multipart_without_boundary() -> None:
    mail = parse_message(message(content_type=b"multipart/mixed", body=b"--B\n\nhello\n"))
    assert "hello" in mail.body
    assert "malformed MIME: NoBoundaryInMultipartDefect" in mail.defects


def test_bad_base64_is_read_as_far_as_possible() -> None:
    raw = message(headers=b"Content-Transfer-Encoding: base64\n", body=b"aGVsbG8gd29ybGQ\n")
    mail = parse_message(raw)
    assert mail.body.startswith("hello wor")
    assert any("Base64" in d for d in mail.defects)


def test_body_is_truncated() -> None:
    mail = parse_message(message(body=b"a" * (MAX_BODY_CHARS + 10)))
    assert len(mail.body) == MAX_BODY_CHARS
    assert f"body truncated at {MAX_BODY_CHARS:,} characters" in mail.defects


def test_subject_is_truncated() -> None:
    mail = parse_message(message(subject=b"s" * 5000))
    assert len(mail.subject) == 1000
    assert "subject truncated" in mail.defects


def test_25mb_message_parses_within_two_seconds() -> None:
    raw = multipart(
        [
            b"Content-Type: text/plain\n\n" + b"log line\n" * 200_000,
            b"Content-Type: application/gzip\nContent-Disposition: attachment; filename=a.gz\n"
            b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(os.urandom(17 * MB)),
        ]
    )
    assert 24 * MB < len(raw) <= 25 * MB
    start = time.process_time()
    mail = parse_message(raw)
    assert time.process_time() - start < CPU_DEADLINE
    assert mail.attachments[0].size == 17 * MB


def test_html_to_text_is_linear_on_unclosed_comments() -> None:
    """html.parser is quadratic on repeated ``<!--``; the renderer must not be."""
    start = time.process_time()
    assert html_to_text("<!--" * 500_000) == ""
    assert html_to_text("<p>a</p><!-- x --><p>b</p>") == "a\n\nb"
    assert time.process_time() - start < 0.5


# -- hostile corpus -------------------------------------------------------------------------------


class _CpuDeadline(BaseException):
    """Raised by SIGPROF; a BaseException so parse_message cannot swallow it."""


@pytest.fixture
def cpu_guard() -> Iterator[None]:
    """Abort (instead of hanging) when a parse burns 10 s of CPU."""

    def expire(signum: int, frame: object) -> None:
        raise _CpuDeadline

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, 10 * CPU_DEADLINE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def test_corpus_has_at_least_200_messages() -> None:
    assert len(CASES) >= 200


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_corpus(name: str, cpu_guard: None) -> None:
    """Every hostile message parses (maybe with defects) or is rejected, within 2 s CPU."""
    case = CASES[name]
    raw = case.build()
    start = time.process_time()
    try:
        mail: ParsedMail | None = parse_message(raw)
        outcome = "parse"
    except MailRejected as exc:
        mail, outcome = None, "reject"
        assert exc.reason and "\n" not in exc.reason
    elapsed = time.process_time() - start
    assert elapsed < CPU_DEADLINE, f"{name} took {elapsed:.2f} s CPU"
    if case.expect != "either":
        assert outcome == case.expect
    if mail is not None:
        assert_clean(mail)
        assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
        assert mail.date is None or mail.date.tzinfo is not None
        assert len(mail.subject) <= 1000 and len(mail.body) <= MAX_BODY_CHARS


@pytest.mark.parametrize(
    ("name", "defect"),
    [
        ("no-close-boundary", "malformed MIME: CloseBoundaryNotFoundDefect"),
        ("parts-5000", "more than 500 MIME parts; the rest were not read"),
        ("nested-deep-50", "MIME nesting deeper than 8 levels; inner parts not read"),
        ("date-0", "unreadable Date header"),
        ("body-charset-0", "unknown charset 'x-foo' (decoded as latin-1)"),
        ("nul-body", "NUL bytes removed"),
        ("html-25mb", "HTML-only body rendered as text"),
    ],
)
def test_hostile_defects_are_noted(name: str, defect: str) -> None:
    assert defect in parse_message(CASES[name].build()).defects


# -- iter_source ----------------------------------------------------------------------------------


def _raw(n: int) -> bytes:
    return message(subject=b"msg %d" % n, message_id=b"<m%d@example.com>" % n)


def test_iter_source_maildir(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "md", create=True)
    keys = [box.add(_raw(n)) for n in range(3)]
    msg = box.get_message(keys[0])
    msg.set_subdir("cur")
    msg.set_flags("S")
    box[keys[0]] = msg
    (tmp_path / "md" / "tmp" / "partial").write_bytes(b"From: half")
    items = list(iter_source(tmp_path / "md"))
    assert len(items) == 3
    assert {parse_message(raw).subject for _, raw in items} == {"msg 0", "msg 1", "msg 2"}
    assert sum(1 for sid, _ in items if sid.startswith("cur/")) == 1


def test_iter_source_mbox(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "in.mbox", create=True)
    box.add(_raw(1))
    box.add(message(subject=b"two", body=b"From the start\nline\n"))
    box.flush()
    box.close()
    items = list(iter_source(tmp_path / "in.mbox"))
    assert [sid for sid, _ in items] == ["in.mbox#1", "in.mbox#2"]
    first, second = (parse_message(raw) for _, raw in items)
    assert first.subject == "msg 1"
    assert second.subject == "two" and "From the start" in second.body


def test_iter_source_single_eml_and_directory(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_raw(1))
    (tmp_path / "b.EML").write_bytes(_raw(2))
    (tmp_path / "notes.txt").write_text("not mail")
    assert list(iter_source(tmp_path / "a.eml")) == [("a.eml", _raw(1))]
    assert [sid for sid, _ in iter_source(tmp_path)] == ["a.eml", "b.EML"]


def test_iter_source_reports_oversized_messages(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_raw(1))
    (tmp_path / "big.eml").write_bytes(message(body=b"x" * 5000))
    problems: list[tuple[str, str]] = []
    items = list(iter_source(tmp_path, max_bytes=2048, problems=problems))
    assert [sid for sid, _ in items] == ["a.eml"]
    assert problems == [("big.eml", "message is 5.1 KB (limit 2 KB)")]
    with pytest.raises(MailSourceError, match=r"big\.eml"):
        list(iter_source(tmp_path, max_bytes=2048))


def test_iter_source_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(MailSourceError, match="cannot read"):
        list(iter_source(tmp_path / "missing"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(MailSourceError, match="not a mailbox"):
        list(iter_source(tmp_path / "junk"))
    with pytest.raises(MailSourceError, match="not a mailbox"):
        list(iter_source(Path("/dev/null")))
    if os.geteuid() != 0:
        locked = tmp_path / "locked.eml"
        locked.write_bytes(_raw(1))
        locked.chmod(0)
        with pytest.raises(MailSourceError, match="cannot read"):
            list(iter_source(locked))
