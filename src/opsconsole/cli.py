"""Command line: ``opsconsole [run|check|config validate|demo]``.

Every subcommand accepts ``--config PATH`` and ``--db PATH`` after its name. Config
errors print one line and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import logging.handlers
import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opsconsole import __version__
from opsconsole.config.loader import ConfigError, find_config, load_config
from opsconsole.config.schema import Config
from opsconsole.core.models import ProbeResult, ProbeState
from opsconsole.core.store import StoreError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DSN_ENV = "OPSCONSOLE_SENTRY_DSN"


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--config`` and ``--db``, accepted before the command and after it.

    On a subcommand the default is SUPPRESS: argparse would otherwise write the
    subcommand's ``None`` over a value given before the command
    (``opsconsole --db X tickets import``).
    """
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        metavar="PATH",
        help="checks.yaml to use (default: ./checks.yaml, then "
        "$XDG_CONFIG_HOME/opsconsole/checks.yaml)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=default,
        metavar="PATH",
        help="SQLite history database (default: $XDG_DATA_HOME/opsconsole/opsconsole.db)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(
        prog="opsconsole",
        description="The terminal console an on-call support engineer keeps open all shift.",
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", help="open the console (the default)", description="Open the console."
    )
    _common(run)

    check = sub.add_parser(
        "check",
        help="run every probe once and report",
        description="Run every probe once. Exit 0 when all are ok, 1 when any fails, "
        "2 on a config error. With --db the results are also recorded in the history.",
    )
    _common(check)
    check.add_argument("--json", action="store_true", help="print a JSON array instead of a table")

    from opsconsole import cli_incident, cli_shift, cli_tickets

    cli_tickets.add_parser(sub, _common)
    cli_incident.add_parser(sub, _common)
    cli_shift.add_parsers(sub, _common)

    status = sub.add_parser(
        "status",
        help="poll every configured source once and report",
        description="Run every probe and poll Sentry, Prometheus, Alertmanager and the status "
        "page once. Exit 0 when every source answered, 1 otherwise, 2 on a config error.",
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="print one JSON document")

    config = sub.add_parser(
        "config", help="work with checks.yaml", description="Work with checks.yaml."
    )
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    validate = config_sub.add_parser(
        "validate",
        help="check a checks.yaml and report the first error",
        description="Validate a checks.yaml. Exit 0 when valid, 2 with a one-line error otherwise.",
    )
    validate.add_argument("path", nargs="?", type=Path, help="file to validate")
    _common(validate)

    demo = sub.add_parser(
        "demo",
        help="run the console against built-in demo services",
        description="Start a demo of the guide's AI Governance API on 127.0.0.1 and open the "
        "console on a temporary config and database.",
    )
    _common(demo)
    demo.add_argument(
        "--serve",
        action="store_true",
        help="only run the demo services; print the config path and wait for Ctrl-C",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``opsconsole`` script."""
    args = build_parser().parse_args(argv)
    if args.command not in (None, "run", "demo"):
        gc.enable()  # paused for the console's start-up only (see opsconsole.__main__)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO line carries full URLs
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "status":
            return _status(args)
        if args.command in ("checklist", "handover", "report"):
            from opsconsole import cli_shift

            return cli_shift.run(args, _load_or_default(args), _db_path(args))
        if args.command == "incident":
            from opsconsole import cli_incident

            return cli_incident.run(args, _load_or_default(args), _db_path(args))
        if args.command == "tickets":
            from opsconsole import cli_tickets

            return cli_tickets.run(args, _load_or_default(args), _db_path(args))
        if args.command == "config":
            return _validate(args)
        if args.command == "demo":
            return _demo(args)
        return _run(args)
    except ConfigError as exc:
        print(f"opsconsole: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"opsconsole: history database: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader stopped early (`opsconsole report | head`): not an error. Python
        # flushes stdout again at exit, so point it at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: one redacted line here, the traceback in the log
        return _report_crash(exc)


def _state_log_file() -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "opsconsole" / "opsconsole.log"


def _report_crash(error: BaseException) -> int:
    """Print one redacted, terminal-safe line for an unexpected exception; log the rest.

    Python's default would print a traceback whose messages can hold a URL with a token
    or untrusted text with escape sequences. The traceback, redacted, is appended to the
    log file instead.
    """
    import traceback

    from opsconsole.adapters import logging_setup
    from opsconsole.core.redact import redact_text
    from opsconsole.core.text import sanitize_terminal

    active = logging_setup._FILTER
    secrets = [*(active.secrets if active is not None else ()), os.environ.get(DSN_ENV, "")]
    summary = redact_text(f"{type(error).__name__}: {error}", secrets)
    line = "opsconsole: unexpected error: " + sanitize_terminal(
        summary, single_line=True, limit=300
    )
    log_file = _state_log_file()
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        details = redact_text("".join(traceback.format_exception(error)), secrets)
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as out:
            out.write(f"opsconsole: unexpected error\n{details}")
        line += f" (traceback in {log_file})"
    except OSError:
        pass
    print(line, file=sys.stderr)
    return EXIT_FAILED


def _load(args: argparse.Namespace) -> Config:
    return _load_path(find_config(args.config))


def _load_path(path: Path) -> Config:
    """Load ``path``; print its warnings (a world-readable literal secret) to stderr."""
    warnings: list[str] = []
    config = load_config(path, warnings=warnings)
    for warning in warnings:
        print(f"opsconsole: warning: {warning}", file=sys.stderr)
    return config


def _load_or_default(args: argparse.Namespace) -> Config:
    """The config, or the defaults when none exists (ticket commands work without one)."""
    try:
        path = find_config(args.config)
    except ConfigError:
        if args.config is not None:
            raise
        return Config()
    return _load_path(path)


def _db_path(args: argparse.Namespace) -> Path:
    from opsconsole.adapters.sqlite_store import default_db_path

    return args.db if args.db is not None else default_db_path()


def _validate(args: argparse.Namespace) -> int:
    path = find_config(args.path or args.config)
    config = _load_path(path)
    print(f"{path}: ok ({len(config.probes)} probes)")
    return EXIT_OK


LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 2
"""The log file is rotated at 5 MiB, keeping two old ones (at most 15 MiB in all)."""


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-rotated log whose files (the rotated-in ones included) are 0600.

    A console left running for weeks with a source failing every poll would otherwise grow
    one log file without bound, until the disk (and the history database on it) is full.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
        )

    def _open(self) -> Any:
        return open(
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors="backslashreplace",
            opener=lambda name, flags: os.open(name, flags, 0o600),
        )


def _setup_file_logging(config: Config) -> Path | None:
    """The TUI owns the terminal, so warnings go to a log file, with secrets redacted."""
    from opsconsole.adapters.logging_setup import config_secrets, install_log_redaction

    log_file = _state_log_file()
    try:
        # Private: the log holds tracebacks, ticket subjects and customer addresses.
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        if log_file.stat().st_mode & 0o077:
            log_file.chmod(0o600)
        logging.basicConfig(
            handlers=[_PrivateRotatingFileHandler(log_file)],
            level=logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    except OSError:
        logging.basicConfig(level=logging.CRITICAL)
        install_log_redaction(config_secrets(config))
        return None
    install_log_redaction([*config_secrets(config), os.environ.get(DSN_ENV, "")])
    return log_file


def _run(
    args: argparse.Namespace,
    config: Config | None = None,
    *,
    pane_notes: dict[str, str] | None = None,
) -> int:
    from opsconsole.adapters.http_probe import ProbeRunner
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.adapters.telemetry import flush_telemetry, init_telemetry
    from opsconsole.app import make_app
    from opsconsole.polling import build_sources

    config = config or _load(args)
    db = _db_path(args)
    log_file = _setup_file_logging(config)
    init_telemetry(config)

    async def open_store() -> SqliteStore:
        return await SqliteStore.open(db)

    app = make_app(
        config,
        store_factory=open_store,
        runner_factory=lambda: ProbeRunner(max_concurrency=config.max_concurrency),
        sources_factory=lambda: {
            k: v for k, v in build_sources(config).items() if k not in (pane_notes or {})
        },
        pane_notes=pane_notes,
    )
    if log_file is not None:
        app.crash_hint = f"the full traceback is in {log_file}"
    try:
        app.run()
    finally:
        flush_telemetry(timeout=2)
    return EXIT_OK if not app.return_code else EXIT_FAILED


# -- check ------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from opsconsole.core.text import sanitize_terminal
    from opsconsole.status_report import one_shot_state, result_json, run_probes_once

    config = _load(args)
    results = asyncio.run(run_probes_once(config, args.db))
    if args.json:
        print(json.dumps([result_json(r) for r in results], indent=2))
    else:
        width = max([len(r.probe) for r in results] + [5])
        print(f"{'STATE':<9} {'PROBE':<{width}} {'STATUS':>6} {'LATENCY':>9}  DETAIL")
        for r in results:
            status = "" if r.status is None else str(r.status)
            latency = "" if r.latency_ms is None else f"{r.latency_ms:.0f}ms"
            detail = sanitize_terminal(r.reason, single_line=True, limit=160)
            name = sanitize_terminal(r.probe, single_line=True)
            print(
                f"{one_shot_state(r).upper():<9} {name:<{width}} {status:>6} {latency:>9}  {detail}"
            )
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def one_shot_state_for(result: ProbeResult) -> ProbeState:
    """A single run's state (up, degraded or down) as a ProbeState."""
    from opsconsole.status_report import one_shot_state

    return ProbeState(one_shot_state(result))


def probe_status_of(result: ProbeResult) -> Any:
    """A one-shot result shaped like the engine's ProbeStatus."""
    from opsconsole.engine import ProbeStatus

    return ProbeStatus(
        name=result.probe,
        target="",
        state=one_shot_state_for(result),
        result=result,
        latencies=(result.latency_ms,) if result.latency_ms is not None else (),
    )


def _status(args: argparse.Namespace) -> int:
    from opsconsole.status_report import all_answered, build_document, collect, render_table

    config = _load(args)
    results, statuses = asyncio.run(collect(config, db=args.db))
    document = build_document(results, statuses)
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(render_table(document))
    return EXIT_OK if all_answered(results, statuses) else EXIT_FAILED


# -- demo -------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from opsconsole.demo.services import DemoServices

    # Presentation/test knobs: how long /health stays up and down, and the probe interval.
    env = os.environ
    services = DemoServices(
        healthy_for=float(env.get("OPSCONSOLE_DEMO_HEALTHY_SECONDS", "45")),
        unhealthy_for=float(env.get("OPSCONSOLE_DEMO_UNHEALTHY_SECONDS", "20")),
        interval=env.get("OPSCONSOLE_DEMO_INTERVAL", "5s"),
        with_prometheus=env.get("OPSCONSOLE_DEMO_PROMETHEUS", "1") != "0",
        mail_every=float(env.get("OPSCONSOLE_DEMO_MAIL_SECONDS", "40")),
        update_every=env.get("OPSCONSOLE_DEMO_UPDATE_EVERY", "15m"),
        monitoring_window=env.get("OPSCONSOLE_DEMO_MONITORING_WINDOW", "30m"),
    )
    if not args.serve:
        print("starting the demo services…", flush=True)
    with services, tempfile.TemporaryDirectory(prefix="opsconsole-demo-") as tmp:
        path = services.write_config(Path(tmp))
        if args.serve:
            print(f"demo services running; config: {path}", flush=True)
            for pane, note in services.notes.items():
                print(f"  {pane}: {note}", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                return EXIT_OK
        config = load_config(path)
        if args.db is None:
            args.db = Path(tmp) / "demo.db"
        asyncio.run(_seed_demo_queue(args.db, config))
        return _run(args, config, pane_notes=services.notes)


async def _seed_demo_queue(db: Path, config: Config) -> None:
    """Give the demo a realistic queue (only into an empty database)."""
    from opsconsole.adapters.sqlite_store import SqliteStore
    from opsconsole.core.clock import system_clock
    from opsconsole.core.store import TicketQuery
    from opsconsole.demo.mailbox import seed_queue

    store = await SqliteStore.open(db)
    try:
        if await store.count_tickets(TicketQuery()) == 0:
            await seed_queue(store, config, system_clock())
    finally:
        await store.close()
