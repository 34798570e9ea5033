"""Notifications: Slack, email (SMTP + STARTTLS), PagerDuty Events v2 and a generic JSON webhook.

Secrets (webhook URLs, routing keys, the SMTP password) come only from environment variables and never
appear in logs or outcomes. A failing channel is retried with backoff a bounded number of times and never
raises: `notify()` records one `ChannelOutcome` per channel in `outcomes` and counts `failures`.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Callable, Mapping, Sequence

from rockway import __version__

from rockway.observability import attributes, metrics, spans
from rockway.interfaces import CheckSummary, RunSummary, Severity
from rockway.errors import ConfigError

log = logging.getLogger("rockway.verify.notify")

CHANNEL_TYPES = ("slack", "email", "pagerduty", "webhook")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
TRACE_URL_ENV = "ROCKWAY_TRACE_URL_TEMPLATE"
SMTP_ENV = ("ROCKWAY_SMTP_HOST", "ROCKWAY_SMTP_PORT", "ROCKWAY_SMTP_USER", "ROCKWAY_SMTP_PASSWORD", "ROCKWAY_SMTP_FROM",
            "ROCKWAY_SMTP_TO")
_SECRET_KEYS = {"url", "webhook_url", "routing_key", "integration_key", "password", "token", "secret"}
_DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "slack": {"url_env": "ROCKWAY_SLACK_WEBHOOK_URL"},
    "webhook": {"url_env": "ROCKWAY_WEBHOOK_URL"},
    "pagerduty": {"routing_key_env": "ROCKWAY_PAGERDUTY_ROUTING_KEY", "events_url": PAGERDUTY_EVENTS_URL},
    "email": {"starttls": True},
}
_OPTION_KEYS = {"type", "url_env", "routing_key_env", "events_url", "starttls", "ca_file", "source"}
DEFAULT_ROUTES = {Severity.CRITICAL: ("pagerduty", "slack"), Severity.WARNING: ("slack",), Severity.INFO: ()}
_PD_SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "warning", Severity.INFO: "info"}


@dataclass(frozen=True)
class Channel:
    """A configured channel: its type and non-secret options (which env variable holds the secret)."""

    name: str
    type: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotifyConfig:
    """Routing by severity, channels, and the retry policy."""

    routes: Mapping[Severity, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    channels: Mapping[str, Channel] = field(
        default_factory=lambda: {t: Channel(t, t, _DEFAULT_OPTIONS[t]) for t in CHANNEL_TYPES})
    timeout: float = 10.0  # seconds per HTTP request / SMTP conversation
    tries: int = 3
    backoff: float = 1.0  # seconds before the 2nd try, doubled before each further try
    job_failure: Severity = Severity.CRITICAL  # how a failed pipeline/job is routed
    max_checks: int = 20  # failed checks listed in one message

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "[verify.notify]") -> "NotifyConfig":
        """Build from a rockway.toml table; secrets there are refused."""
        known = {"routes", "channels", "timeout", "tries", "backoff", "job_failure", "max_checks"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}", hint="Known: " + ", ".join(sorted(known)))
        channels = dict(cls().channels)
        for name, raw in (data.get("channels") or {}).items():
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{where}.channels.{name} must be a table")
            secret = _SECRET_KEYS & set(raw)
            if secret:
                raise ConfigError(f"{where}.channels.{name} sets {', '.join(sorted(secret))}: secrets come only from "
                                  "environment variables", hint="Name the variable instead, e.g. url_env = \"MY_SLACK_URL\".")
            kind = str(raw.get("type", name))
            if kind not in CHANNEL_TYPES:
                raise ConfigError(f"{where}.channels.{name}: unknown type {kind!r}", hint="Types: " + ", ".join(CHANNEL_TYPES))
            extra = set(raw) - _OPTION_KEYS
            if extra:
                raise ConfigError(f"{where}.channels.{name}: unknown key(s) {', '.join(sorted(extra))}")
            channels[name] = Channel(name, kind, {**_DEFAULT_OPTIONS[kind], **{k: v for k, v in raw.items() if k != "type"}})
        # a routes table replaces the default routing whole: a severity it leaves out goes nowhere
        routes: dict[Severity, tuple[str, ...]] = dict(DEFAULT_ROUTES) if "routes" not in data else {}
        for key, names in (data.get("routes") or {}).items():
            severity = Severity.named(key)
            if severity is None:
                raise ConfigError(f"{where}.routes: unknown severity {key!r}", hint="Use CRITICAL, WARNING or INFO.")
            if isinstance(names, str) or not isinstance(names, Sequence):
                raise ConfigError(f"{where}.routes.{key} must be a list of channel names")
            missing = [n for n in names if n not in channels]
            if missing:
                raise ConfigError(f"{where}.routes.{key}: unknown channel(s) {', '.join(missing)}",
                                  hint="Channels: " + ", ".join(sorted(channels)))
            routes[severity] = tuple(names)
        try:
            values = dict(timeout=float(data.get("timeout", 10.0)), tries=int(data.get("tries", 3)),
                          backoff=float(data.get("backoff", 1.0)), max_checks=int(data.get("max_checks", 20)))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: invalid value: {exc}") from None
        job_failure = Severity.named(data.get("job_failure", "CRITICAL"))
        if job_failure is None:
            raise ConfigError(f"{where}: job_failure must be CRITICAL, WARNING or INFO, not {data['job_failure']!r}")
        if not (0 < values["timeout"] <= 120) or not (1 <= values["tries"] <= 10) or values["backoff"] < 0:
            raise ConfigError(f"{where}: timeout must be in (0, 120], tries in 1..10, backoff >= 0")
        return cls(routes=routes, channels=channels, job_failure=job_failure, **values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChannelOutcome:
    """What happened on one channel."""

    channel: str
    type: str
    status: str  # sent | failed | skipped
    attempts: int = 0
    events: int = 0  # messages or PagerDuty events delivered
    error: str = ""


class _Transient(Exception):
    """Worth retrying: network error, timeout, HTTP 429 or 5xx."""


class _Permanent(Exception):
    """Not worth retrying: HTTP 4xx, authentication refused."""


class _NotConfigured(Exception):
    """The channel's environment variables are not set: skipped, with a warning when it had news."""


