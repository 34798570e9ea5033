"""TLS to the database (`ssl_mode`, `ssl_ca`) against real MariaDB servers.

A second, throwaway MariaDB is started for this module with TLS on (a CA and a server certificate made with
openssl; the certificate names `localhost` only), next to the usual test server, which has TLS off. The
session's cipher (`SHOW SESSION STATUS LIKE 'Ssl_cipher'`) tells whether a connection really is encrypted. The DSN's
TLS options parsed without a server: tests/unit/test_tls.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pymysql
import pytest

from rockway.adapters.connection import Timeouts, open_connection
from rockway.config import parse_dsn
from rockway.errors import DatabaseUnavailable
from tests.support.cli import Project, run_cli

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca: Path  # the CA that signed the server certificate
    other_ca: Path  # a CA that did not


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_certificates(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-days", "2", "-nodes", "-keyout", f"{name}.key",
                 "-out", f"{name}.pem", "-subj", f"/CN=rockway test {name}", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=folder)
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=folder)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    missing = [tool for tool in ("mariadbd", "mariadb-install-db", "openssl")
               if not (shutil.which(tool) or Path("/usr/sbin", tool).exists())]
    if missing:
        pytest.skip(f"a TLS-enabled MariaDB cannot be started here: {', '.join(missing)} not installed")
    root = tmp_path_factory.mktemp("tls-mariadb")
    certs = root / "certs"
    _make_certificates(certs)
    data = root / "data"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", *user,
                    "--auth-root-authentication-method=normal", "--skip-test-db"], check=True, capture_output=True)
    port = _free_port()
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    log = (root / "server.log").open("w")
    proc = subprocess.Popen([mariadbd, "--no-defaults", f"--datadir={data}", f"--port={port}", "--bind-address=127.0.0.1",
                             f"--socket={root / 'sock'}", *user, "--skip-log-bin", "--innodb-buffer-pool-size=32M",
                             f"--ssl-ca={certs / 'ca.pem'}", f"--ssl-cert={certs / 'server.pem'}",
                             f"--ssl-key={certs / 'server.key'}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=port, user="root", password="", connect_timeout=2,
                                ssl_disabled=True).close()
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"TLS MariaDB did not start:\n{(root / 'server.log').read_text()[-3000:]}")
                time.sleep(0.2)
        yield TlsServer(port, certs / "ca.pem", certs / "other-ca.pem")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _cipher(dsn: str) -> str:
    """The TLS cipher of a connection opened the way rockway opens them ('' for plain TCP)."""
    conn = open_connection(parse_dsn(dsn), Timeouts(connect=5))
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            return str(cur.fetchone()[1] or "")
    finally:
        conn.close()


def test_modes_against_a_tls_server(tls_server: TlsServer) -> None:
    base = f"mysql://root@127.0.0.1:{tls_server.port}/"
    assert _cipher(base)  # preferred (the default) encrypts when the server offers TLS
    assert _cipher(base + "?ssl_mode=disabled") == ""
    assert _cipher(base + "?ssl_mode=required")
    assert _cipher(base + f"?ssl_mode=verify_ca&ssl_ca={tls_server.ca}")
    localhost = f"mysql://root@localhost:{tls_server.port}/"
    assert _cipher(localhost + f"?ssl_mode=verify_identity&ssl_ca={tls_server.ca}")


def test_unverified_modes_share_one_tls_context(tls_server: TlsServer) -> None:
    """preferred and required build no per-connection context (pymysql's loads the CA store each time)."""
    opened = [open_connection(parse_dsn(f"mysql://root@127.0.0.1:{tls_server.port}/{q}"), Timeouts(connect=5))
              for q in ("", "", "?ssl_mode=required")]
    try:
        assert opened[0].ctx is opened[1].ctx is opened[2].ctx
        assert all(c._sock.version() for c in opened)  # the sockets really are TLS sockets
    finally:
        for conn in opened:
            conn.close()
    verified = open_connection(parse_dsn(f"mysql://root@127.0.0.1:{tls_server.port}/?ssl_mode=verify_ca"
                                         f"&ssl_ca={tls_server.ca}"), Timeouts(connect=5))
    try:
        assert verified.ctx is not opened[0].ctx and verified.ctx.verify_mode.name == "CERT_REQUIRED"
    finally:
        verified.close()


def test_verification_failures_refuse_to_connect(tls_server: TlsServer) -> None:
    base = f"mysql://root@127.0.0.1:{tls_server.port}/"
    with pytest.raises(DatabaseUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        _cipher(base + f"?ssl_mode=verify_ca&ssl_ca={tls_server.other_ca}")
    # the certificate names localhost, not 127.0.0.1: verify_ca accepts it, verify_identity does not
    assert _cipher(base + f"?ssl_mode=verify_ca&ssl_ca={tls_server.ca}")
    with pytest.raises(DatabaseUnavailable, match="CERTIFICATE_VERIFY_FAILED|match|mismatch"):
        _cipher(base + f"?ssl_mode=verify_identity&ssl_ca={tls_server.ca}")


def test_migrate_over_verified_tls_from_the_environment(tls_server: TlsServer, tmp_path: Path) -> None:
    project = Project(tmp_path, f"mysql://root@localhost:{tls_server.port}/rw_tls")
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    (tmp_path / "repeatable").mkdir()
    env = {"ROCKWAY_SSL_MODE": "verify_identity", "ROCKWAY_SSL_CA": str(tls_server.ca),
           "ROCKWAY_CREATE_DATABASE": "true"}
    up = run_cli(project, "migrate", "up", env=env)
    assert up.code == 0, up.err
    info = run_cli(project, "migrate", "info", "--json", env=env)
    assert info.code == 0 and '"applied"' in info.out
    wrong = run_cli(project, "migrate", "info", env={**env, "ROCKWAY_SSL_CA": str(tls_server.other_ca)})
    assert wrong.code == 3 and "CERTIFICATE_VERIFY_FAILED" in wrong.err


def test_required_against_a_server_without_tls_exits_3_with_a_hint(project: Project) -> None:
    r = run_cli(project, "migrate", "info", env={"ROCKWAY_SSL_MODE": "required"})
    assert r.code == 3, r.err
    assert "ssl_mode=required" in r.err and "doesn't support it" in r.err and "choose another ssl_mode" in r.err
    assert _cipher(project.dsn + "?ssl_mode=disabled") == ""
    assert run_cli(project, "migrate", "info", env={"ROCKWAY_SSL_MODE": "disabled"}).code == 0


@pytest.mark.parametrize("env, message", [
    ({"ROCKWAY_SSL_MODE": "on"}, "ssl_mode 'on' is not one of disabled, preferred, required, verify_ca, verify_identity"),
    ({"ROCKWAY_SSL_MODE": "verify_ca"}, "ssl_mode verify_ca needs ssl_ca"),
    ({"ROCKWAY_SSL_MODE": "verify_identity", "ROCKWAY_SSL_CA": "/nonexistent/ca.pem"}, "is not a file"),
])
def test_bad_tls_settings_exit_2_before_connecting(project: Project, sql, env: dict[str, str], message: str) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    r = run_cli(project, "migrate", "up", env=env)
    assert r.code == 2, r.err
    assert message in r.err
    assert sql("SHOW TABLES") == []  # nothing written
