"""Secrets in bad settings never shown: no DSN error shows any part of its password (generated passwords, each
place a DSN comes from), redact_dsn masks it whole, and bad SigNoz and webhook URLs hide their credentials (the
same through the CLI against a database: tests/mariadb/test_bad_inputs_secrets.py).
"""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given, strategies as st

from rockway.config import load_settings, parse_dsn
from rockway.errors import ConfigError
from rockway.observability.redaction import redact_dsn

PASSWORD = "Zs3cretQX"  # distinctive: appears in no message of its own accord


# --- the invariant, over generated passwords -------------------------------------------------------------
_PIECE = st.text("QXZJK0123456789", min_size=5, max_size=8)
_SPECIAL = st.sampled_from([":", "@", "#", "/", "?", "[", "]", "#@", "/@", ":/", "?#"])


@st.composite
def _passwords(draw) -> str:  # type: ignore[no-untyped-def]
    pieces = draw(st.lists(_PIECE, min_size=1, max_size=4))
    seps = draw(st.lists(_SPECIAL, min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    out = draw(st.sampled_from(["Zq", "1"])) + pieces[0]  # "1…": the URL parser takes it for a port
    for sep, piece in zip(seps, pieces[1:]):
        out += sep + piece
    return out


_TEMPLATES = [
    "mysql://etl:{pw}@db.internal:3306/warehouse",
    "starrocks://etl:{pw}@fe.internal:9030/warehouse?http_port=8030",
    "mariadb://etl:{pw}@[::1:3306/warehouse",
    # the password typed where the port goes: there a password with `@` reads as a host, so none is drawn
    "mysql://etl:{pw}@db.internal:{pw}/warehouse",
    "mysql://etl:{pw}/warehouse",
]


def _dsn(template: str, password: str) -> tuple[str, str]:
    """(DSN, the password in it); where the password takes the port's place it has no `@` and is no number."""
    if template.count("{pw}") > 1 or "{pw}@" not in template:
        password = "Zq" + password.replace("@", "#")
    return template.replace("{pw}", password), password


@given(password=_passwords(), template=st.sampled_from(_TEMPLATES),
       origin=st.sampled_from(["ROCKWAY_DSN", "--dsn", "rockway.toml"]))
def test_no_dsn_error_shows_any_part_of_the_password(tmp_path_factory, password: str, template: str,
                                                     origin: str) -> None:
    dsn, password = _dsn(template, password)
    root = tmp_path_factory.mktemp("dsn")
    environ: dict[str, str] = {}
    overrides: dict[str, str] = {}
    if origin == "ROCKWAY_DSN":
        environ["ROCKWAY_DSN"] = dsn
    elif origin == "--dsn":
        overrides["dsn"] = dsn
    else:
        (root / "rockway.toml").write_text(f"[rockway]\ndsn = {dsn!r}\n".replace("'", '"'), encoding="utf-8")
    try:
        settings = load_settings(root, environ=environ, overrides=overrides)
    except ConfigError as exc:
        shown = f"{exc.message}\n{exc.hint or ''}"
        assert exc.exit_code == 2
        assert shown.startswith(origin if origin != "rockway.toml" else str(root / "rockway.toml")), shown
        pieces = [p for p in re.split(r"[:@#/?\[\]]", password) if len(p) >= 5]
        for piece in pieces:
            assert piece not in shown, (dsn, shown)
        return
    # it parsed: then the password came out whole, and the settings never show it
    parsed = parse_dsn(settings.dsn or "")
    assert password in (parsed.password, parsed.user)
    assert password not in repr(settings.describe()) and password not in str(parsed)


@given(password=_passwords())
def test_redact_dsn_masks_the_whole_password(password: str) -> None:
    for template in _TEMPLATES:
        dsn, secret = _dsn(template, password)
        shown = redact_dsn(dsn)
        assert not any(p in shown for p in re.split(r"[:@#/?\[\]]", secret) if len(p) >= 5), shown


# --- other URLs that may carry credentials ------------------------------------------------------------------
def test_bad_signoz_url_never_shows_its_password() -> None:
    from rockway.observability.signoz.push import SigNozClient

    with pytest.raises(ConfigError) as caught:
        SigNozClient(f"ftp://admin:{PASSWORD}@signoz:8080", "api-key")
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("SIGNOZ_URL 'ftp://admin:***@signoz:8080'")
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("url", [f"hooks.example.com/services/T0/{PASSWORD}", f"https://hook:{PASSWORD}@127.0.0.1:1/x"])
def test_bad_webhook_url_never_shows_its_token(url: str, caplog: pytest.LogCaptureFixture) -> None:
    from rockway.interfaces import CheckSummary, RunSummary, Severity, VerificationOutcome
    from rockway.verify.notify import NotifyConfig, RockwayNotifier

    checks = VerificationOutcome((CheckSummary("rows", "dw.t", Severity.CRITICAL, "fail", 0.0, ">= 1"),))
    summary = RunSummary(pipeline="p", status="success", run_id="r", trace_id=None, rows={}, jobs={}, checks=checks)
    config = NotifyConfig.from_mapping({"routes": {"CRITICAL": ["webhook"]}, "tries": 1, "backoff": 0, "timeout": 1})
    notifier = RockwayNotifier(config, environ={"ROCKWAY_WEBHOOK_URL": url})
    with caplog.at_level(logging.DEBUG, logger="rockway"):
        notifier.notify(summary)  # never raises
    assert [o.status for o in notifier.outcomes] == ["failed"]
    assert PASSWORD not in repr(notifier.outcomes) + "\n".join(r.getMessage() for r in caplog.records)
