"""Find, read and validate ``checks.yaml``, with one-line errors that name file, line and key.

Every failure is a :class:`ConfigError` whose ``str`` is a single line such as
``checks.yaml:14: probes[2].timeout: expected a duration like 5s, got 'fast'``.
``${VAR}`` / ``${VAR:-default}`` references are substituted from the environment; the
substituted values (secrets) never appear in an error message.

A file that holds a secret written literally (not as a ``${VAR}`` reference) while group
or others may read it gets a warning (:func:`load_config`'s ``warnings``), not a refusal.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from opsconsole.config.hints import fields_at, gatus_unsupported, unknown_key, yaml_hint
from opsconsole.config.schema import Config, FieldError, ProbeConfig, describe_value
from opsconsole.core.redact import mask_url

__all__ = ["ConfigError", "exposed_secrets", "find_config", "load_config", "loads_config"]

KeyPath = tuple[str | int, ...]

CONFIG_NAME = "checks.yaml"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_ENV_REF = re.compile(r"\$\$|\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(Exception):
    """A config problem; ``str(e)`` is one line: ``<path>:<line>: <key.path>: <reason>``.

    Attributes:
        reason: the human explanation alone.
        source: the file name shown (None for errors not tied to a file).
        line: 1-based line number (None when there is no sensible line).
        key: the rendered key path, e.g. ``probes[2].timeout`` ('' for the whole file).
    """

    def __init__(
        self, reason: str, *, source: str | None = None, line: int | None = None, key: str = ""
    ) -> None:
        self.reason = _shorten(" ".join(reason.split()), MAX_REASON)
        self.source = source
        self.line = line
        self.key = _shorten(key, MAX_KEY)
        head = source or ""
        if head and line is not None:
            head += f":{line}"
        super().__init__(": ".join([p for p in (head, self.key) if p] + [self.reason]))


MAX_REASON = 300
MAX_KEY = 120
"""Error lines quote what the file says; a 5,000-character value is cut to keep one line."""

_LONG_QUOTE = re.compile(r"""(['"])([^'"]{60})[^'"]{20,}\1""")


def _shorten(text: str, limit: int) -> str:
    """Escape unprintable characters (a key may be ``"\\e[2J"``), cut quoted values past
    60 characters, then the whole text at ``limit``, with '…'."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    text = _LONG_QUOTE.sub(lambda m: f"{m[1]}{m[2]}…{m[1]}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_path(path: KeyPath) -> str:
    """Render ``("probes", 2, "timeout")`` as ``probes[2].timeout``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def find_config(
    explicit: Path | None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Locate the config file.

    Search order: ``explicit`` (``--config``), ``./checks.yaml``, then
    ``$XDG_CONFIG_HOME/opsconsole/checks.yaml`` (``~/.config`` when unset).

    Raises:
        ConfigError: when the explicit file is missing or nothing is found.
    """
    if explicit is not None:
        try:
            mode = explicit.stat().st_mode
        except FileNotFoundError:
            raise ConfigError("config file not found", source=str(explicit)) from None
        except OSError as exc:  # a symlink loop, a path through a file, a name too long
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(f"cannot read: {reason}", source=str(explicit)) from None
        if stat.S_ISDIR(mode):
            raise ConfigError("cannot read: Is a directory", source=str(explicit))
        if not stat.S_ISREG(mode):
            raise ConfigError("cannot read: not a regular file", source=str(explicit))
        return explicit
    env = os.environ if env is None else env
    local = Path(CONFIG_NAME) if cwd is None else cwd / CONFIG_NAME
    xdg = env.get("XDG_CONFIG_HOME", "")
    if not xdg or not Path(xdg).is_absolute():
        home = env.get("HOME")
        xdg = str((Path(home) if home else Path.home()) / ".config")
    candidates = [local, Path(xdg) / "opsconsole" / CONFIG_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError(
        f"no {CONFIG_NAME} found (looked in: {looked}); pass --config PATH, start from the "
        f"repository's {CONFIG_NAME}, or try 'opsconsole demo'"
    )


def load_config(
    path: Path, *, env: Mapping[str, str] | None = None, warnings: list[str] | None = None
) -> Config:
    """Read and validate the config file at ``path``.

    Args:
        path: the file.
        env: the environment for ``${VAR}`` references (default: ``os.environ``).
        warnings: when given, one-line warnings are appended to it: a file that holds a
            literal secret and is readable by group or others (see :func:`exposed_secrets`).

    Raises:
        ConfigError: on any read, YAML, environment or validation problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except UnicodeDecodeError:
        raise ConfigError("cannot read: not UTF-8 text", source=str(path)) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read: {reason}", source=str(path)) from None
    doc = _Document(str(path), os.environ if env is None else env)
    config = doc.validate(text)
    if warnings is not None and os.name == "posix" and mode & 0o077:
        keys = exposed_secrets(config, doc.raw)
        if keys:
            warnings.append(
                f"{path}: holds a secret ({', '.join(keys)}) and is readable by others "
                f"(mode {mode & 0o777:04o}); chmod 600 it or use ${{ENV}} references"
            )
    return config


def exposed_secrets(config: BaseModel, raw: Mapping[KeyPath, str] | None = None) -> list[str]:
    """Key paths of the secrets (``SecretStr`` fields) written literally in the file.

    A value that came from a ``${VAR}`` reference is not exposed by the file; ``raw``
    maps each substituted value's key path to the text written (``_Document.raw``).
    """
    raw = raw or {}
    found: list[str] = []

    def literal(path: KeyPath) -> bool:
        written = raw.get(path)
        return written is None or not _ENV_REF.search(written.replace("$$", ""))

    def walk(value: object, path: KeyPath) -> None:
        if isinstance(value, SecretStr | SecretBytes):
            if literal(path):
                found.append(render_path(path))
        elif isinstance(value, ProbeConfig):
            # Probe credentials are plain text fields: an Authorization-like header, or a
            # password or token in the URL.
            for name in value.headers:
                if _SECRET_HEADER.search(name) and literal((*path, "headers", name)):
                    found.append(render_path((*path, "headers", name)))
            if value.url is not None and _URL_SECRET.search(value.url) and literal((*path, "url")):
                found.append(render_path((*path, "url")))
        elif isinstance(value, BaseModel):
            for name, info in type(value).model_fields.items():
                walk(getattr(value, name, None), (*path, info.alias or name))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(config, ())
    return found


_SEXAGESIMAL = re.compile(r"^[0-9]+(:[0-5]?[0-9])+$")
_SECRET_WORDS = "auth|token|key|secret|cookie|session|signature|passw"
_SECRET_HEADER = re.compile(_SECRET_WORDS, re.I)
_SECRET_NAME = re.compile(
    _SECRET_WORDS + "|pass|pwd|credential|dsn|webhook|private|jwt|bearer", re.I
)
"""An environment variable named like this holds a secret wherever it is substituted."""
_URL_SECRET = re.compile(
    r"^[^/]*//[^/?#@]*:[^/?#@]*@"  # a password in the userinfo
    r"|[?&][^=&#]*(?:token|key|secret|passw|sig|auth)[^=&#]*=[^&#]",  # ?api_key=...
    re.I,
)

EXTENSION_PREFIX = "x-"
"""Top-level keys starting with this are ignored: a place to define YAML anchors."""

MAX_VALUES = 200_000
"""The most YAML values (aliases expanded) a config may hold: 500 probes need ~10,000."""


class _WrittenInt(int):
    """An int that reads back as the text written (``str(0012)`` is ``'0012'``, not 10)."""

    written: str

    def __str__(self) -> str:
        return self.written


class _WrittenFloat(float):
    """A float that reads back as the text written (``1.10``, not ``1.1``)."""

    written: str

    def __str__(self) -> str:
        return self.written


def _written_number(value: int | float, written: str) -> int | float:
    """``value`` as a number whose ``str`` is ``written``.

    Pydantic turns it into a plain int/float for a number field and, with
    ``coerce_numbers_to_str``, into ``str(value)`` (the text written) for a text field.
    """
    number: _WrittenInt | _WrittenFloat
    number = _WrittenInt(value) if isinstance(value, int) else _WrittenFloat(value)
    number.written = written
    return number


def loads_config(
    text: str, *, source: str = CONFIG_NAME, env: Mapping[str, str] | None = None
) -> Config:
    """Validate config ``text``; ``source`` is the file name used in error messages.

    Raises:
        ConfigError: on any YAML, environment or validation problem.
    """
    return _Document(source, os.environ if env is None else env).validate(text)


@dataclass
class _Document:
    """Builds plain data from the YAML node tree, remembering lines and substitutions."""

    source: str
    env: Mapping[str, str]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    raw: dict[KeyPath, str] = field(default_factory=dict)  # path -> text before ${} expansion
    expanded: dict[KeyPath, str] = field(default_factory=dict)  # path -> text after expansion
    secrets: dict[str, str] = field(default_factory=dict)  # env value -> "${NAME}"
    secret_refs: dict[str, str] = field(default_factory=dict)  # the same, secret names only
    data: Any = None
    built: int = 0  # values built so far, aliases expanded
    bool_words: dict[KeyPath, str] = field(default_factory=dict)  # path -> `yes`, 2025-01-31
    building: set[int] = field(default_factory=set)  # ids of the collections being built

    def error(self, path: KeyPath, reason: str) -> ConfigError:
        return ConfigError(
            reason, source=self.source, line=self.line_of(path), key=render_path(path)
        )

    def line_of(self, path: KeyPath) -> int:
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def validate(self, text: str) -> Config:
        data = self.parse(text)
        # `x-...:` top-level keys are free for YAML anchors (`x-defaults: &d ...`, then
        # `<<: *d` in a probe), as in Docker Compose; every other unknown key is an error.
        data = {k: v for k, v in data.items() if not k.startswith(EXTENSION_PREFIX)}
        while True:
            try:
                config = Config.model_validate(data)
                break
            except ValidationError as exc:
                if not self._bools_as_text(data, exc):
                    raise self.translate(exc) from None
        if self.secret_refs:
            refs = tuple(sorted(self.secret_refs.items(), key=lambda kv: -len(kv[0])))
            config._secret_refs = refs
            for probe in config.probes:
                probe._secret_refs = refs
        return config

    def _bools_as_text(self, data: Any, exc: ValidationError) -> bool:
        """Give text fields the word written where YAML 1.1 read a boolean or a date; True if
        any.

        ``X-Debug: on``, ``name: no`` or ``X-Release: 2025-06-30`` is text to whoever wrote
        it; a bool field still reads ``on`` as true, a date field ``2025-06-30`` as a date.
        """
        changed = False
        for err in exc.errors():
            loc = tuple(err["loc"])
            written = self.bool_words.pop(loc, None)
            if err["type"] != "string_type" or written is None:
                continue
            parent: Any = data
            for part in loc[:-1]:
                parent = _child(parent, part)
            key = loc[-1]
            if isinstance(parent, dict) and isinstance(parent.get(key), bool | date):
                parent[key] = written
                changed = True
            elif isinstance(parent, list) and isinstance(_child(parent, key), bool | date):
                parent[key] = written  # type: ignore[index]  # _child checked it is an int
                changed = True
        return changed

    # -- YAML -> data -----------------------------------------------------------------------

    def parse(self, text: str) -> dict[str, Any]:
        try:
            loader = yaml.SafeLoader(text)  # refuses control characters before parsing
        except yaml.reader.ReaderError as exc:
            shown = repr(chr(exc.character)) if isinstance(exc.character, int) else "?"
            raise ConfigError(
                f"invalid YAML: control character {shown} in the file (write it as an escape "
                'in a double-quoted string, like "\\t")',
                source=self.source,
                line=text.count("\n", 0, exc.position) + 1,
            ) from None
        try:
            node = loader.get_single_node()
            if node is None:
                raise ConfigError(
                    "empty config: expected a mapping with at least 'probes:'",
                    source=self.source,
                    line=1,
                )
            if not isinstance(node, MappingNode):
                kind = "a list" if isinstance(node, SequenceNode) else "a single value"
                raise ConfigError(
                    f"expected a mapping of keys (service:, probes:, ...) at the top level, "
                    f"got {kind}",
                    source=self.source,
                    line=node.start_mark.line + 1,
                )
            data = self._build(loader, node, ())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "syntax error"
            hint = yaml_hint(text, line, problem)
            if exc.problem and exc.context and not hint:
                where = exc.context_mark
                at = f" on line {where.line + 1}" if where is not None else ""
                problem += f" ({exc.context}{at})"
            raise ConfigError(
                f"invalid YAML: {problem}{hint}", source=self.source, line=line
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}", source=self.source) from None
        except RecursionError:  # the parser's own recursion: `[[[[...]]]]` thousands deep
            raise ConfigError("invalid YAML: nested too deeply", source=self.source) from None
        finally:
            loader.dispose()
        assert isinstance(data, dict)
        self.data = data
        return data

    def _build(
        self,
        loader: yaml.SafeLoader,
        node: Node,
        path: KeyPath,
        *,
        merge: bool = False,
        line: int | None = None,
    ) -> Any:
        """Plain data for ``node`` at ``path``; ``merge`` for a ``<<`` source built there.

        ``line`` is the line recorded for ``path`` (a key's own line; default the node's).
        Merge sources are built before the mapping's own keys, so what the file writes at a
        path (its line, its ``${VAR}`` text) replaces what a merged anchor recorded there.
        """
        if merge:
            self.lines.setdefault(path, node.start_mark.line + 1)
        else:
            self.lines[path] = line if line is not None else node.start_mark.line + 1
            for table in (self.raw, self.expanded, self.bool_words):
                table.pop(path, None)
        if id(node) in self.building:  # `team: &a [*a]`: an alias inside its own anchor
            raise self.error(path, "invalid YAML: recursive alias (an alias inside its anchor)")
        self.built += 1
        if self.built > MAX_VALUES:  # aliases of aliases ("billion laughs") expand forever
            raise self.error(
                path[:1],
                f"more than {MAX_VALUES:,} values once aliases are expanded "
                "(aliases nested too deep?)",
            )
        if isinstance(node, MappingNode | SequenceNode):
            self.building.add(id(node))
            try:
                if isinstance(node, MappingNode):
                    return self._build_mapping(loader, node, path)
                return [self._build(loader, item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.building.discard(id(node))
        try:
            value = loader.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:  # e.g. an unquoted 2025-02-30
            # A MarkedYAMLError's str() quotes the source with a caret: keep the problem only.
            problem = getattr(exc, "problem", None) or str(exc)
            if isinstance(exc, ValueError) and "integer string conversion" in problem:
                problem = "number too large"  # not Python's advice to raise its digit limit
            raise self.error(path, f"cannot read {node.value!r}: {problem}") from None
        if (
            isinstance(node, ScalarNode)
            and node.tag.endswith(":int")
            and _SEXAGESIMAL.match(node.value)
        ):
            return node.value  # YAML 1.1 reads 18:00 as 1080; keep what was written
        if isinstance(value, bool | date) and isinstance(node, ScalarNode) and node.style is None:
            self.bool_words[path] = node.value  # `on`, 2025-06-30: text if a text field wants it
        if isinstance(value, str) and "$" in value:
            return self._expand(value, path)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and isinstance(node, ScalarNode)
            and node.style is None
            and node.value != str(value)
        ):
            # `X-Id: 0012` (YAML 1.1 octal: 10), `version: 1.10` (1.1), `body: 0x1F` (31):
            # a text field gets the text written; a number field still gets the number.
            return _written_number(value, node.value)
        return value

    def _build_mapping(
        self, loader: yaml.SafeLoader, node: MappingNode, path: KeyPath
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        own: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        # Merges first, wherever they are written: a key written here then wins, and so do
        # its line and text (`timeout: fast` above `<<: *d` is reported on its own line).
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    built = self._build(loader, source, path, merge=True)
                    if not isinstance(built, dict):
                        raise self.error(path, "'<<' must merge a mapping")
                    merged = {**built, **merged}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    "a key must be a plain name, not a list or mapping",
                    source=self.source,
                    line=line,
                    key=render_path(path),
                )
            # Keys stay the text written: YAML 1.1 would turn `on:` into True and `1:` into 1.
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in own:
                self.lines[(*path, key)] = line
                raise self.error(
                    (*path, key), f"duplicate key (first defined on line {first_line[key]})"
                )
            first_line[key] = line
            own[key] = self._build(loader, value_node, (*path, key), line=line)
        return {**merged, **own}

    def _expand(self, text: str, path: KeyPath) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            ref = match.group(1)
            name, sep, default = ref.partition(":-")
            if not _ENV_NAME.match(name):
                raise self.error(path, f"invalid environment reference {match.group(0)!r}")
            value = self.env.get(name)
            if value is None or (sep and value == ""):
                if not sep:
                    raise self.error(path, f"environment variable {name} is not set")
                return default
            if len(value) >= 3:
                self.secrets[value] = "${" + name + "}"
                if _SECRET_NAME.search(name):
                    self.secret_refs[value] = "${" + name + "}"
            return value

        expanded = _ENV_REF.sub(replace, text)
        if "${" in _ENV_REF.sub("", text):
            raise self.error(path, "unterminated environment reference '${' (missing '}')")
        self.raw[path] = text
        self.expanded[path] = expanded
        return expanded

    # -- pydantic -> one line ---------------------------------------------------------------

    def translate(self, exc: ValidationError) -> ConfigError:
        errors = exc.errors()
        # A Gatus feature we lack explains the rest: a DNS endpoint's `url: 8.8.8.8` is
        # wrong only because of its `dns:` block, so that is the error to show.
        err = next((e for e in errors if self._gatus_only(e)), errors[0])
        loc: KeyPath = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, FieldError):
            loc = (*loc, *cause.subloc)
        reason = self._reason(err, loc)
        reason = self._scrub(reason, loc)
        return self.error(loc, reason)

    @staticmethod
    def _gatus_only(err: Mapping[str, Any]) -> bool:
        loc = tuple(err["loc"])
        return (
            err["type"] == "extra_forbidden"
            and gatus_unsupported(str(loc[-1]), fields_at(loc[:-1])) is not None
        )

    def _reason(self, err: Mapping[str, Any], loc: KeyPath) -> str:
        kind: str = err["type"]
        ctx = err.get("ctx") or {}
        value = err.get("input")
        got = describe_value(value)
        if loc in self.raw:
            got = repr(self.raw[loc])
        if kind == "missing":
            return "required"
        if kind == "extra_forbidden":
            return unknown_key(str(loc[-1]), fields_at(loc[:-1]))
        if kind == "value_error":
            reason = str(ctx.get("error", err["msg"]))
            return reason + self._inherited_hint(loc)
        if kind in ("int_parsing", "int_type", "int_from_float"):
            return f"expected a whole number, got {got}"
        if kind in ("float_parsing", "float_type"):
            return f"expected a number, got {got}"
        if kind in ("bool_parsing", "bool_type"):
            return f"expected true or false, got {got}"
        if kind in ("string_type", "string_sub_type"):
            return f"expected text, got {got}"
        if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
            return f"expected a mapping (key: value), got {got}"
        if kind in ("tuple_type", "list_type", "sequence_type", "iterable_type"):
            return f"expected a list, got {got}"
        if kind == "string_too_short":
            return "must not be empty" if ctx.get("min_length") == 1 else str(err["msg"])
        if kind == "too_short" and ctx.get("min_length") == 1:
            return "must list at least one item"
        if kind in ("literal_error", "enum"):
            return f"must be one of {ctx.get('expected', '')}, got {got}"
        bounds = {
            "greater_than": "greater than {gt}",
            "greater_than_equal": "at least {ge}",
            "less_than": "less than {lt}",
            "less_than_equal": "at most {le}",
        }
        if kind in bounds:
            limits = {k: _number(v) for k, v in ctx.items()}
            return f"must be {bounds[kind].format(**limits)}, got {got}" + self._inherited_hint(loc)
        return str(err["msg"])

    def _inherited_hint(self, loc: KeyPath) -> str:
        """Say so when a probe's failing value came from ``defaults:``."""
        if len(loc) != 3 or loc[0] != "probes" or not isinstance(self.data, dict):
            return ""
        key, probes, defaults = loc[2], self.data.get("probes"), self.data.get("defaults")
        if not isinstance(probes, list) or not isinstance(defaults, dict):
            return ""
        index = loc[1]
        probe = probes[index] if isinstance(index, int) and index < len(probes) else None
        if isinstance(probe, dict) and key not in probe and defaults.get(key) is not None:
            return f" (value comes from defaults.{key})"
        return ""

    def _scrub(self, reason: str, loc: KeyPath) -> str:
        """Replace any expanded ${VAR} value in ``reason`` with the text that was written."""
        for path, expanded in self.expanded.items():
            if expanded and path[: len(loc)] == loc:
                reason = reason.replace(expanded, self.raw[path])
        for value, ref in sorted(self.secrets.items(), key=lambda kv: -len(kv[0])):
            reason = reason.replace(value, ref)
        return _URL_IN_TEXT.sub(_mask_url, reason)


_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]*")


def _mask_url(match: re.Match[str]) -> str:
    """A URL quoted in an error, with its credentials and query string (tokens) hidden."""
    return mask_url(match.group(0))


def _child(parent: Any, part: str | int) -> Any:
    """``parent[part]`` for built YAML data, None when there is no such child."""
    if isinstance(parent, dict):
        return parent.get(part)
    if isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent):
        return parent[part]
    return None


def _number(value: object) -> object:
    """``0.0`` -> ``0`` so bounds read naturally."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
