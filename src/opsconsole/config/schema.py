"""Typed, frozen schema of ``checks.yaml`` (pydantic v2).

Every model is immutable and rejects unknown keys. Durations accept ``500ms 30s 5m 1h 3d``
strings or plain numbers of seconds. Conditions are parsed when the config is loaded, so a
typo fails at startup rather than at the first probe run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from opsconsole.config.checklists import ChecklistsConfig
from opsconsole.config.fields import check_zone
from opsconsole.config.incident import IncidentConfig
from opsconsole.config.sources import (
    AlertmanagerConfig,
    PrometheusConfig,
    SentryConfig,
    ShiftConfig,
    StatuspageConfig,
    TelemetryConfig,
)
from opsconsole.config.tickets import (
    EmailConfig,
    OperatorConfig,
    RunbooksConfig,
    SlaConfig,
    TicketsConfig,
    TriageConfig,
    check_team,
)
from opsconsole.config.types import Duration, FieldError, describe_value, to_duration
from opsconsole.core.conditions import Condition, ConditionSyntaxError, parse_condition
from opsconsole.core.durations import format_setting
from opsconsole.core.redact import mask_url

__all__ = [
    "HTTP_METHODS",
    "Config",
    "FieldError",
    "FrozenHeaders",
    "ProbeConfig",
    "ProbeDefaults",
    "describe_value",
    "to_duration",
]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""Methods an HTTP probe may use."""

DEFAULT_INTERVAL = timedelta(seconds=30)
DEFAULT_TIMEOUT = timedelta(seconds=10)
DEFAULT_HTTP_CONDITIONS = ("[STATUS] < 400",)
DEFAULT_TCP_CONDITIONS = ("[CONNECTED] == true",)
INHERITED_KEYS = ("interval", "timeout", "failure_threshold", "success_threshold")
"""Probe keys that ``defaults:`` fills in when a probe omits them."""

# Placeholders are case-insensitive (``[status]`` is ``[STATUS]``), so this check is too.
_HTTP_ONLY = re.compile(r"\[(STATUS|BODY|CERTIFICATE_EXPIRATION)\]", re.IGNORECASE)
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_TCP_SCHEME = re.compile(r"^tcp://", re.IGNORECASE)
_OTHER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_GATUS_SCHEMES = frozenset(
    {"icmp", "dns", "udp", "sctp", "ws", "wss", "grpc", "grpcs", "ssh", "starttls", "tls"}
)
"""Gatus probe kinds checks.yaml has no probe for."""


def _url_problem(value: str) -> str | None:
    """Why ``value`` is not a usable http(s) URL, or None when it is."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "expected an http:// or https:// URL"
    if parts.scheme.lower() in _GATUS_SCHEMES:
        return (
            f"{parts.scheme.lower()}:// probes are not supported "
            "(use an http:// or https:// URL, or tcp: host:port)"
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "expected an http:// or https:// URL"
    if _CONTROL.search(value) or _SPACE_OR_CONTROL.search(parts.netloc):
        return "expected an http:// or https:// URL without spaces or control characters in it"
    try:
        port = parts.port  # ValueError for ":abc", ":99999" or "host:80:90"
    except ValueError:
        port = 0
    if port == 0:
        return "expected an http:// or https:// URL with a port from 1 to 65535"
    return None


def _to_condition(value: object) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"expected a condition string like '[STATUS] == 200', got {describe_value(value)}"
        )
    try:
        condition = parse_condition(value)
    except ConditionSyntaxError as exc:
        raise ValueError(f"invalid condition {value!r}: {exc}") from None
    if condition.constant:  # `STATUS == 200`, `[BODY.status] == UP`: a typo, never checked
        raise ValueError(
            f"invalid condition {value!r}: no placeholder, so nothing is checked "
            "(write [STATUS], [BODY].field, [RESPONSE_TIME], [CONNECTED], ...)"
        )
    return condition


ConditionField = Annotated[
    Condition,
    PlainValidator(_to_condition, json_schema_input_type=str),
    PlainSerializer(lambda c: c.text, return_type=str),
]
"""A Gatus-style condition, parsed at load time."""


class FrozenHeaders(Mapping[str, str]):
    """Immutable, hashable mapping of HTTP headers; ``repr`` hides the values.

    Pass it straight to httpx (``headers=probe.headers``) or call ``dict()`` on it.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._data: dict[str, str] = dict(data)

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        # Header values are often ${SECRET}s: never print them.
        return "FrozenHeaders({" + ", ".join(f"{k!r}: '***'" for k in self._data) + "})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validate as ``dict[str, str]``, store frozen, serialise back to a dict."""
        return core_schema.no_info_after_validator_function(
            cls,
            handler.generate_schema(dict[str, str]),
            serialization=core_schema.plain_serializer_function_ser_schema(dict),
        )


