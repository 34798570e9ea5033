"""Shared pymysql plumbing for the MySQL/MariaDB and StarRocks adapters."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import pymysql
import pymysql.cursors

from rockway.config import Dsn
from rockway.errors import DatabaseError, RockwayError
from rockway.adapters.base import Adapter, StatementResult
from rockway.adapters.connection import Timeouts, is_lost, open_connection, translate


class PyMySQLAdapter(Adapter):
    """An Adapter over one autocommit pymysql connection."""

    def __init__(self, conn: Any, dsn: Dsn, timeouts: Timeouts, server_version: str = "") -> None:
        super().__init__()
        self._conn = conn
        self.dsn = dsn
        self.timeouts = timeouts
        self.database = dsn.database
        self.server_version = server_version
        self.user = dsn.user
        self.host = dsn.host
        self.port = dsn.port

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> StatementResult:
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql, tuple(params) if params is not None else None)
                columns = tuple(d[0] for d in cur.description) if cur.description else ()
                rows = list(cur.fetchall()) if cur.description else []
                info = ""
                result = getattr(self._conn, "_result", None)
                if result is not None and getattr(result, "message", None):
                    raw = result.message
                    info = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                return StatementResult(rowcount=max(cur.rowcount, 0), columns=columns, rows=rows, info=info)
        except (pymysql.err.MySQLError, OSError) as exc:
            raise translate(exc, sql.strip().split(None, 1)[0] if sql.strip() else "") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        try:
            with self._conn.cursor() as cur:
                return int(cur.executemany(sql, [tuple(r) for r in rows]) or 0)
        except (pymysql.err.MySQLError, OSError) as exc:
            raise translate(exc, "INSERT") from exc

    def literal_sql(self, sql: str, params: Sequence[Any] | None = None) -> str:
        if params is None:
            return sql
        with self._conn.cursor() as cur:
            return cur.mogrify(sql, tuple(params))

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not raise
            pass

    def clone(self) -> "PyMySQLAdapter":
        conn = open_connection(self.dsn, self.timeouts, database=self.database)
        twin = type(self)(conn, self.dsn, self.timeouts, self.server_version)
        twin.database = self.database
        return twin

    def is_connection_lost(self, exc: BaseException) -> bool:
        return is_lost(exc)

    @property
    def connection_id(self) -> int:
        return int(self._conn.thread_id())

    def cancel_running(self, timeout: float = 5.0) -> bool:
        """KILL QUERY this connection's statement from a second, short-lived connection, then reconnect.

        An interrupted client stops reading, but the server goes on executing the statement. `KILL QUERY <id>`
        ends the statement and keeps the session (MariaDB and MySQL; StarRocks accepts
        `KILL [CONNECTION | QUERY] <processlist id>`, the id its handshake sent, as here: README, "Failures, resume
        and repair", with the FE caveat). A failed kill returns False and the caller says the statement may still
        run. This connection is replaced afterwards: the interrupted read left the killed statement's answer unread.
        """
        try:
            target = self.connection_id
        except Exception:  # noqa: BLE001 - no handshake id: nothing we can name
            return False
        bounded = Timeouts(connect=min(self.timeouts.connect, timeout), read=timeout, write=timeout)
        killed = False
        try:
            killer = open_connection(self.dsn, bounded, database=self.database)
        except RockwayError:
            killer = None
        if killer is not None:
            try:
                with killer.cursor() as cur:
                    cur.execute(f"KILL QUERY {int(target)}")
                killed = True
            except (pymysql.err.MySQLError, OSError):
                killed = False  # e.g. 1094 unknown thread id: the statement (and its session) already ended
            finally:
                killer.close()
        self._reconnect()
        return killed

    def _reconnect(self) -> None:
        """Replace the connection with a fresh one (same settings); keep the old one closed if that fails."""
        self.close()
        try:
            self._conn = open_connection(self.dsn, self.timeouts, database=self.database)
        except RockwayError:
            pass  # the next call fails with "connection lost", as it would have


def stream_rows(source: Adapter, sql: str, size: int, *, width: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of a query on a MySQL-protocol source, `size` at a time, through an unbuffered cursor."""
    conn: Any = getattr(source, "_conn", None)
    if conn is None:
        raise DatabaseError("this source cannot stream rows (no MySQL-protocol connection)")
    done = False
    try:
        cur = conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(sql)
            found = len(cur.description or ())
            if width is not None and found != width:
                raise DatabaseError(f"the source query returns {found} columns, the job declares {width}",
                                    hint="Make the extract's SELECT list match `columns` in the job spec.")
            while True:
                rows = cur.fetchmany(size)
                if not rows:
                    done = True
                    return
                yield list(rows)
        finally:
            if done:
                cur.close()
            else:  # closing an unbuffered cursor would read every remaining row: drop the connection instead
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
    except (pymysql.err.MySQLError, OSError) as exc:
        raise translate(exc, "SELECT (source)") from exc
