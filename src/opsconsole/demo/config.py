"""The checks.yaml written for ``opsconsole demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def demo_config_text(
    base_url: str,
    port: int,
    interval: str = "5s",
    *,
    sentry: dict[str, object] | None = None,
    statuspage_url: str | None = None,
    prometheus_url: str | None = None,
    alertmanager_url: str | None = None,
    email: dict[str, object] | None = None,
    incident: dict[str, object] | None = None,
) -> str:
    """Return a checks.yaml probing the demo API at ``base_url`` (and the other demo sources)."""
    probes = [
        {
            "name": "API health",
            "url": f"{base_url}/health",
            "conditions": [
                "[STATUS] == 200",
                "[BODY].status == ok",
                "[RESPONSE_TIME] < 1000",
            ],
        },
        {
            "name": "Dashboard",
            "url": f"{base_url}/dashboard",
            "conditions": ["[STATUS] == 200", "[BODY] == pat(*Dashboard*)"],
        },
        {
            "name": "Slow endpoint",
            "url": f"{base_url}/v1/slow",
            "interval": "5s",
            "timeout": "4s",
            "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 1000"],
        },
        {
            "name": "API key check",
            "url": f"{base_url}/v1/check",
            "conditions": ["[STATUS] == 401"],
        },
        {
            "name": "Metrics endpoint",
            "url": f"{base_url}/metrics",
            "conditions": ["[STATUS] == 200"],
        },
        {"name": "API port", "tcp": f"127.0.0.1:{port}", "conditions": ["[CONNECTED] == true"]},
    ]
    config: dict[str, object] = {
        "service": "AI Governance API (demo)",
        "timezone": "UTC",
        "uptime_target": 99.5,
        "defaults": {"interval": interval, "failure_threshold": 2, "success_threshold": 2},
        "probes": probes,
    }
    if sentry is not None:
        config["sentry"] = sentry
    if prometheus_url is not None:
        config["prometheus"] = {"url": prometheus_url, "interval": "5s", "timeout": "4s"}
    if alertmanager_url is not None:
        config["alertmanager"] = {"url": alertmanager_url, "interval": "5s", "timeout": "4s"}
    if statuspage_url is not None:
        config["statuspage"] = {"url": statuspage_url}
    if incident is not None:
        config["incident"] = incident
    if email is not None:
        config["operator"] = {"name": "Demo Operator", "email": "oncall@company.com"}
        config["team"] = ["Demo Operator", "Sam Lee", "Priya Shah"]
        config["email"] = email
    return yaml.safe_dump(config, sort_keys=False)


def write_demo_config(
    directory: Path, base_url: str, port: int, interval: str = "5s", **sources: Any
) -> Path:
    """Write the demo config into ``directory`` and return its path."""
    path = directory / "checks.yaml"
    path.write_text(demo_config_text(base_url, port, interval, **sources), encoding="utf-8")
    return path