_FROZEN = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)


class ProbeDefaults(BaseModel):
    """``defaults:`` values applied to every probe that omits them."""

    model_config = _FROZEN

    interval: Duration | None = None
    timeout: Duration | None = None
    failure_threshold: int | None = Field(default=None, ge=1)
    success_threshold: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> ProbeDefaults:
        interval, timeout = self.interval, self.timeout
        if interval is not None and timeout is not None and timeout >= interval:
            raise FieldError(
                ("timeout",), f"must be shorter than interval ({format_setting(interval)})"
            )
        return self


_SECRET_PIECE = 8
"""Any run of this many characters of a secret counts as the secret."""


def _mask_pieces(text: str, secret: str, ref: str) -> str:
    """Replace each stretch of ``text`` made of runs of ``_SECRET_PIECE`` characters of
    ``secret`` with ``ref``."""
    if len(secret) < _SECRET_PIECE or len(text) < _SECRET_PIECE:
        return text
    pieces = {secret[i : i + _SECRET_PIECE] for i in range(len(secret) - _SECRET_PIECE + 1)}
    hidden = [False] * len(text)
    for i in range(len(text) - _SECRET_PIECE + 1):
        if text[i : i + _SECRET_PIECE] in pieces:
            hidden[i : i + _SECRET_PIECE] = [True] * _SECRET_PIECE
    if not any(hidden):
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        if not hidden[i]:
            out.append(ch)
        elif i == 0 or not hidden[i - 1]:
            out.append(ref)
    return "".join(out)


