"""StarRocks Stream Load over HTTP, and the StarRocks staging/swap statements.

The protocol, as the FE implements it (fe/…/http/rest/LoadAction.java, RestBaseAction.redirectTo):
- `PUT http://<fe>:<http_port>/api/<db>/<table>/_stream_load` with basic auth and `Expect: 100-continue`
  (the FE refuses an HTTP/1.1 load without it: "There is no 100-continue header");
- the FE answers at once, before any body, with `307 Temporary Redirect` to a BE
  (`Location: http://<be>:8040/api/<db>/<table>/_stream_load`) and closes the connection;
- the client repeats the request at the BE with the same headers, credentials and label (curl's
  `--location-trusted`), waits for `100 Continue`, sends the body, and gets the JSON result.
The client here sends the headers, waits up to `expect_wait` seconds for an interim answer (100 →
send the body; a redirect or an error → follow or report it without sending the body; silence → send
the body anyway, as RFC 9110 allows), so no body is sent twice. stdlib only (http.client, sockets).

Outcomes (StarRocks' STREAM_LOAD.md "Return result"; the recorded bodies are in tests/unit/test_refdata.py):
- `Success` → loaded; `NumberFilteredRows` must be 0 (strict_mode=true, max_filter_ratio=0) and the caller
  checks `NumberLoadedRows` against the CSV's rows, then COUNT(*)s the staging table (key models merge rows);
- `Publish Timeout` → committed, visible a little later: loaded, do not retry;
- `Label Already Exists` + `ExistingJobStatus: FINISHED` → an earlier attempt with this label loaded it;
  `RUNNING` → wait and ask again with the same label;
- `Fail` (or anything else) → DatabaseError with Message and ErrorURL.
A connection that breaks before an answer is retried with the same label: the label makes the retry
idempotent (a load that did commit answers "Label Already Exists").
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from rockway.errors import DatabaseError
from rockway.adapters.base import Adapter, ProgressCallback, ignore_progress, quote_ident
from rockway.adapters.bulk import BulkColumn, BulkFile, BulkTarget, LoadOutcome

DEFAULT_HTTP_PORT = 8030
_BLOCK = 1 << 20


@dataclass(frozen=True)
class StreamLoadResponse:
    """The final HTTP answer of one Stream Load exchange."""

    http_status: int
    body: Mapping[str, Any]
    text: str
    url: str  # the URL that answered (the BE after a redirect)
    redirects: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        value = self.body.get("Status")
        if value is None and "status" in self.body:  # FE-level errors: {"status": "FAILED", "msg": "…"}
            value = self.body.get("status")
        return str(value) if value is not None else ""

    @property
    def message(self) -> str:
        for key in ("Message", "msg", "message"):
            if self.body.get(key):
                return str(self.body[key])
        return self.text[:500]

    def number(self, key: str) -> int:
        try:
            return int(self.body.get(key, 0) or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def error_url(self) -> str:
        return str(self.body.get("ErrorURL") or "")


@dataclass
class _Interim:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class StreamLoadError(DatabaseError):
    """Stream Load did not load the data."""


class StreamLoadClient:
    """One Stream Load endpoint (an FE, or a BE directly) with credentials."""

    def __init__(self, host: str, port: int, user: str, password: str = "", *, timeout: float = 600.0,
                 connect_timeout: float = 10.0, expect_wait: float = 1.0, max_redirects: int = 3,
                 rewrite_redirect: Callable[[str], str] | None = None) -> None:
        self.rewrite_redirect = rewrite_redirect  # e.g. map a BE's internal address to a forwarded port
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.expect_wait = expect_wait
        self.max_redirects = max_redirects

    def url(self, database: str, table: str) -> str:
        return f"http://{self.host}:{self.port}/api/{database}/{table}/_stream_load"

    def headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        token = base64.b64encode(f"{self.user}:{self.password}".encode("utf-8")).decode("ascii")
        return {"Authorization": f"Basic {token}", "Expect": "100-continue", **extra}

    def put(self, database: str, table: str, body: Path | bytes, headers: Mapping[str, str]) -> StreamLoadResponse:
        """PUT body with headers, following redirects with the same headers and credentials."""
        url = self.url(database, table)
        sent = self.headers(headers)
        hops: list[str] = []
        for _ in range(self.max_redirects + 1):
            status, resp_headers, data = self._exchange(url, sent, body)
            location = resp_headers.get("location")
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                if self.rewrite_redirect is not None:
                    url = self.rewrite_redirect(url)
                hops.append(url)
                continue
            text = data.decode("utf-8", "replace")
            try:
                parsed = json.loads(text) if text.strip() else {}
            except ValueError:
                parsed = {}
            if not isinstance(parsed, dict):
                parsed = {}
            return StreamLoadResponse(status, parsed, text, url, tuple(hops))
        raise StreamLoadError(f"Stream Load: more than {self.max_redirects} redirects (last: {url})")

    # --- one HTTP exchange ---------------------------------------------------------------------
    def _exchange(self, url: str, headers: Mapping[str, str], body: Path | bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        size = body.stat().st_size if isinstance(body, Path) else len(body)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=self.connect_timeout)
        try:
            conn.putrequest("PUT", parts.path + (f"?{parts.query}" if parts.query else ""), skip_accept_encoding=True)
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            sock = conn.sock
            assert sock is not None
            interim = self._await_interim(sock)
            if interim is not None and interim.status != 100:
                return interim.status, interim.headers, interim.body
            sock.settimeout(self.timeout)
            self._send_body(sock, body)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def _await_interim(self, sock: socket.socket) -> _Interim | None:
        """Wait up to expect_wait for an answer before the body: 100 Continue, a redirect, or an error."""
        sock.settimeout(self.expect_wait)
        buf = b""
        while b"\r\n\r\n" not in buf:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                if not buf:
                    return None  # the server waits for the body without saying so: send it
                sock.settimeout(self.timeout)
                continue
            if not chunk:
                raise ConnectionError("the server closed the connection before answering")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            raise ConnectionError(f"malformed HTTP status line {lines[0]!r}") from None
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        if status == 100:
            return _Interim(100)
        length = int(headers.get("content-length", "0") or 0)
        sock.settimeout(self.timeout)
        while len(rest) < length:
            chunk = sock.recv(max(4096, length - len(rest)))
            if not chunk:
                break
            rest += chunk
        return _Interim(status, headers, rest[:length] if length else rest)

    @staticmethod
    def _send_body(sock: socket.socket, body: Path | bytes) -> None:
        if isinstance(body, bytes):
            sock.sendall(body)
            return
        with open(body, "rb") as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                sock.sendall(block)


def stream_load(client: StreamLoadClient, database: str, table: str, body: Path | bytes, *, label: str,
                columns: Sequence[str], timeout: float = 600.0, poll_interval: float = 2.0, retries: int = 2,
                sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                on_progress: ProgressCallback = ignore_progress) -> LoadOutcome:
    """Load a rockway bulk file (TAB-separated, `\\N` = NULL) with one label; raise StreamLoadError unless loaded."""
    headers = {
        "label": label,
        "format": "csv",
        "column_separator": "\\x09",
        "columns": ",".join(columns),
        "strict_mode": "true",
        "max_filter_ratio": "0",
        "timeout": str(max(1, min(int(timeout), 259200))),
    }
    where = f"{database}.{table}"
    deadline = clock() + timeout
    attempts = 0
    while True:
        try:
            resp = client.put(database, table, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            attempts += 1
            if attempts > retries:
                raise StreamLoadError(f"Stream Load into {where} (label {label}): connection failed: {exc}",
                                      hint="Check the FE HTTP port (DSN option ?http_port=, default 8030) and that"
                                           " the BE addresses the FE redirects to are reachable from here.") from exc
            on_progress(f"Stream Load into {where}: {exc}; retrying with the same label {label}")
            sleep(poll_interval)
            continue
        status = resp.status
        if resp.http_status == 401:
            raise StreamLoadError(f"Stream Load into {where}: HTTP 401 from {resp.url}: {resp.message}",
                                  hint="The database user and password are sent as HTTP basic auth; check them.")
        if status in ("Success", "Publish Timeout"):
            filtered = resp.number("NumberFilteredRows")
            if filtered:
                raise StreamLoadError(
                    f"Stream Load into {where} (label {label}) filtered {filtered} row(s): {resp.message}"
                    + (f"; rejected rows: {resp.error_url}" if resp.error_url else ""),
                    hint="Open the ErrorURL to see the rejected rows; the table's types do not take the CSV's values.")
            visible = status == "Success"
            if not visible:
                on_progress(f"Stream Load into {where}: Publish Timeout (committed, visible shortly): {resp.message}")
            # NumberLoadedRows is what this load accepted (the caller checks it equals the CSV's rows). It is not
            # `exact` about the table: Primary Key / Unique / Aggregate tables merge rows with equal keys (the
            # table's key may be stricter than the manifest's), so the caller still counts the staging table.
            return LoadOutcome(rows=resp.number("NumberLoadedRows"), method="Stream Load", label=label, visible=visible,
                               detail=resp.text, exact=False)
        if status == "Label Already Exists":
            existing = str(resp.body.get("ExistingJobStatus") or "")
            if existing == "FINISHED":
                on_progress(f"Stream Load into {where}: label {label} already loaded (FINISHED)")
                return LoadOutcome(rows=-1, method="Stream Load", label=label, visible=False, already_loaded=True,
                                   detail=resp.text)
            if existing == "RUNNING" and clock() < deadline:
                on_progress(f"Stream Load into {where}: label {label} is still running; asking again in {poll_interval:g}s")
                sleep(poll_interval)
                continue
            raise StreamLoadError(f"Stream Load into {where}: label {label} already exists"
                                  f" (job status {existing or 'not reported'}): {resp.message}",
                                  hint=f"Look it up: SELECT STATE, ERROR_MSG FROM information_schema.loads WHERE"
                                       f" LABEL = '{label}'; then run the load again.")
        detail = f"; ErrorURL: {resp.error_url}" if resp.error_url else ""
        raise StreamLoadError(
            f"Stream Load into {where} (label {label}) failed: {status or f'HTTP {resp.http_status}'}: {resp.message}{detail}",
            hint="Nothing was loaded into the target table (the load went to a staging table, which is dropped).")


class StarRocksBulk(BulkTarget):
    """Staging + Stream Load + `ALTER TABLE target SWAP WITH staging` + `DROP TABLE staging FORCE`."""

    method = "Stream Load"
    bulk_format = "escaped"  # `\\N` = NULL, 1/0; no `escape` header, so a backslash is read as itself

    def __init__(self, adapter: Adapter, *, timeout: float = 600.0, poll_interval: float = 2.0,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None,
                 client: StreamLoadClient | None = None) -> None:
        super().__init__(adapter, timeout=timeout, poll_interval=poll_interval, sleep=sleep, clock=clock)
        if client is None:
            dsn: Any = getattr(adapter, "dsn")
            client = StreamLoadClient(dsn.host, dsn.http_port or DEFAULT_HTTP_PORT, dsn.user, dsn.password or "",
                                      timeout=timeout + 60)
        self.client = client

    def load_file(self, database: str | None, table: str, columns: Sequence[BulkColumn], file: BulkFile, *, label: str,
                  on_progress: ProgressCallback = ignore_progress) -> LoadOutcome:
        db = database or self.adapter.database
        if not db:
            raise DatabaseError("Stream Load needs a database: put it in the DSN or the manifest")
        if file.format != "escaped" or file.header_lines:
            raise ValueError(f"Stream Load sends escaped bulk files, not {file.format!r}")
        return stream_load(self.client, db, table, file.path, label=label, columns=[c.name for c in columns],
                           timeout=self.timeout,
                           poll_interval=self.poll_interval, sleep=self.sleep, clock=self.clock, on_progress=on_progress)

    def swap(self, database: str | None, target: str, staging: str, on_progress: ProgressCallback = ignore_progress) -> None:
        q = self.adapter.qualified
        db = database or self.adapter.database
        before = self._inactive_mvs(db)
        self.run(f"ALTER TABLE {q(target, database)} SWAP WITH {quote_ident(staging)}")
        try:
            self.drop(database, staging)  # it now holds the old rows
        except DatabaseError as exc:
            on_progress(f"could not drop {q(staging, database)} after the swap: {exc.message}")
        after = self._inactive_mvs(db)
        if before is None or after is None:
            on_progress("could not read information_schema.materialized_views: check for inactive materialized views"
                        f" over {q(target, database)} (a swap deactivates them; ALTER MATERIALIZED VIEW … ACTIVE)")
            return
        for mv in sorted(after - before):
            try:
                self.run(f"ALTER MATERIALIZED VIEW {q(mv, db)} ACTIVE")
                on_progress(f"reactivated materialized view {q(mv, db)} (the swap deactivated it)")
            except DatabaseError as exc:
                on_progress(f"materialized view {q(mv, db)} is inactive after the swap and could not be reactivated:"
                            f" {exc.message}")

    def _inactive_mvs(self, database: str | None) -> set[str] | None:
        try:
            rows = self.adapter.query("SELECT TABLE_NAME FROM information_schema.materialized_views"
                                      " WHERE TABLE_SCHEMA = %s AND IS_ACTIVE = 'false'", (database,))
        except DatabaseError:
            return None
        return {str(r[0]) for r in rows}

    def drop(self, database: str | None, table: str) -> None:
        self.run(f"DROP TABLE IF EXISTS {self.adapter.qualified(table, database)} FORCE")
