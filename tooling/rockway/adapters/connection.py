"""Open pymysql connections with timeouts and map driver errors to rockway errors."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.constants import CR

from rockway.config import Dsn
from rockway.errors import ConfigError, DatabaseError, DatabaseUnavailable, OutcomeUnknown

# Client-side errors that mean the connection is gone (the last statement's outcome is unknown).
LOST_CONNECTION = {CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST, 2055, 2003, 2002, 2006, 2013}
ACCESS_DENIED = {1045, 1044, 1698}
UNKNOWN_DATABASE = {1049, 5501}


@dataclass(frozen=True)
class Timeouts:
    """Seconds for connect, read and write on every database call."""

    connect: float = 10.0
    read: float = 1800.0
    write: float = 60.0


def tls_options(dsn: Dsn) -> dict[str, Any]:
    """pymysql arguments for the DSN's ssl_mode.

    disabled: plain TCP (no TLS context is built). preferred: TLS when the server offers it, unverified
    (pymysql's default). required: TLS or no connection, certificate not checked. verify_ca: the server's
    certificate must be signed by ssl_ca. verify_identity: also its host name must match the DSN's host.
    """
    mode = dsn.ssl_mode
    if dsn.ssl_ca and mode.startswith("verify_") and not Path(dsn.ssl_ca).is_file():
        raise ConfigError(f"ssl_ca {dsn.ssl_ca!r} is not a file (the CA certificate, PEM, for ssl_mode {mode})")
    if mode == "disabled":
        return {"ssl_disabled": True}
    if mode == "required":
        return {"ssl": unverified_tls_context()}  # a context given as `ssl` makes TLS required
    if mode in ("verify_ca", "verify_identity"):
        return {"ssl": {"ca": dsn.ssl_ca, "check_hostname": mode == "verify_identity", "verify_mode": True}}
    return {}


@functools.lru_cache(maxsize=1)
def unverified_tls_context() -> ssl.SSLContext:
    """One TLS client context that encrypts without checking the server's certificate (preferred, required).

    pymysql builds `ssl.create_default_context()` for every connection, which loads the system's CA store
    (about 25-50 ms per connection measured here) that these modes never consult. Contexts are safe to share.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Connection(pymysql.connections.Connection):
    """pymysql's connection, reusing `unverified_tls_context` in its default (preferred) TLS mode."""

    def _create_ssl_ctx(self, sslp: Any) -> Any:
        if isinstance(sslp, dict) and not sslp:  # preferred: pymysql asks for a default, unverified context
            return unverified_tls_context()
        return super()._create_ssl_ctx(sslp)  # type: ignore[misc]  # pymysql's type stubs omit this private method


def open_connection(dsn: Dsn, timeouts: Timeouts, *, database: str | None = None, local_infile: bool = False) -> Any:
    """Open an autocommit pymysql connection or raise DatabaseUnavailable (exit 3)."""
    try:
        return _Connection(
            host=dsn.host,
            port=dsn.port,
            user=dsn.user,
            password=dsn.password or "",
            database=database if database is not None else dsn.database,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=max(1, int(round(timeouts.connect))),
            read_timeout=timeouts.read,
            write_timeout=timeouts.write,
            local_infile=local_infile,
            client_flag=0,
            **tls_options(dsn),
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        text = exc.args[1] if len(exc.args) > 1 else str(exc)
        if code in ACCESS_DENIED:
            raise DatabaseUnavailable(f"{dsn}: access denied for user {dsn.user!r}",
                                      hint="Check the user and ROCKWAY_PASSWORD.") from None
        if code == CR.CR_SSL_CONNECTION_ERROR:
            raise DatabaseUnavailable(f"{dsn}: cannot connect with ssl_mode={dsn.ssl_mode}: {_scrub(text, dsn)}",
                                      hint="Enable TLS on the server, or choose another ssl_mode"
                                           " (ROCKWAY_SSL_MODE or ?ssl_mode= in the DSN).") from None
        if code in UNKNOWN_DATABASE:
            raise DatabaseUnavailable(f"{dsn}: database {dsn.database!r} does not exist",
                                      hint="Create it first, e.g. CREATE DATABASE <name>;") from None
        raise DatabaseUnavailable(f"{dsn}: cannot connect: {_scrub(text, dsn)}") from None
    except (OSError, pymysql.err.MySQLError) as exc:
        raise DatabaseUnavailable(f"{dsn}: cannot connect: {_scrub(str(exc), dsn)}") from None


def _scrub(text: str, dsn: Dsn) -> str:
    return text.replace(dsn.password, "***") if dsn.password else text


def translate(exc: BaseException, sql_hint: str = "") -> Exception:
    """Turn a pymysql exception into the matching rockway error."""
    if isinstance(exc, pymysql.err.MySQLError):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if code in LOST_CONNECTION or isinstance(exc, pymysql.err.InterfaceError):
            return OutcomeUnknown(f"connection lost{(' during ' + sql_hint) if sql_hint else ''}: {text}", errno=code)
        return DatabaseError(f"({code}) {text}" if code else text, errno=code)
    if isinstance(exc, (OSError, TimeoutError)):
        return OutcomeUnknown(f"connection lost{(' during ' + sql_hint) if sql_hint else ''}: {exc}")
    return exc  # type: ignore[return-value]


def is_lost(exc: BaseException) -> bool:
    """True when exc means the connection broke."""
    if isinstance(exc, OutcomeUnknown):
        return True
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    if isinstance(exc, pymysql.err.MySQLError):
        return bool(exc.args) and exc.args[0] in LOST_CONNECTION
    return isinstance(exc, (ConnectionError, TimeoutError, OSError))