class ProbeConfig(BaseModel):
    """One health probe: an HTTP(S) URL or a TCP ``host:port``.

    ``conditions`` defaults to ``[STATUS] < 400`` (http) or ``[CONNECTED] == true`` (tcp).
    ``timeout`` defaults to 10s, or to 80% of ``interval`` when the interval is 10s or less.
    """

    model_config = _FROZEN

    name: str
    url: str | None = None
    tcp: str | None = None
    method: str = "GET"
    headers: FrozenHeaders = Field(default_factory=FrozenHeaders)
    body: str | None = None
    interval: Duration = DEFAULT_INTERVAL
    timeout: Duration = DEFAULT_TIMEOUT
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0, le=50)
    verify_tls: bool = True
    conditions: tuple[ConditionField, ...] = ()
    failure_threshold: int = Field(default=3, ge=1)
    success_threshold: int = Field(default=2, ge=1)
    group: str | None = None
    _secret_refs: tuple[tuple[str, str], ...] = PrivateAttr(default=())
    """(value, ``${NAME}``) for each secret substituted anywhere in the file, longest first
    (set by the loader; see :meth:`mask_secrets`)."""

    def mask_secrets(self, text: str) -> str:
        """``text`` with every secret substituted from the environment shown as its
        ``${NAME}``: a condition such as ``[BODY].token == ${API_TOKEN}`` is displayed,
        stored and logged as written, never with the token. A piece of a secret (a body
        value cut to 200 characters holds the token's start) is masked too."""
        for value, ref in self._secret_refs:
            text = _mask_pieces(text.replace(value, ref), value, ref)
        return text

    @property
    def kind(self) -> Literal["http", "tcp"]:
        """``"http"`` for a url probe, ``"tcp"`` for a host:port probe."""
        return "http" if self.url is not None else "tcp"

    @property
    def target(self) -> str:
        """The url or ``host:port``; the per-target key used in history."""
        return self.url if self.url is not None else str(self.tcp)

    @property
    def display_target(self) -> str:
        """:attr:`target` safe to show: a URL's credentials and query string are hidden.

        ``https://u:${PASS}@host/health?key=${KEY}`` is shown ``https://***@host/health?***``.
        """
        return str(self.tcp) if self.url is None else mask_url(self.url)

    def __repr_args__(self) -> Iterator[tuple[str | None, object]]:
        """``repr``/``str`` (tracebacks, Sentry locals, debug logs) never hold the URL's
        credentials or query, nor the request body: both may carry a ``${SECRET}``."""
        for name, value in super().__repr_args__():
            if name == "url" and value is not None:
                value = self.display_target
            elif name == "body" and value is not None:
                value = "***"
            yield name, value

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="before")
    @classmethod
    def _gatus_tcp_url(cls, data: Any) -> Any:
        """Gatus writes a TCP check as ``url: tcp://host:port``: make it a ``tcp:`` probe."""
        if isinstance(data, Mapping) and data.get("tcp") is None:
            url = data.get("url")
            if isinstance(url, str) and _TCP_SCHEME.match(url.strip()):
                return {**{k: v for k, v in data.items() if k != "url"}, "tcp": url}
        return data

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        problem = _url_problem(value)
        if problem is not None:
            raise ValueError(f"{problem}, got {value!r}")
        return value

    @field_validator("tcp")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        written = value.strip()
        value = _TCP_SCHEME.sub("", written)  # Gatus's tcp://host:port
        if _OTHER_SCHEME.match(value):
            raise ValueError(f"expected host:port (an http(s) URL goes under url:), got {value!r}")
        host, sep, port = value.rpartition(":")
        bracketed = host.startswith("[") and host.endswith("]")
        host = host[1:-1] if bracketed else host
        if not bracketed and ":" in host:  # "::1" or "fe80::1:5432": which part is the port?
            raise ValueError(
                f"expected host:port with an IPv6 address in brackets, like [::1]:5432, "
                f"got {written!r}"
            )
        if (
            not sep
            or not host
            or _SPACE_OR_CONTROL.search(host)
            or not (port.isascii() and port.isdigit())
            or not 1 <= int(port) <= 65535
        ):
            raise ValueError(f"expected host:port with a port from 1 to 65535, got {written!r}")
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        method = value.strip().upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"must be one of {', '.join(HTTP_METHODS)}, got {value!r}")
        return method

    @field_validator("headers")
    @classmethod
    def _sane_headers(cls, value: FrozenHeaders) -> FrozenHeaders:
        seen: dict[str, str] = {}
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise FieldError((name,), "invalid header name")
            # Header names are case-insensitive: httpx would send both, a server keep either.
            first = seen.setdefault(name.lower(), name)
            if first != name:
                raise FieldError((name,), f"duplicate header (already set as {first!r})")
            if "\r" in text or "\n" in text:
                raise FieldError((name,), "header value must not contain a line break")
        # HTTP forbids leading/trailing whitespace in a value (httpx refuses to send it, Go
        # trims it): "Bearer ${TOKEN:-}" with TOKEN unset must still send the request.
        return FrozenHeaders((name, text.strip(" \t")) for name, text in value.items())

    @model_validator(mode="after")
    def _consistent(self) -> ProbeConfig:
        if self.url is not None and self.tcp is not None:
            raise FieldError(("tcp",), "set either url or tcp, not both")
        if self.url is None and self.tcp is None:
            raise ValueError("needs a target: url (http/https) or tcp (host:port)")
        fields_set = self.model_fields_set
        if "timeout" not in fields_set and self.interval <= DEFAULT_TIMEOUT:
            object.__setattr__(self, "timeout", self.interval * 0.8)
        if self.timeout >= self.interval:
            raise FieldError(
                ("timeout",), f"must be shorter than interval ({format_setting(self.interval)})"
            )
        if "conditions" not in fields_set:
            texts = DEFAULT_HTTP_CONDITIONS if self.kind == "http" else DEFAULT_TCP_CONDITIONS
            object.__setattr__(self, "conditions", tuple(parse_condition(t) for t in texts))
        elif not self.conditions:
            raise FieldError(("conditions",), "must list at least one condition")
        if self.kind == "tcp":
            for index, condition in enumerate(self.conditions):
                found = _HTTP_ONLY.search(condition.text)
                if found:
                    raise FieldError(
                        ("conditions", index),
                        f"[{found.group(1).upper()}] is only available on http probes",
                    )
        return self


