"""Notifications against real local servers: an SMTP server with STARTTLS and AUTH (aiosmtpd), and HTTP
receivers standing in for Slack, PagerDuty and a generic webhook. Payloads are asserted exactly.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Iterator

import pytest

from rockway.interfaces import CheckSummary, RunSummary, Severity, VerificationOutcome
from rockway.errors import ConfigError
from rockway.verify.notify import NotifyConfig, RockwayNotifier
from rockway.verify.settings import load_verify_settings
from tests.support.webhook_receiver import Receiver, free_port

SLACK_SECRET = "/services/T000/B000/slack-s3cret-token"
HOOK_SECRET = "/hooks/webhook-s3cret"
PD_KEY = "pd-routing-key-s3cret"
SMTP_PASSWORD = "smtp-pw-s3cret"
TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _summary(**kw: Any) -> RunSummary:
    checks = (
        CheckSummary("fact_sales_rows", "sales_dw.fact_sales", Severity.CRITICAL, "pass", 1200.0, ">= 1"),
        CheckSummary("fact_sales_customer_known", "sales_dw.fact_sales", Severity.CRITICAL, "fail", 3.0, "<= 0",
                     "3 rows have a customer_id missing from sales_dw.dim_customer.customer_id"),
        CheckSummary("fact_sales_customer_sk_missing", "sales_dw.fact_sales", Severity.WARNING, "fail", 1.25,
                     "CRITICAL: <= 5%; WARNING: <= 0.5%"),
        CheckSummary("fact_sales_negative_net_amount", "sales_dw.fact_sales", Severity.INFO, "fail", 2.0, "<= 0"),
    )
    values: dict[str, Any] = dict(pipeline="morning", status="success", run_id="run-42", trace_id=TRACE,
                                  rows={"sales_dw.fact_sales": 1200}, jobs={"load_fact_sales": "success"},
                                  checks=VerificationOutcome(checks))
    values.update(kw)
    return RunSummary(**values)


def _config(**routes: list[str]) -> NotifyConfig:
    return NotifyConfig.from_mapping({
        "routes": routes or {"CRITICAL": ["pagerduty", "slack"], "WARNING": ["slack", "webhook"], "INFO": []},
        "tries": 3, "backoff": 0.01, "timeout": 2,
    })


EXPECTED_TEXT = "\n".join([
    "rockway morning: SUCCESS, 3 failed checks (worst CRITICAL)",
    "run_id: run-42",
    f"trace: https://signoz.example/trace/{TRACE}",
    "jobs: load_fact_sales=success",
    "rows: sales_dw.fact_sales=1200",
    "failed checks:",
    "- CRITICAL fact_sales_customer_known (sales_dw.fact_sales): fail, value 3, bounds <= 0 — 3 rows have a "
    "customer_id missing from sales_dw.dim_customer.customer_id",
    "- WARNING fact_sales_customer_sk_missing (sales_dw.fact_sales): fail, value 1.25, bounds CRITICAL: <= 5%; "
    "WARNING: <= 0.5%",
    "- INFO fact_sales_negative_net_amount (sales_dw.fact_sales): fail, value 2, bounds <= 0",
])


def test_slack_pagerduty_and_webhook_receive_exact_payloads(receiver: Receiver) -> None:
    env = {"ROCKWAY_SLACK_WEBHOOK_URL": receiver.url(SLACK_SECRET), "ROCKWAY_WEBHOOK_URL": receiver.url(HOOK_SECRET),
           "ROCKWAY_PAGERDUTY_ROUTING_KEY": PD_KEY, "ROCKWAY_PAGERDUTY_EVENTS_URL": receiver.url("/v2/enqueue"),
           "ROCKWAY_TRACE_URL_TEMPLATE": "https://signoz.example/trace/{trace_id}"}
    notifier = RockwayNotifier(_config(), environ=env)
    assert notifier.notify(_summary()) is None
    assert {(o.channel, o.status, o.events) for o in notifier.outcomes} == {
        ("pagerduty", "sent", 3), ("slack", "sent", 1), ("webhook", "sent", 1)}
    by_path: dict[str, list[Any]] = {}
    for request in receiver.requests:
        assert request["content_type"] == "application/json"
        by_path.setdefault(request["path"], []).append(request["json"])
    assert by_path[SLACK_SECRET] == [{"text": EXPECTED_TEXT}]
    assert by_path[HOOK_SECRET] == [{
        "source": "rockway", "pipeline": "morning", "status": "success", "run_id": "run-42", "trace_id": TRACE,
        "trace_url": f"https://signoz.example/trace/{TRACE}", "rows": {"sales_dw.fact_sales": 1200},
        "jobs": {"load_fact_sales": "success"}, "error": None, "worst_severity": "CRITICAL", "checks_total": 4,
        "failed_checks": [
            {"name": "fact_sales_customer_known", "table": "sales_dw.fact_sales", "severity": "CRITICAL",
             "status": "fail", "value": 3.0, "bounds": "<= 0",
             "message": "3 rows have a customer_id missing from sales_dw.dim_customer.customer_id"},
            {"name": "fact_sales_customer_sk_missing", "table": "sales_dw.fact_sales", "severity": "WARNING",
             "status": "fail", "value": 1.25, "bounds": "CRITICAL: <= 5%; WARNING: <= 0.5%", "message": ""},
            {"name": "fact_sales_negative_net_amount", "table": "sales_dw.fact_sales", "severity": "INFO",
             "status": "fail", "value": 2.0, "bounds": "<= 0", "message": ""},
        ]}]
    link = [{"href": f"https://signoz.example/trace/{TRACE}", "text": "trace"}]
    assert by_path["/v2/enqueue"] == [
        {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "rockway:morning:pipeline"},
        {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "rockway:morning:fact_sales_rows"},
        {"routing_key": PD_KEY, "event_action": "trigger", "dedup_key": "rockway:morning:fact_sales_customer_known",
         "links": link,
         "payload": {"summary": "CRITICAL check fact_sales_customer_known fail on sales_dw.fact_sales: value 3.0, "
                                "bounds <= 0", "source": "rockway", "severity": "critical",
                     "component": "sales_dw.fact_sales", "group": "morning", "class": "data_check",
                     "custom_details": {"run_id": "run-42", "trace_id": TRACE, "value": 3.0, "bounds": "<= 0",
                                        "message": "3 rows have a customer_id missing from "
                                                   "sales_dw.dim_customer.customer_id"}}},
    ]


def test_routing_by_severity_sends_nothing_for_info_and_pages_a_failed_job(receiver: Receiver) -> None:
    env = {"ROCKWAY_SLACK_WEBHOOK_URL": receiver.url("/slack"), "ROCKWAY_PAGERDUTY_ROUTING_KEY": PD_KEY,
           "ROCKWAY_PAGERDUTY_EVENTS_URL": receiver.url("/pd")}
    info_only = _summary(checks=VerificationOutcome((
        CheckSummary("rows", "t", Severity.INFO, "fail", 0.0, ">= 1"),)))
    notifier = RockwayNotifier(_config(CRITICAL=["pagerduty", "slack"], WARNING=["slack"], INFO=[]), environ=env)
    notifier.notify(info_only)
    assert [r["path"] for r in receiver.requests] == ["/pd"]  # only PagerDuty's resolve of the pipeline incident
    assert receiver.requests[0]["json"]["event_action"] == "resolve"
    receiver.requests.clear()
    failed_job = _summary(status="failed", error="load_fact_sales: (1062) Duplicate entry",
                          jobs={"load_fact_sales": "failed"}, checks=VerificationOutcome(()))
    notifier.notify(failed_job)
    pd = [r["json"] for r in receiver.requests if r["path"] == "/pd"]
    assert [(e["event_action"], e["dedup_key"]) for e in pd] == [("trigger", "rockway:morning:pipeline")]
    assert pd[0]["payload"]["custom_details"]["error"] == "load_fact_sales: (1062) Duplicate entry"
    slack = [r["json"]["text"] for r in receiver.requests if r["path"] == "/slack"]
    assert len(slack) == 1 and slack[0].startswith("rockway morning: FAILED\n")
    assert "error: load_fact_sales: (1062) Duplicate entry" in slack[0]


def test_failing_channel_is_retried_with_backoff_and_never_raises(receiver: Receiver,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    receiver.statuses = [500, 503]  # two failures, then 202
    refused = f"http://127.0.0.1:{free_port()}/hooks/refused-s3cret"
    sleeps: list[float] = []
    env = {"ROCKWAY_SLACK_WEBHOOK_URL": receiver.url(SLACK_SECRET), "ROCKWAY_WEBHOOK_URL": refused}
    config = NotifyConfig.from_mapping({"routes": {"CRITICAL": ["slack", "webhook"], "WARNING": [], "INFO": []},
                                        "tries": 3, "backoff": 0.5, "timeout": 2})
    notifier = RockwayNotifier(config, environ=env, sleep=sleeps.append)
    with caplog.at_level(logging.DEBUG, logger="rockway"):
        notifier.notify(_summary())
    outcomes = {o.channel: o for o in notifier.outcomes}
    assert (outcomes["slack"].status, outcomes["slack"].attempts) == ("sent", 3)
    assert len(receiver.requests) == 3 and receiver.requests[0] == receiver.requests[2]
    assert (outcomes["webhook"].status, outcomes["webhook"].attempts) == ("failed", 3)
    assert "ConnectionRefusedError" in outcomes["webhook"].error and "after 3 tries" in outcomes["webhook"].error
    assert sleeps == [0.5, 1.0, 0.5, 1.0]  # bounded exponential backoff per channel
    assert notifier.failures == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "notification channel webhook (webhook) failed" in logged
    text = logged + repr(notifier.outcomes)
    assert "s3cret" not in text


def test_a_client_error_is_not_retried_and_a_silent_server_times_out(receiver: Receiver) -> None:
    receiver.statuses = [400]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    try:
        env = {"ROCKWAY_SLACK_WEBHOOK_URL": receiver.url("/slack"),
               "ROCKWAY_WEBHOOK_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/hook"}
        config = NotifyConfig.from_mapping({"routes": {"CRITICAL": ["slack", "webhook"]}, "tries": 2, "backoff": 0,
                                            "timeout": 0.5})
        notifier = RockwayNotifier(config, environ=env)
        start = time.monotonic()
        notifier.notify(_summary())
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    outcomes = {o.channel: o for o in notifier.outcomes}
    assert (outcomes["slack"].status, outcomes["slack"].attempts, outcomes["slack"].error) == ("failed", 1, "HTTP 400")
    assert (outcomes["webhook"].status, outcomes["webhook"].attempts) == ("failed", 2)
    assert 0.9 <= elapsed < 5, elapsed


def test_channels_without_secrets_are_skipped() -> None:
    notifier = RockwayNotifier(_config(), environ={})
    notifier.notify(_summary())
    assert {(o.channel, o.status) for o in notifier.outcomes} == {
        ("pagerduty", "skipped"), ("slack", "skipped"), ("webhook", "skipped")}
    assert notifier.failures == 0


# --- email -----------------------------------------------------------------------------------------------
def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd (dev dependency) runs the local SMTP server")
    pytest.importorskip("cryptography", reason="cryptography makes the test's self-signed certificate")
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    state: dict[str, Any] = {"messages": [], "cert": cert}

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
            state["messages"].append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "data": envelope.content,
                                      "tls": session.ssl is not None, "auth": session.authenticated})
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"rockway" and data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    state["port"] = port
    try:
        yield state
    finally:
        controller.stop()


def _smtp_env(server: dict[str, Any], password: str = SMTP_PASSWORD) -> dict[str, str]:
    return {"ROCKWAY_SMTP_HOST": "127.0.0.1", "ROCKWAY_SMTP_PORT": str(server["port"]), "ROCKWAY_SMTP_USER": "rockway",
            "ROCKWAY_SMTP_PASSWORD": password, "ROCKWAY_SMTP_FROM": "rockway@example.com",
            "ROCKWAY_SMTP_TO": "data-team@example.com, oncall@example.com",
            "ROCKWAY_SMTP_CA_FILE": str(server["cert"]),
            "ROCKWAY_TRACE_URL_TEMPLATE": "https://signoz.example/trace/{trace_id}"}


def test_email_is_sent_over_starttls_with_auth(smtp_server: dict[str, Any]) -> None:
    notifier = RockwayNotifier(_config(CRITICAL=["email"], WARNING=["email"]), environ=_smtp_env(smtp_server))
    notifier.notify(_summary())
    assert [(o.channel, o.status, o.attempts) for o in notifier.outcomes] == [("email", "sent", 1)]
    (message,) = smtp_server["messages"]
    assert message["tls"] and message["auth"]
    assert message["from"] == "rockway@example.com"
    assert message["to"] == ["data-team@example.com", "oncall@example.com"]
    parsed = message_from_bytes(message["data"], policy=default_policy)
    assert parsed["Subject"] == "[rockway] rockway morning: SUCCESS, 3 failed checks (worst CRITICAL)"
    assert parsed.get_content().replace("\r\n", "\n").strip() == EXPECTED_TEXT


def test_email_with_a_wrong_password_fails_once_without_leaking_it(smtp_server: dict[str, Any],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    sleeps: list[float] = []
    notifier = RockwayNotifier(_config(CRITICAL=["email"]), environ=_smtp_env(smtp_server, "wrong-pw-s3cret"),
                               sleep=sleeps.append)
    with caplog.at_level(logging.WARNING, logger="rockway"):
        notifier.notify(_summary())
    (outcome,) = notifier.outcomes
    assert (outcome.status, outcome.attempts, sleeps) == ("failed", 1, [])
    assert "authentication refused (535)" in outcome.error
    assert smtp_server["messages"] == []
    assert "s3cret" not in caplog.text + repr(outcome)


def test_email_refuses_an_untrusted_certificate(smtp_server: dict[str, Any]) -> None:
    env = _smtp_env(smtp_server)
    del env["ROCKWAY_SMTP_CA_FILE"]  # the system trust store does not know the test's certificate
    notifier = RockwayNotifier(_config(CRITICAL=["email"]), environ=env, sleep=lambda s: None)
    notifier.notify(_summary())
    (outcome,) = notifier.outcomes
    assert (outcome.status, outcome.attempts) == ("failed", 1)  # not worth retrying
    assert "certificate not trusted: self-signed certificate (CERTIFICATE_VERIFY_FAILED)" in outcome.error
    assert smtp_server["messages"] == []


# --- configuration -------------------------------------------------------------------------------------
def test_notify_configuration_refuses_secrets_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secrets come only from environment variables"):
        NotifyConfig.from_mapping({"channels": {"slack": {"url": "https://hooks.slack.com/services/x"}}})
    with pytest.raises(ConfigError, match="unknown channel"):
        NotifyConfig.from_mapping({"routes": {"CRITICAL": ["teams"]}})
    with pytest.raises(ConfigError, match="unknown severity"):
        NotifyConfig.from_mapping({"routes": {"FATAL": ["slack"]}})
    (tmp_path / "rockway.toml").write_text(
        '[rockway]\nenv = "dev"\n[verify]\nreports_dir = "audit"\n[verify.notify.routes]\nCRITICAL = ["ops"]\n'
        '[verify.notify.channels.ops]\ntype = "webhook"\nurl_env = "OPS_HOOK_URL"\n'
        '[env.prod.verify]\nfail_on = "WARNING"\n')
    dev = load_verify_settings(tmp_path, "dev")
    assert dev.reports_dir == "audit" and dev.fail_on is Severity.CRITICAL
    assert dev.notify.routes[Severity.CRITICAL] == ("ops",) and dev.notify.channels["ops"].options["url_env"] == "OPS_HOOK_URL"
    assert load_verify_settings(tmp_path, "prod").fail_on is Severity.WARNING


@pytest.mark.parametrize("value", ["fatal", 3])
def test_a_job_failure_severity_that_is_none_is_named_with_the_three_allowed(value: object) -> None:
    with pytest.raises(ConfigError, match=r"job_failure must be CRITICAL, WARNING or INFO, not"):
        NotifyConfig.from_mapping({"job_failure": value})


@pytest.mark.parametrize("text, expected", [("warning", Severity.WARNING), (" Critical ", Severity.CRITICAL),
                                            ("INFO", Severity.INFO), ("fatal", None), ("", None), (2, None)])
def test_severity_named_reads_a_name_in_any_case(text: object, expected: Severity | None) -> None:
    assert Severity.named(text) is expected
    if expected is not None:
        assert NotifyConfig.from_mapping({"job_failure": text}).job_failure is expected
