"""Property test for issue 7 item 4: any value YAML can write, put anywhere in a full
``checks.yaml``, is either accepted or refused with one printable line naming the file.

The hand-written corpus (test_broken_configs.py) covers the failures we thought of; this
test takes the repository's example config (every section filled in) and has hypothesis
replace, delete or add values at random places: infinities and NaN where durations go,
30-digit numbers, 5,000-character strings, escape sequences in keys, lists where mappings
go. It found an OverflowError traceback for ``interval: .inf`` and an OSError for a very
long time-zone name before they were fixed.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutations import mutated
from opsconsole.config.loader import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "checks.yaml"
BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

ODD_TEXT = [
    *("", " ", "1x", "-5m", "0s", "0.0000001s", "99999999999d", "${NOPE_OPSCONSOLE_ENV}", "${"),
    *("[STATUS] ==", "pat(", "https://", "ftp://x", "25:00", "{{ x }}", "%s", "\u202e"),
    *("\x1b[2J", "x" * 5000, "Mon-Fri 09:00-17:00"),
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=40),
    st.dates(min_value=datetime.date(1, 1, 1)),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["a", "name", "url", "\x1b[31mk"]), SCALARS, max_size=2),
)
KEYS = st.one_of(
    st.sampled_from(["zzz", "name", "url", "interval", "\x1b[2Jk", "k" * 3000]), SCALARS
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=mutated(BASE, VALUES, keys=KEYS))
def test_any_mutation_is_accepted_or_refused_in_one_line(tmp_path_factory, doc) -> None:
    path = tmp_path_factory.mktemp("mut") / "checks.yaml"
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return  # not representable as YAML: nothing to load
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{path}"), message
        assert message.isprintable(), message  # no newline, no escape sequence
        assert len(message) <= len(str(path)) + 450, message
    else:
        assert config.probes is not None  # accepted: a usable config object
