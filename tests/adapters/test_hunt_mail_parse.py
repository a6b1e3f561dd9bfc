"""Real-world mail shapes that ``parse_message`` used to read wrong (bug hunt, issue 4).

Each test names the mailer habit it covers; every one of them lost readable text, or stored
something that is not an address as the requester's address, before the fix.
"""

from __future__ import annotations

import base64
import time

from opsconsole.adapters.mail import parse_message

from hostile_mail import message


def test_8bit_body_without_charset_keeps_latin1_letters() -> None:
    """Old mailers send Windows-1252 bytes with no charset at all: no U+FFFD for letters."""
    raw = message(content_type=b"text/plain", body=b"Caf\xe9 cr\xe8me \x93quoted\x94 \x80 5\n")
    mail = parse_message(raw)
    assert mail.body == "Café crème “quoted” € 5"
    assert "\ufffd" not in mail.body
    assert any("not UTF-8 read as windows-1252" in d for d in mail.defects)


def test_8bit_body_without_any_content_type() -> None:
    raw = b"From: a@example.com\nSubject: x\nMessage-ID: <n@x>\n\nGr\xfc\xdfe aus K\xf6ln\n"
    assert parse_message(raw).body == "Grüße aus Köln"


def test_mislabelled_utf8_keeps_its_utf8_and_reads_stray_bytes() -> None:
    """Declared UTF-8 with one Latin-1 byte pasted in: the UTF-8 text stays intact."""
    body = "Zoë says ".encode() + b"caf\xe9" + " — ok ✓".encode()
    mail = parse_message(message(content_type=b"text/plain; charset=utf-8", body=body))
    assert mail.body == "Zoë says café — ok ✓"
    assert "body is not 'utf-8': bytes that are not UTF-8 read as windows-1252" in mail.defects


def test_valid_utf8_without_charset_has_no_note() -> None:
    mail = parse_message(message(content_type=b"text/plain", body="Zoë ✓\n".encode()))
    assert mail.body == "Zoë ✓"
    assert not any("windows-1252" in d for d in mail.defects)


def test_huge_legacy_8bit_body_stays_fast() -> None:
    raw = message(content_type=b"text/plain", body=b"\xe9" * (20 * 1024 * 1024))
    start = time.process_time()
    mail = parse_message(raw)
    assert time.process_time() - start < 2.0
    assert mail.body[:3] == "ééé"


def test_alternative_with_blank_plain_part_uses_the_html() -> None:
    """Some web forms and mailers send an empty text/plain beside the real HTML."""
    raw = message(
        content_type=b'multipart/alternative; boundary="b1"',
        body=b"--b1\nContent-Type: text/plain; charset=utf-8\n\n \n\n"
        b"--b1\nContent-Type: text/html; charset=utf-8\n\n"
        b"<html><body><p>The dashboard <b>does not load</b>.</p></body></html>\n--b1--\n",
    )
    mail = parse_message(raw)
    assert mail.body == "The dashboard does not load."


def test_base64_without_final_padding_is_read_to_the_end() -> None:
    encoded = base64.b64encode(b"Hello world").rstrip(b"=")  # "SGVsbG8gd29ybGQ"
    raw = message(headers=b"Content-Transfer-Encoding: base64\n", body=encoded + b"\n")
    mail = parse_message(raw)
    assert mail.body == "Hello world"
    assert any("InvalidBase64PaddingDefect" in d for d in mail.defects)


def test_base64_encoded_line_by_line_is_read_entirely() -> None:
    """Each line padded on its own: binascii stops at the first "=" and drops the rest."""
    lines = [base64.b64encode(chunk) for chunk in (b"Hi", b" there,", b" the API is down.")]
    raw = message(headers=b"Content-Transfer-Encoding: base64\n", body=b"\n".join(lines) + b"\n")
    assert parse_message(raw).body == "Hi there, the API is down."