# --- messages ------------------------------------------------------------------------------------
def trace_url(summary: RunSummary, template: str | None) -> str | None:
    """The trace link from ROCKWAY_TRACE_URL_TEMPLATE (`{trace_id}`, `{run_id}`), or None."""
    if not template or not summary.trace_id:
        return None
    return template.replace("{trace_id}", summary.trace_id).replace("{run_id}", summary.run_id)


def failed_checks(summary: RunSummary) -> list[CheckSummary]:
    """Failed and errored checks, worst severity first."""
    return sorted(summary.checks.failed, key=lambda c: (-c.severity.rank, c.name))


def _check_line(c: CheckSummary) -> str:
    value = "NULL" if c.value is None else (str(int(c.value)) if float(c.value).is_integer() else f"{c.value:.6g}")
    where = f" ({c.table})" if c.table else ""
    tail = f" — {c.message}" if c.message else ""
    return f"- {c.severity.value} {c.name}{where}: {c.status}, value {value}, bounds {c.bounds or '-'}{tail}"


def headline(summary: RunSummary) -> str:
    failed = failed_checks(summary)
    text = f"rockway {summary.pipeline}: {summary.status.upper()}"
    if failed:
        text += f", {len(failed)} failed check{'s' if len(failed) != 1 else ''} (worst {failed[0].severity.value})"
    return text


def message_text(summary: RunSummary, link: str | None, max_checks: int = 20) -> str:
    """Plain text for Slack and email: pipeline, status, rows, jobs, failed checks, run and trace."""
    lines = [headline(summary), f"run_id: {summary.run_id}"]
    if link:
        lines.append(f"trace: {link}")
    elif summary.trace_id:
        lines.append(f"trace_id: {summary.trace_id}")
    if summary.jobs:
        lines.append("jobs: " + ", ".join(f"{k}={v}" for k, v in summary.jobs.items()))
    if summary.rows:
        lines.append("rows: " + ", ".join(f"{k}={v}" for k, v in summary.rows.items()))
    if summary.error:
        lines.append(f"error: {summary.error}")
    failed = failed_checks(summary)
    if failed:
        lines.append("failed checks:")
        lines += [_check_line(c) for c in failed[:max_checks]]
        if len(failed) > max_checks:
            lines.append(f"… and {len(failed) - max_checks} more")
    return "\n".join(lines)


