"""Everything ``opsconsole demo`` runs on 127.0.0.1: the demo API, a Sentry-compatible
API, a status page, and (when installed) real Prometheus and Alertmanager."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from opsconsole.demo.api import DemoApi
from opsconsole.demo.config import write_demo_config
from opsconsole.demo.mailbox import MailDropper
from opsconsole.demo.prom_stack import PromStack, PromStackError
from opsconsole.demo.sentry_api import DEMO_TOKEN, SentryFake
from opsconsole.demo.slack_fake import SlackFake
from opsconsole.demo.statuspage import DemoStatuspage

SENTRY_TOKEN_ENV = "OPSCONSOLE_DEMO_SENTRY_TOKEN"
SLACK_WEBHOOK_ENV = "OPSCONSOLE_DEMO_SLACK_WEBHOOK"


@dataclass
class DemoServices:
    """Start with :meth:`start`, stop with :meth:`stop` (or use ``with``)."""

    healthy_for: float = 45.0
    unhealthy_for: float = 20.0
    interval: str = "5s"
    with_prometheus: bool = True
    mail_every: float = 40.0
    update_every: str = "15m"
    monitoring_window: str = "30m"
    api: DemoApi | None = None
    sentry: SentryFake | None = None
    statuspage: DemoStatuspage | None = None
    prom: PromStack | None = None
    mail: MailDropper | None = None
    slack: SlackFake | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """Pane name -> why it has no data (e.g. how to install Prometheus)."""

    def start(self) -> DemoServices:
        """Start every service; Prometheus/Alertmanager only when installed."""
        self.api = DemoApi(healthy_for=self.healthy_for, unhealthy_for=self.unhealthy_for).start()
        self.sentry = SentryFake(live=True).start()
        self.statuspage = DemoStatuspage(scenario="demo", api_url=self.api.base_url).start()
        self.slack = SlackFake().start()
        os.environ[SLACK_WEBHOOK_ENV] = self.slack.webhook_url
        os.environ[SENTRY_TOKEN_ENV] = DEMO_TOKEN  # the config refers to it as ${...}
        reason = PromStack.missing_reason() if self.with_prometheus else "disabled"
        if reason is None:
            try:
                self.prom = PromStack([f"127.0.0.1:{self.api.port}"]).start(wait_for_targets=False)
            except PromStackError as exc:
                reason = f"Prometheus did not start: {exc}"
                self.prom = None
        if reason is not None:
            self.notes = {"metrics": reason, "alerts": reason}
        return self

    def write_config(self, directory: Path) -> Path:
        """Write the demo checks.yaml pointing at the running services, and start the
        mail that arrives in its support Maildir."""
        assert self.api is not None and self.sentry is not None and self.statuspage is not None
        maildir = directory / "support-maildir"
        self.mail = MailDropper(maildir, every=self.mail_every).start()
        return write_demo_config(
            directory,
            self.api.base_url,
            self.api.port,
            self.interval,
            sentry={
                "base_url": self.sentry.base_url,
                "org": "acme",
                "projects": list(self.sentry.project_slugs),
                "token": "${" + SENTRY_TOKEN_ENV + "}",
                "interval": "15s",
                "timeout": "10s",
            },
            statuspage_url=self.statuspage.base_url,
            prometheus_url=self.prom.prometheus_url if self.prom else "http://127.0.0.1:9",
            alertmanager_url=self.prom.alertmanager_url if self.prom else "http://127.0.0.1:9",
            incident={
                "slack": {"webhook": "${" + SLACK_WEBHOOK_ENV + "}", "channel_label": "#incidents"},
                "reviews_dir": str(directory / "reviews"),
                "update_every": self.update_every,
                "monitoring_window": self.monitoring_window,
            },
            email={
                "maildir": str(maildir),
                "outbox": str(directory / "outbox"),
                "poll_interval": "3s",
            },
        )

    def stop(self) -> None:
        """Stop everything that was started."""
        for service in (self.slack, self.mail, self.prom, self.statuspage, self.sentry, self.api):
            if service is not None:
                service.stop()

    def __enter__(self) -> DemoServices:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
