"""The MIME parser behind :func:`opsconsole.adapters.mail.parse_message`.

``parse_message`` is the only way mail enters the ticket queue, so it must survive anything
a stranger can send. It never raises anything but ``MailRejected``, and it stays
linear-time on every input tried (see ``tests/hostile_mail.py``).

Modules: ``limits`` (the caps), ``model`` (ParsedMail and the per-message state),
``headers`` (header sections), ``tree`` (the MIME tree and transfer encodings),
``charsets``, ``body`` (body text and attachments), ``html_text``, ``fields`` (the
top-level fields) and ``parser`` (``parse_message``). Import them through
:mod:`opsconsole.adapters.mail`.

Decisions worth knowing:

* **Caps before parsing.** The raw size, every header field (unfolded), the header section
  and the number of header fields are checked by a byte scan before any decoding; breaking a
  cap rejects the message with a one-line reason.
* **Own MIME splitter, stdlib only for single header values.** The stdlib ``email``
  feedparser handles bodies line by line in Python: 25 MB of short lines took 5.5 s and
  3 million tiny parts over 200 s (measured on CPython 3.11.7). Here the structure is split
  with one compiled regex per multipart level (``bytes``-level, linear), transfer encodings
  are undone with ``binascii``, and part counts and nesting are capped (``MAX_PARTS``,
  ``MAX_DEPTH``). The stdlib header classes (``policy.default.header_factory``) still decode
  RFC 2047 words, addresses and RFC 2231 parameters, but its structured-header parsers are
  quadratic (a 16 KB ``From`` of dots: 3.2 s; a 16 KB ``Content-Type`` of ``;``: 0.7 s),
  so only values up to 1 KB, and at most 64 KB of them per message, are handed to it;
  the rest falls back to simple regular expressions.
* **HTML-only bodies** are rendered by a small linear tokenizer, not ``html.parser``:
  ``html.parser`` took 106 s on 500 KB of ``<!--`` (quadratic) on this interpreter.
* **Stored text is sanitized at ingest** with :func:`~opsconsole.core.text.sanitize_terminal`:
  subject, names and attachment names on one line, the body keeping ``\\n`` and ``\\t``. NULs
  are removed, lone surrogates become U+FFFD, CR/LF never survives in a header field.
* **Charsets as mail clients mean them**: text that is not valid UTF-8 under a missing,
  "us-ascii" or "utf-8" label is read as Windows-1252 byte by byte; "iso-8859-1", "gb2312",
  "ks_c_5601-1987" and "shift_jis" are read as their Windows supersets (WHATWG mapping).
* **Defects are human notes** (``"malformed MIME: CloseBoundaryNotFoundDefect"``), named
  after the stdlib defect classes where one exists, so the ticket can show them.
"""
