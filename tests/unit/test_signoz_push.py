"""`rockway signoz push` against a local HTTP server standing in for SigNoz: exact requests, idempotency, errors."""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.otlp_receiver import SilentServer, refused_port
from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT as ROOT
from rockway.observability.signoz import assets, push

ASSETS = ROOT / "observability" / "signoz"
KEY = "test-api-key-7f3a"


def _stems(folder: str) -> list[str]:
    """The asset files of one kind, in the name order push sends them."""
    return sorted(p.stem for p in (ASSETS / folder).glob("*.json"))


DASHBOARDS, ALERTS, DOWNTIME = _stems("dashboards"), _stems("alerts"), _stems("downtime")
TOTAL = len(DASHBOARDS) + len(ALERTS) + len(DOWNTIME)


class FakeSigNoz:
    """Just enough of SigNoz's API: v2 dashboards, v2 rules, v1 downtime schedules, SIGNOZ-API-KEY auth."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.requests: list[dict[str, Any]] = []
        self.store: dict[str, dict[str, dict[str, Any]]] = {"dashboards": {}, "rules": {}, "downtime": {}}
        self.reject: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append({"method": self.command, "path": self.path, "body": body,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                status, payload = fake.answer(self.command, self.path, self.headers.get("SIGNOZ-API-KEY"), body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815 (http.server API)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
        return status, {"status": "error", "error": {"code": "invalid_input", "message": message}}

    def answer(self, method: str, path: str, key: str | None, body: Any) -> tuple[int, Any]:
        if key != self.key:
            return self._error(401, "invalid api key")
        url = urlsplit(path)
        for (m, prefix), reply in self.reject.items():
            if m == method and url.path.startswith(prefix):
                return reply
        parts = url.path.strip("/").split("/")
        kind = {"dashboards": "dashboards", "rules": "rules", "downtime_schedules": "downtime"}.get(parts[2], "")
        items = self.store.get(kind)
        if items is None:
            return self._error(404, "no such route")
        if method == "GET" and len(parts) == 3:
            if kind == "dashboards":
                query = parse_qs(url.query)
                limit, offset = int(query["limit"][0]), int(query["offset"][0])
                listed = [{"id": i, "name": d["name"], "spec": {"display": d["spec"]["display"]}, "legacy": False}
                          for i, d in sorted(items.items())]
                return 200, {"status": "success", "data": {"dashboards": listed[offset:offset + limit],
                                                           "total": len(listed)}}
            return 200, {"status": "success", "data": [{"id": i, **d} for i, d in sorted(items.items())]}
        if method == "POST" and len(parts) == 3:
            new_id = str(uuid.uuid4())
            items[new_id] = body
            return 201, {"status": "success", "data": {"id": new_id, **body}}
        if method == "PUT" and len(parts) == 4:
            current = items.get(parts[3])
            if current is None:
                return self._error(404, "not found")
            if kind == "dashboards" and body.get("name") != current.get("name"):
                return self._error(400, f"name is immutable; cannot change from {current['name']!r}")
            if kind == "dashboards" and "generateName" in body:
                return self._error(400, 'json: unknown field "generateName"')
            items[parts[3]] = body
            return (200, {"status": "success", "data": {"id": parts[3], **body}}) if kind == "dashboards" else (204, None)
        return self._error(405, "method not allowed")

    def titles(self, kind: str) -> list[str]:
        asset_kind = {"dashboards": "dashboard", "rules": "alert", "downtime": "downtime"}[kind]
        return sorted(assets.title_of(asset_kind, d) for d in self.store[kind].values())


@pytest.fixture
def fake():
    server = FakeSigNoz()
    yield server
    server.close()


def _file(kind: str, stem: str) -> dict[str, Any]:
    return json.loads((ASSETS / kind / f"{stem}.json").read_text(encoding="utf-8"))


def _push(tmp_path: Path, *args: str, url: str = "", key: str = KEY, env: dict[str, str] | None = None):
    environment = {"SIGNOZ_URL": url, "SIGNOZ_API_KEY": key, "SIGNOZ_ALERT_CHANNELS": "", **(env or {})}
    return run_cli(tmp_path, "signoz", "push", "--dir", str(ASSETS), *args, env=environment, timeout=60)


def _seed(fake: FakeSigNoz) -> None:
    migrations = _file("dashboards", "migrations")
    fake.store["dashboards"]["d-old"] = {**migrations, "name": "rockway-migrations-x1y2z3", "spec": {
        **migrations["spec"], "panels": {}, "layouts": []}}
    fake.store["dashboards"]["d-other"] = {"name": "other", "spec": {"display": {"name": "Other team"}}}
    fake.store["rules"]["r-old"] = {**_file("alerts", "job-failed"), "description": "old text"}
    fake.store["rules"]["r-other"] = {"alert": "Other alert"}


LISTS = [("GET", "/api/v2/dashboards?limit=200&offset=0"), ("GET", "/api/v2/rules"),
         ("GET", "/api/v1/downtime_schedules")]


def test_push_creates_missing_items_and_updates_existing_ones_by_title(tmp_path, fake):
    _seed(fake)
    r = _push(tmp_path, url=fake.url)
    assert r.code == 0, r.err
    sent = [(q["method"], q["path"]) for q in fake.requests]
    writes = sent[len(LISTS):]
    assert sent[:len(LISTS)] == LISTS
    # the seeded items (dashboard "migrations", rule "job-failed") are updated in place, everything else is created;
    # dashboards, then alerts, then downtime, each kind in file-name order
    assert "migrations" in DASHBOARDS and "job-failed" in ALERTS and DOWNTIME == ["morning-pipeline-sla-quiet-hours"]
    assert writes == (
        [("PUT", "/api/v2/dashboards/d-old") if s == "migrations" else ("POST", "/api/v2/dashboards")
         for s in DASHBOARDS]
        + [("PUT", "/api/v2/rules/r-old") if s == "job-failed" else ("POST", "/api/v2/rules") for s in ALERTS]
        + [("POST", "/api/v1/downtime_schedules") for _ in DOWNTIME])
    assert [m for m, _ in writes].count("PUT") == 2 and len(writes) == TOTAL
    bodies = [q["body"] for q in fake.requests[len(LISTS):]]
    assert bodies == (
        [{**_file("dashboards", s), "name": "rockway-migrations-x1y2z3"} if s == "migrations"  # name is immutable
         else _file("dashboards", s) for s in DASHBOARDS]
        + [_file("alerts", s) for s in ALERTS]
        + [_file("downtime", s) for s in DOWNTIME])
    for request in fake.requests:
        assert request["headers"]["signoz-api-key"] == KEY  # header names are case-insensitive (RFC 9110)
        if request["method"] != "GET":
            assert request["headers"]["content-type"] == "application/json"
    assert f"created {TOTAL - 2}, updated 2" in r.out
    assert KEY not in r.out + r.err
    # items of other teams are untouched
    assert fake.store["dashboards"]["d-other"]["spec"]["display"]["name"] == "Other team"
    assert fake.store["rules"]["r-other"] == {"alert": "Other alert"}


def test_second_push_only_updates(tmp_path, fake):
    assert _push(tmp_path, url=fake.url).code == 0
    first = {kind: fake.titles(kind) for kind in fake.store}
    fake.requests.clear()
    r = _push(tmp_path, url=fake.url)
    assert r.code == 0, r.err
    methods = [q["method"] for q in fake.requests]
    assert methods == ["GET"] * 3 + ["PUT"] * TOTAL
    assert {kind: fake.titles(kind) for kind in fake.store} == first  # no duplicates
    assert first == {"dashboards": sorted(assets.title_of("dashboard", _file("dashboards", s)) for s in DASHBOARDS),
                     "rules": sorted(assets.title_of("alert", _file("alerts", s)) for s in ALERTS),
                     "downtime": sorted(assets.title_of("downtime", _file("downtime", s)) for s in DOWNTIME)}
    assert f"created 0, updated {TOTAL}" in r.out


def test_dashboard_listing_follows_pages(fake, monkeypatch):
    for i in range(5):
        fake.store["dashboards"][f"d{i}"] = {"name": f"n{i}", "spec": {"display": {"name": f"Dash {i}"}}}
    monkeypatch.setattr(push, "PAGE", 2)
    found = push.SigNozClient(fake.url, KEY, timeout=5).dashboards()
    assert found == {f"Dash {i}": {"id": f"d{i}", "name": f"n{i}"} for i in range(5)}
    assert [q["path"] for q in fake.requests] == [f"/api/v2/dashboards?limit=2&offset={o}" for o in (0, 2, 4)]


def test_dry_run_sends_only_the_listing_requests_and_prints_the_writes(tmp_path, fake):
    _seed(fake)
    r = _push(tmp_path, "--dry-run", url=fake.url)
    assert r.code == 0, r.err
    assert [(q["method"], q["path"]) for q in fake.requests] == LISTS
    assert f"PUT {fake.url}/api/v2/rules/r-old\nSIGNOZ-API-KEY: ***\n" in r.out
    assert f"POST {fake.url}/api/v1/downtime_schedules" in r.out
    assert '"alert": "rockway: morning pipeline not finished by 07:00"' in r.out
    assert f"{TOTAL - 2} to create, 2 to update; nothing sent" in r.err
    assert KEY not in r.out + r.err
    assert fake.store["rules"]["r-old"]["description"] == "old text"

    fake.requests.clear()
    r = _push(tmp_path, "--dry-run", "--json", url=fake.url)
    listed = json.loads(r.out)
    assert listed["dry_run"] is True and listed["checked_existing"] is True
    assert [(q["method"], q["url"].removeprefix(fake.url)) for q in listed["requests"]][:2] == [
        ("POST", "/api/v2/dashboards"), ("PUT", "/api/v2/dashboards/d-old")]
    assert [q["method"] for q in fake.requests] == ["GET"] * 3


def test_dry_run_without_signoz_settings_prints_creates_and_contacts_nobody(tmp_path, fake):
    r = _push(tmp_path, "--dry-run", url="", key="")
    assert r.code == 0, r.err
    assert r.out.count("POST $SIGNOZ_URL/api/v2/dashboards") == len(DASHBOARDS)
    assert r.out.count("POST $SIGNOZ_URL/api/v2/rules") == len(ALERTS)
    assert r.out.count("POST $SIGNOZ_URL/api/v1/downtime_schedules") == len(DOWNTIME)
    assert f"dry run: {TOTAL} to create, 0 to update; nothing sent" in r.err
    assert "existing items were not looked up" in r.err
    assert fake.requests == []


def test_channels_option_replaces_every_alert_channel(tmp_path, fake):
    r = _push(tmp_path, "--only", "alert", "--channel", "data-oncall", "--channel", "pagerduty-data", url=fake.url)
    assert r.code == 0, r.err
    posted = [q["body"] for q in fake.requests if q["method"] == "POST"]
    assert len(posted) == len(ALERTS)
    assert all(q["path"] == "/api/v2/rules" for q in fake.requests if q["method"] == "POST")
    for body in posted:
        for threshold in body["condition"]["thresholds"]["spec"]:
            assert threshold["channels"] == ["data-oncall", "pagerduty-data"]
    assert _file("alerts", "job-failed")["condition"]["thresholds"]["spec"][0]["channels"] == ["rockway-data"]
    assert [q["path"] for q in fake.requests if q["method"] == "GET"] == ["/api/v2/rules"]


def test_wrong_api_key_exits_3_without_printing_the_key(tmp_path, fake):
    r = _push(tmp_path, url=fake.url, key="not-the-key-123")
    assert r.code == 3, r.err
    assert "refused the API key (401)" in r.err and "not-the-key-123" not in r.out + r.err
    assert len(fake.requests) == 1


def test_rejected_body_exits_1_with_signoz_message(tmp_path, fake):
    fake.reject[("POST", "/api/v2/rules")] = FakeSigNoz._error(400, "alert rule is not valid: version: only v5")
    r = _push(tmp_path, url=fake.url)
    assert r.code == 1, r.err
    assert "SigNoz rejected POST /api/v2/rules (400): alert rule is not valid: version: only v5" in r.err
    assert [q["method"] for q in fake.requests].count("POST") == len(DASHBOARDS) + 1  # the dashboards, then the failing rule


def test_unreachable_signoz_exits_3(tmp_path):
    r = _push(tmp_path, url=f"http://127.0.0.1:{refused_port()}")
    assert r.code == 3 and "cannot reach SigNoz" in r.err, r.err


def test_hung_signoz_times_out(tmp_path):
    with SilentServer() as silent:
        started = time.monotonic()
        r = _push(tmp_path, "--timeout", "1", url=f"http://127.0.0.1:{silent.port}")
        elapsed = time.monotonic() - started
    assert r.code == 3 and "cannot reach SigNoz" in r.err, r.err
    assert elapsed < 10, f"push took {elapsed:.1f}s against a hung server"


def test_missing_settings_exit_2(tmp_path):
    r = _push(tmp_path, url="", key="")
    assert r.code == 2 and "set SIGNOZ_URL and SIGNOZ_API_KEY" in r.err, r.err


def test_invalid_asset_is_refused_before_any_request(tmp_path, fake):
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS, copy)
    broken = copy / "alerts" / "freshness.json"
    body = json.loads(broken.read_text())
    body["condition"]["compositeQuery"]["queries"][0]["spec"]["aggregations"][0]["metricName"] = "rockway.freshness"
    broken.write_text(json.dumps(body))
    r = run_cli(tmp_path, "signoz", "push", "--dir", str(copy), env={"SIGNOZ_URL": fake.url, "SIGNOZ_API_KEY": KEY})
    assert r.code == 2, r.err
    assert "freshness.json" in r.err and "metric 'rockway.freshness' is not emitted" in r.err
    assert fake.requests == []
    r = run_cli(tmp_path, "signoz", "check", "--dir", str(copy))
    assert r.code == 2 and "BAD alert" in r.out and r.out.count("ok ") == TOTAL - 1
