"""The core and config layers import no UI and no I/O libraries (ARCHITECTURE.md)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import opsconsole.config
import opsconsole.core

FORBIDDEN = ("textual", "httpx", "aiosqlite", "rich")


def _modules(package: object) -> list[str]:
    path = package.__path__  # type: ignore[attr-defined]
    prefix = package.__name__ + "."  # type: ignore[attr-defined]
    return [m.name for m in pkgutil.walk_packages(path, prefix)]


def test_core_and_config_import_no_ui_or_io() -> None:
    """Importing every core and config module in a fresh interpreter loads none of FORBIDDEN."""
    modules = _modules(opsconsole.core) + _modules(opsconsole.config)
    assert "opsconsole.core.conditions" in modules
    assert "opsconsole.config.loader" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_imports_no_yaml() -> None:
    """The core is pure: even yaml stays in the config layer."""
    modules = _modules(opsconsole.core)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_app_startup_imports_no_optional_heavyweights() -> None:
    """Startup cost: sentry_sdk (no DSN), prometheus-api-client and requests load only on use."""
    code = (
        "import sys, opsconsole.app, opsconsole.cli\n"
        "heavy = ('sentry_sdk', 'prometheus_api_client', 'requests', 'urllib3')\n"
        "print(','.join(sorted(n for n in heavy if n in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