def webhook_payload(summary: RunSummary, link: str | None) -> dict[str, Any]:
    """The generic webhook's JSON document."""
    failed = failed_checks(summary)
    return {
        "source": "rockway", "pipeline": summary.pipeline, "status": summary.status, "run_id": summary.run_id,
        "trace_id": summary.trace_id, "trace_url": link, "rows": dict(summary.rows), "jobs": dict(summary.jobs),
        "error": summary.error, "worst_severity": failed[0].severity.value if failed else None,
        "failed_checks": [{"name": c.name, "table": c.table, "severity": c.severity.value, "status": c.status,
                           "value": c.value, "bounds": c.bounds, "message": c.message} for c in failed],
        "checks_total": len(summary.checks.results),
    }


def job_failed(summary: RunSummary) -> bool:
    """True when the run failed for a reason other than failed checks (an error or a failed job)."""
    if summary.error or any(status not in ("success", "skipped") for status in summary.jobs.values()):
        return True
    return summary.status != "success" and not summary.checks.failed


def dedup_key(pipeline: str, check: str) -> str:
    """PagerDuty dedup key of one check: `rockway:<pipeline>:<check>`."""
    return f"rockway:{pipeline}:{check}"


def pagerduty_events(summary: RunSummary, routing_key: str, link: str | None, severities: set[Severity],
                     job_failure: Severity, source: str = "rockway") -> list[dict[str, Any]]:
    """Trigger events for failed checks routed here, resolve events for passing ones (and for the pipeline)."""
    events: list[dict[str, Any]] = []
    links = [{"href": link, "text": "trace"}] if link else []
    if job_failure in severities:
        key = dedup_key(summary.pipeline, "pipeline")
        if job_failed(summary):
            events.append({"routing_key": routing_key, "event_action": "trigger", "dedup_key": key, "links": links,
                           "payload": {"summary": f"rockway {summary.pipeline}: {summary.status}"[:1024],
                                       "source": source, "severity": _PD_SEVERITY[job_failure], "group": summary.pipeline,
                                       "class": "pipeline", "custom_details": {"run_id": summary.run_id,
                                                                               "error": summary.error,
                                                                               "jobs": dict(summary.jobs)}}})
        else:
            events.append({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})
    for c in summary.checks.results:
        if c.severity not in severities:
            continue
        key = dedup_key(summary.pipeline, c.name)
        if c.status == "pass":
            events.append({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})
            continue
        events.append({"routing_key": routing_key, "event_action": "trigger", "dedup_key": key, "links": links,
                       "payload": {"summary": f"{c.severity.value} check {c.name} {c.status} on {c.table or '-'}: "
                                              f"value {c.value}, bounds {c.bounds or '-'}"[:1024],
                                   "source": source, "severity": _PD_SEVERITY[c.severity], "component": c.table,
                                   "group": summary.pipeline, "class": "data_check",
                                   "custom_details": {"run_id": summary.run_id, "trace_id": summary.trace_id,
                                                      "value": c.value, "bounds": c.bounds, "message": c.message}}})
    return events


