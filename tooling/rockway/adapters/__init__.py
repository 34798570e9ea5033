"""Open a connection and pick the adapter by asking the server what it is; the engines by name (registry.py)."""

from __future__ import annotations

import pymysql

from rockway.config import Dsn, Settings, parse_dsn
from rockway.errors import ConfigError, DatabaseUnavailable
from rockway.adapters.base import Adapter, Capabilities, Column, LockOwner, LockPrimitive, StatementResult, TableSpec
from rockway.adapters.connection import Timeouts, open_connection
from rockway.adapters.dialect import EngineDialect
from rockway.adapters.registry import dialect_for, engine_capabilities, engine_for_dsn, engine_named_by, engine_names

__all__ = ["Adapter", "Capabilities", "Column", "EngineDialect", "LockOwner", "LockPrimitive", "StatementResult",
           "TableSpec", "Timeouts", "connect", "connect_dsn", "detect_engine", "dialect_for", "engine_capabilities",
           "engine_for_dsn", "engine_named_by", "engine_names", "settings_dsn"]


def detect_engine(conn: object) -> tuple[str, str]:
    """Return (engine, version): `SELECT current_version()` answers on StarRocks, fails with 1305 elsewhere."""
    with conn.cursor() as cur:  # type: ignore[attr-defined]
        try:
            cur.execute("SELECT current_version()")
            row = cur.fetchone()
            return "starrocks", str(row[0]) if row else ""
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else None
            if code not in (1305, 1064, 1146, 1370):
                raise
        cur.execute("SELECT VERSION()")
        row = cur.fetchone()
        return "mysql", str(row[0]) if row else ""


def settings_dsn(settings: Settings) -> Dsn:
    """The DSN from settings, with ROCKWAY_PASSWORD applied."""
    if not settings.dsn:
        raise ConfigError("no database given: pass --dsn, set ROCKWAY_DSN, or set dsn in rockway.toml [env.NAME]")
    return parse_dsn(settings.dsn).with_password(settings.password).with_tls(settings.ssl_mode, settings.ssl_ca)


def connect(settings: Settings) -> Adapter:
    """Connect with the settings' DSN and timeouts."""
    timeouts = Timeouts(settings.connect_timeout, settings.read_timeout, settings.write_timeout)
    dsn = settings_dsn(settings)
    if settings.create_database and dsn.database:
        create_database(dsn, timeouts)
    return connect_dsn(dsn, timeouts, settings=settings)


def create_database(dsn: Dsn, timeouts: Timeouts) -> None:
    """CREATE DATABASE IF NOT EXISTS for the DSN's database (the name is a validated identifier)."""
    conn = open_connection(dsn, timeouts, database="")
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{dsn.database}`")
    except pymysql.err.MySQLError as exc:
        raise DatabaseUnavailable(f"{dsn}: cannot create database {dsn.database!r}: {exc.args[-1]}") from None
    finally:
        conn.close()


def connect_dsn(dsn: Dsn, timeouts: Timeouts | None = None, *, settings: Settings | None = None) -> Adapter:
    """Connect to dsn and return the adapter for the engine the server reports."""
    timeouts = timeouts or Timeouts()
    conn = open_connection(dsn, timeouts)
    try:
        engine, version = detect_engine(conn)
    except pymysql.err.MySQLError as exc:
        conn.close()
        raise DatabaseUnavailable(f"{dsn}: connected, but could not identify the server: {exc}") from None
    if dsn.scheme == "starrocks" and engine != "starrocks":  # StarRocks speaks the MySQL protocol, not the reverse
        conn.close()
        raise ConfigError(f"{dsn}: the DSN says starrocks:// but the server is {version}; use mysql:// for MySQL/MariaDB")
    adapter = dialect_for(engine).adapter(conn, dsn, timeouts, version)
    if settings is not None:
        adapter.configure(settings)
    return adapter
