"""Installing the SigNoz assets through SigNoz's HTTP API.

`push` is idempotent: it lists what exists first (GET), matches by title (dashboard `spec.display.name`,
rule `alert`, downtime `name`) and updates those (PUT …/{id}); everything else is created (POST).
Authentication is the `SIGNOZ-API-KEY` header. Every request has a timeout. Dashboards need SigNoz
v0.135 or newer (older servers only have the v1 dashboard API, which v0.135 turned off).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from rockway.observability.redaction import redact_dsn
from rockway.errors import EXIT_UNREACHABLE, ConfigError, RockwayError
from rockway.observability.signoz.assets import Asset, title_of, validate_all

API_KEY_HEADER = "SIGNOZ-API-KEY"
DEFAULT_TIMEOUT_S = 10.0
PAGE = 200  # the v2 dashboard list returns at most 200 per request


class SigNozError(RockwayError):
    """SigNoz answered with an error (exit 1)."""


class SigNozUnreachable(RockwayError):
    """SigNoz cannot be reached, timed out, or refused the API key (exit 3)."""

    exit_code = EXIT_UNREACHABLE


# --- HTTP ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiRequest:
    """One request to SigNoz."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    title: str = ""  # the asset it is for


class SigNozClient:
    """SigNoz's HTTP API with an API key; every call has a timeout, answers are `{status, data}` envelopes."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:  # the URL may carry user:password@
            raise ConfigError(f"SIGNOZ_URL {redact_dsn(base_url)!r} must be an http(s) URL such as http://signoz:8080")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout

    def call(self, request: ApiRequest) -> Any:
        """Send request; return the envelope's data (None for 204)."""
        data = None if request.body is None else json.dumps(request.body).encode("utf-8")
        http = urllib.request.Request(self.base_url + request.path, data=data, method=request.method)
        http.add_header(API_KEY_HEADER, self._api_key)
        http.add_header("Accept", "application/json")
        if data is not None:
            http.add_header("Content-Type", "application/json")
        what = f"{request.method} {request.path}"
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as response:  # noqa: S310 - URL checked above
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc.read())
            if exc.code in (401, 403):
                raise SigNozUnreachable(f"SigNoz refused the API key ({exc.code}) for {what}: {detail}",
                                        hint="Check SIGNOZ_API_KEY (Settings -> API Keys; needs the Editor role).") from None
            raise SigNozError(f"SigNoz rejected {what} ({exc.code}): {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SigNozUnreachable(f"cannot reach SigNoz at {self.base_url} ({what}): {reason}",
                                    hint="Check SIGNOZ_URL and that SigNoz is running.") from None
        if not raw:
            return None
        try:
            envelope = json.loads(raw)
        except json.JSONDecodeError:
            raise SigNozError(f"SigNoz answered {what} with something that is not JSON") from None
        return envelope.get("data") if isinstance(envelope, dict) and "status" in envelope else envelope

    # listings: title -> {"id": …, "name": …} (name: a dashboard's immutable DNS-label name)
    def dashboards(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        offset = 0
        while True:
            data = self.call(ApiRequest("GET", f"/api/v2/dashboards?limit={PAGE}&offset={offset}")) or {}
            page = data.get("dashboards") or []
            for item in page:
                found.setdefault(title_of("dashboard", item), {"id": str(item.get("id")), "name": str(item.get("name"))})
            offset += len(page)
            if not page or offset >= int(data.get("total") or 0):
                return found

    def rules(self) -> dict[str, dict[str, str]]:
        return {str(r.get("alert")): {"id": str(r.get("id"))} for r in self.call(ApiRequest("GET", "/api/v2/rules")) or []}

    def downtimes(self) -> dict[str, dict[str, str]]:
        return {str(d.get("name")): {"id": str(d.get("id"))}
                for d in self.call(ApiRequest("GET", "/api/v1/downtime_schedules")) or []}


def _error_detail(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:300].decode("utf-8", "replace").strip() or "no detail"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        extra = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in error.get("errors") or [])
        return str(error.get("message") or error) + (f" ({extra})" if extra else "")
    return str(error or body)[:300]


# --- push ------------------------------------------------------------------------------------
_COLLECTION = {"dashboard": "/api/v2/dashboards", "alert": "/api/v2/rules", "downtime": "/api/v1/downtime_schedules"}


def with_channels(body: Mapping[str, Any], channels: Sequence[str]) -> dict[str, Any]:
    """A copy of an alert body whose thresholds notify channels (SigNoz notification channel names)."""
    copy = json.loads(json.dumps(body))
    for threshold in ((copy.get("condition") or {}).get("thresholds") or {}).get("spec") or []:
        threshold["channels"] = list(channels)
    return copy


def _update_body(kind: str, body: Mapping[str, Any], current: Mapping[str, str]) -> dict[str, Any]:
    if kind == "dashboard":  # PUT takes no generateName, and a dashboard's name (a DNS label) cannot change
        return {**{k: v for k, v in body.items() if k != "generateName"}, "name": current.get("name") or body.get("name")}
    return dict(body)


Existing = Mapping[str, Mapping[str, Mapping[str, str]]]  # kind -> title -> {"id": …, "name": …}


def plan(assets: Sequence[Asset], existing: Existing | None, channels: Sequence[str] = ()) -> list[ApiRequest]:
    """The write requests that make SigNoz match assets (existing None: unknown, so create all)."""
    requests = []
    for asset in assets:
        body = with_channels(asset.body, channels) if asset.kind == "alert" and channels else asset.body
        current = (existing or {}).get(asset.kind, {}).get(asset.title)
        if current:
            requests.append(ApiRequest("PUT", f"{_COLLECTION[asset.kind]}/{urllib.parse.quote(current['id'], safe='')}",
                                       _update_body(asset.kind, body, current), asset.title))
        else:
            requests.append(ApiRequest("POST", _COLLECTION[asset.kind], body, asset.title))
    return requests


@dataclass
class PushResult:
    """What push did (or, in a dry run, would do)."""

    requests: list[ApiRequest]
    checked: bool  # False when SigNoz was not asked what exists (dry run without URL/key)

    @property
    def created(self) -> list[str]:
        return [r.title for r in self.requests if r.method == "POST"]

    @property
    def updated(self) -> list[str]:
        return [r.title for r in self.requests if r.method == "PUT"]


def push(assets: Sequence[Asset], client: SigNozClient | None, *, dry_run: bool = False,
         channels: Sequence[str] = (), on_request: Callable[[ApiRequest], None] | None = None) -> PushResult:
    """Check assets, list what SigNoz has, then create or update each; in a dry run only the GETs are sent."""
    validate_all(assets)
    existing = None
    if client is not None:
        kinds = {a.kind for a in assets}
        existing = {
            "dashboard": client.dashboards() if "dashboard" in kinds else {},
            "alert": client.rules() if "alert" in kinds else {},
            "downtime": client.downtimes() if "downtime" in kinds else {},
        }
    requests = plan(assets, existing, channels)
    for request in requests:
        if on_request is not None:
            on_request(request)
        if not dry_run:
            assert client is not None
            client.call(request)
    return PushResult(requests, checked=client is not None)