# --- transports ----------------------------------------------------------------------------------
def post_json(url: str, payload: Any, timeout: float) -> int:
    """POST a JSON document; 2xx returns the status, 429/5xx/network errors are transient, other 4xx permanent."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": f"rockway/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL from configuration
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        error = f"HTTP {exc.code}"
        if exc.code == 429 or exc.code >= 500:
            raise _Transient(error) from None
        raise _Permanent(error) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"{type(reason).__name__}: {reason}") from None


def send_email(env: Mapping[str, str], subject: str, body: str, timeout: float, *, starttls: bool = True,
               ca_file: str | None = None) -> None:
    """Send one message over SMTP with STARTTLS and (when ROCKWAY_SMTP_USER is set) AUTH."""
    host, sender, to = env.get("ROCKWAY_SMTP_HOST"), env.get("ROCKWAY_SMTP_FROM"), env.get("ROCKWAY_SMTP_TO")
    if not host or not sender or not to:
        raise _Permanent("ROCKWAY_SMTP_HOST, ROCKWAY_SMTP_FROM and ROCKWAY_SMTP_TO must be set")
    try:
        port = int(env.get("ROCKWAY_SMTP_PORT") or 587)
    except ValueError:
        raise _Permanent("ROCKWAY_SMTP_PORT is not a number") from None
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, sender, to
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
                smtp.starttls(context=context)
                smtp.ehlo()
            if env.get("ROCKWAY_SMTP_USER"):
                smtp.login(env["ROCKWAY_SMTP_USER"], env.get("ROCKWAY_SMTP_PASSWORD", ""))
            smtp.send_message(message, to_addrs=[a.strip() for a in to.split(",") if a.strip()])
    except smtplib.SMTPAuthenticationError as exc:
        raise _Permanent(f"SMTP authentication refused ({exc.smtp_code})") from None
    except ssl.SSLCertVerificationError as exc:
        raise _Permanent(f"TLS certificate not trusted: {exc.verify_message or exc} ({exc.reason})") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from None


# --- the notifier ----------------------------------------------------------------------------------
def _poster(url: str, payload: Any, timeout: float) -> Callable[[], None]:
    """One delivery: POST payload as JSON."""

    def post() -> None:
        post_json(url, payload, timeout)
    return post


class RockwayNotifier:
    """contracts.Notifier over the configured channels; never raises."""

    def __init__(self, config: NotifyConfig | None = None, *, environ: Mapping[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config or NotifyConfig()
        self.environ = os.environ if environ is None else environ
        self.sleep = sleep
        self.outcomes: tuple[ChannelOutcome, ...] = ()
        self.failures = 0  # failed channels over this notifier's lifetime

    def notify(self, summary: RunSummary) -> None:
        """Send summary to the channels its failures route to; record outcomes instead of raising."""
        self.send(summary)

    def channels_for(self, summary: RunSummary) -> dict[str, set[Severity]]:
        """channel name -> severities that route there (failed checks, job failure; PagerDuty also resolves)."""
        routed: dict[str, set[Severity]] = {}
        failing = {c.severity for c in summary.checks.failed}
        if job_failed(summary):
            failing.add(self.config.job_failure)
        for severity, names in self.config.routes.items():
            for name in names:
                channel = self.config.channels.get(name)
                if severity in failing or (channel is not None and channel.type == "pagerduty"):
                    routed.setdefault(name, set()).add(severity)
        return routed

    def send(self, summary: RunSummary) -> tuple[ChannelOutcome, ...]:
        """Deliver to every routed channel; return (and keep) one outcome per channel."""
        outcomes: list[ChannelOutcome] = []
        try:
            routed = self.channels_for(summary)
            link = trace_url(summary, self.environ.get(TRACE_URL_ENV))
            for name, severities in routed.items():
                outcomes.append(self._deliver(self.config.channels[name], severities, summary, link))
        except Exception as exc:  # noqa: BLE001 - a notifier never fails the pipeline
            log.warning("notifications failed: %s", self._scrub(f"{type(exc).__name__}: {exc}"))
            outcomes.append(ChannelOutcome("*", "*", "failed", error=self._scrub(str(exc))))
        self.outcomes = tuple(outcomes)
        self.failures += sum(1 for o in outcomes if o.status == "failed")
        return self.outcomes

    def _secrets(self) -> list[str]:
        names = {"ROCKWAY_SMTP_PASSWORD"}
        for channel in self.config.channels.values():
            names |= {str(v) for k, v in channel.options.items() if k.endswith("_env")}
        return [self.environ[n] for n in names if self.environ.get(n)]

    def _scrub(self, text: str) -> str:
        for secret in sorted(self._secrets(), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _actions(self, channel: Channel, severities: set[Severity], summary: RunSummary,
                 link: str | None) -> list[Callable[[], None]]:
        """The deliveries for one channel (one per message or PagerDuty event)."""
        opts, env, timeout = channel.options, self.environ, self.config.timeout
        if channel.type in ("slack", "webhook"):
            url = env.get(str(opts.get("url_env", "")))
            if not url:
                raise _NotConfigured(f"{opts.get('url_env')} is not set")
            payload = ({"text": message_text(summary, link, self.config.max_checks)} if channel.type == "slack"
                       else webhook_payload(summary, link))
            return [_poster(url, payload, timeout)]
        if channel.type == "pagerduty":
            key = env.get(str(opts.get("routing_key_env", "")))
            if not key:
                raise _NotConfigured(f"{opts.get('routing_key_env')} is not set")
            url = env.get("ROCKWAY_PAGERDUTY_EVENTS_URL") or str(opts.get("events_url") or PAGERDUTY_EVENTS_URL)
            events = pagerduty_events(summary, key, link, severities, self.config.job_failure,
                                      str(opts.get("source", "rockway")))
            return [_poster(url, event, timeout) for event in events]
        if not all(env.get(n) for n in ("ROCKWAY_SMTP_HOST", "ROCKWAY_SMTP_FROM", "ROCKWAY_SMTP_TO")):
            raise _NotConfigured("ROCKWAY_SMTP_HOST, ROCKWAY_SMTP_FROM and ROCKWAY_SMTP_TO must be set")
        subject = "[rockway] " + headline(summary)
        body = message_text(summary, link, self.config.max_checks)
        ca_file = env.get("ROCKWAY_SMTP_CA_FILE") or opts.get("ca_file")
        starttls = bool(opts.get("starttls", True))
        return [lambda: send_email(env, subject, body, timeout, starttls=starttls, ca_file=ca_file)]

    def _deliver(self, channel: Channel, severities: set[Severity], summary: RunSummary, link: str | None) -> ChannelOutcome:
        attempts = 0
        delivered = 0
        attrs: dict[str, Any] = {"rockway.channel": channel.name, "rockway.channel.type": channel.type,
                                 attributes.RUN_ID: summary.run_id}
        with spans.span(f"notify {channel.name}", **attrs) as current:
            try:
                actions = self._actions(channel, severities, summary, link)
            except _NotConfigured as exc:
                news = bool(summary.checks.failed) or summary.status != "success"
                log.log(logging.WARNING if news else logging.DEBUG, "notification channel %s (%s) skipped: %s",
                        channel.name, channel.type, exc)
                return ChannelOutcome(channel.name, channel.type, "skipped", error=str(exc))
            if not actions:
                return ChannelOutcome(channel.name, channel.type, "skipped")
            for action in actions:
                for attempt in range(1, self.config.tries + 1):
                    attempts += 1
                    try:
                        action()
                        delivered += 1
                        break
                    except _Permanent as exc:
                        return self._failed(channel, attempts, delivered, str(exc), current)
                    except _Transient as exc:
                        if attempt == self.config.tries:
                            return self._failed(channel, attempts, delivered, f"{exc} (after {attempt} tries)", current)
                        self.sleep(self.config.backoff * (2 ** (attempt - 1)))
            current.set_attribute("rockway.notify.attempts", attempts)
            return ChannelOutcome(channel.name, channel.type, "sent", attempts=attempts, events=delivered)

    def _failed(self, channel: Channel, attempts: int, delivered: int, error: str, current: Any) -> ChannelOutcome:
        error = self._scrub(error)
        log.warning("notification channel %s (%s) failed: %s", channel.name, channel.type, error,
                    extra={"rockway.channel": channel.name})
        current.set_attribute(attributes.ERROR_TYPE, "notify_failed")
        current.set_attribute("rockway.notify.attempts", attempts)
        metrics.count_error("notify_failed", **{"rockway.channel": channel.name})
        return ChannelOutcome(channel.name, channel.type, "failed", attempts=attempts, events=delivered, error=error)