class Config(BaseModel):
    """The whole ``checks.yaml``."""

    model_config = _FROZEN

    service: str = "Service"
    timezone: str = "UTC"
    uptime_target: float = Field(default=99.5, gt=0, le=100)
    retention: Duration = timedelta(days=90)
    max_concurrency: int = Field(default=20, ge=1, le=500)
    defaults: ProbeDefaults = Field(default_factory=ProbeDefaults)
    probes: tuple[ProbeConfig, ...] = ()
    shift: ShiftConfig = Field(default_factory=ShiftConfig)
    sentry: SentryConfig | None = None
    prometheus: PrometheusConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    statuspage: StatuspageConfig | None = None
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    team: Annotated[tuple[str, ...], AfterValidator(check_team)] = ()
    sla: SlaConfig = Field(default_factory=SlaConfig)
    triage: TriageConfig = Field(default_factory=TriageConfig)
    runbooks: RunbooksConfig = Field(default_factory=RunbooksConfig)
    email: EmailConfig | None = None
    tickets: TicketsConfig = Field(default_factory=TicketsConfig)
    incident: IncidentConfig = Field(default_factory=IncidentConfig)
    checklists: ChecklistsConfig = Field(default_factory=ChecklistsConfig)
    _secret_refs: tuple[tuple[str, str], ...] = PrivateAttr(default=())
    """(value, ``${NAME}``) of each secret-named variable substituted anywhere in the file
    (set by the loader): redacted from logs and Sentry reports even without probes."""

    @property
    def tz(self) -> ZoneInfo:
        """The operator's display time zone."""
        return ZoneInfo(self.timezone)

    def probe(self, name: str) -> ProbeConfig:
        """Return the probe called ``name``.

        Raises:
            KeyError: when no probe has that name.
        """
        for probe in self.probes:
            if probe.name == name:
                return probe
        raise KeyError(name)

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # `probes:` with every item commented out is an empty list, not an error (as an
        # empty `sentry:` is "not configured")
        empty = [k for k, v in data.items() if v is None and _is_list_field(cls, k)]
        if empty:
            data = {**data, **{k: () for k in empty}}
        defaults, probes = data.get("defaults"), data.get("probes")
        if not isinstance(defaults, Mapping) or not isinstance(probes, list | tuple):
            return data
        inherited = {k: defaults[k] for k in INHERITED_KEYS if defaults.get(k) is not None}
        if not inherited:
            return data
        merged = [{**inherited, **p} if isinstance(p, Mapping) else p for p in probes]
        return {**data, "probes": merged}

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        return check_zone(value)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: dict[str, int] = {}
        for index, probe in enumerate(self.probes):
            if probe.name in seen:
                first = seen[probe.name]
                raise FieldError(
                    ("probes", index, "name"),
                    f"duplicate probe name {probe.name!r} (already used by probes[{first}])",
                )
            seen[probe.name] = index
        return self


def _is_list_field(model: type[BaseModel], key: object) -> bool:
    """Whether ``key`` is a field of ``model`` whose default is an empty collection."""
    field = model.model_fields.get(key) if isinstance(key, str) else None
    if field is None:
        return False
    default = field.get_default(call_default_factory=True)
    return isinstance(default, tuple | list | frozenset) and not default