def test_transfer_encoding_with_a_comment() -> None:
    raw = message(
        headers=b"Content-Transfer-Encoding: base64 (encoded by WebForm 2.1)\n",
        body=base64.b64encode(b"Please reset my API key") + b"\n",
    )
    mail = parse_message(raw)
    assert mail.body == "Please reset my API key"
    assert not any("Content-Transfer-Encoding" in d for d in mail.defects)


def test_html_charset_declared_only_in_a_meta_tag() -> None:
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=shift_jis">'
    html += "</head><body><p>ダッシュボードが表示されません</p></body></html>"
    raw = message(content_type=b"text/html", body=html.encode("shift_jis"))
    assert parse_message(raw).body == "ダッシュボードが表示されません"


def test_from_without_a_domain_is_not_stored_as_an_address() -> None:
    mail = parse_message(message(sender=b"kim at globex.com"))
    assert mail.from_address == ""
    assert mail.from_name == "kim at globex.com"  # what could be read stays visible
    assert "unreadable From address: 'kim at globex.com'" in mail.defects


def test_broken_encoded_word_as_from_is_not_an_address() -> None:
    mail = parse_message(message(sender=b"=?utf-8?b?S2lt"))
    assert mail.from_address == ""
    assert any(d.startswith("unreadable From address") for d in mail.defects)


def test_bare_mailer_daemon_sender_is_still_a_bounce() -> None:
    mail = parse_message(message(sender=b"MAILER-DAEMON", subject=b"Undelivered Mail"))
    assert mail.auto_submitted is True
    assert mail.from_address == ""


def test_old_style_comment_name() -> None:
    """``addr (Real Name)``, as some Unix mailers and scripts still write it."""
    mail = parse_message(message(sender=b"kim@globex.com (Kim Park)"))
    assert (mail.from_name, mail.from_address) == ("Kim Park", "kim@globex.com")


def test_outlook_html_only_body_has_no_nbsp_filler_lines() -> None:
    """Outlook writes each line as <p class=MsoNormal> and blank lines as <p>&nbsp;</p>."""
    html = (
        "<html><head><style><!-- p.MsoNormal {margin:0} --></style><!--[if gte mso 9]><xml>"
        '<o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]--></head>'
        "<body lang=EN-US><div class=WordSection1><p class=MsoNormal>Hi team,<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>The dashboard shows "
        "<b>wrong data</b> since Monday.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<ul><li>Chrome&nbsp;120</li></ul><p class=MsoNormal>Thanks,<br>Jane<o:p></o:p></p>"
        "</div></body></html>"
    )
    mail = parse_message(message(content_type=b"text/html; charset=utf-8", body=html.encode()))
    assert mail.body == (
        "Hi team,\n\nThe dashboard shows wrong data since Monday.\n\n- Chrome 120\n\nThanks,\nJane"
    )


def test_outlook_latin1_label_with_windows_smart_quotes_and_euro() -> None:
    """Outlook labels Windows-1252 text "iso-8859-1": its quotes, dashes and € are not C1
    control characters (which would show as escapes)."""
    raw = message(
        subject=b"=?iso-8859-1?q?=93Invoice=94_=96_=8020_charged_twice?=",
        content_type=b"text/plain; charset=iso-8859-1",
        body=b"We were charged \x8020 twice \x96 see \x93Billing\x94\x85\n",
    )
    mail = parse_message(raw)
    assert mail.subject == "“Invoice” – €20 charged twice"
    assert mail.body == "We were charged €20 twice – see “Billing”…"


def test_gb2312_label_with_gbk_characters() -> None:
    """Chinese mail labelled gb2312 routinely holds GBK characters (here 喆 and 镕)."""
    body = "张喆：仪表板无法加载，朱镕".encode("gbk")
    raw = message(content_type=b"text/plain; charset=gb2312", body=body)
    assert parse_message(raw).body == "张喆：仪表板无法加载，朱镕"


def test_korean_outlook_label_ks_c_5601_holds_cp949() -> None:
    body = "똠방각하 대시보드".encode("cp949")  # 똠 is cp949 only, not EUC-KR
    raw = message(content_type=b"text/plain; charset=ks_c_5601-1987", body=body)
    assert parse_message(raw).body == "똠방각하 대시보드"
