"""MySQL / MariaDB adapter: the engine every local test runs against for real."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Sequence

from rockway.errors import DatabaseError
from rockway.adapters.base import Capabilities, Column, LockOwner, LockPrimitive, TableSpec
from rockway.adapters.pymysql_base import PyMySQLAdapter

_TYPES = {"TEXT": "LONGTEXT", "BOOLEAN": "BOOLEAN", "DATETIME": "DATETIME(6)"}


def _column_sql(col: Column) -> str:
    ctype = _TYPES.get(col.type.upper(), col.type)
    return f"`{col.name}` {ctype} {'NULL' if col.nullable else 'NOT NULL'}"


class MySQLAdapter(PyMySQLAdapter):
    """MySQL and MariaDB: transactional DML, non-transactional DDL, GET_LOCK."""

    engine = "mysql"
    capabilities = Capabilities(advisory_lock=True, transactional_dml=True)
    hash_comments = True

    @property
    def db_system(self) -> str:
        return "mariadb" if "mariadb" in self.server_version.lower() else "mysql"

    def create_table_sql(self, spec: TableSpec, *, properties: dict[str, str] | None = None) -> str:
        cols = ",\n  ".join(_column_sql(c) for c in spec.columns)
        key = ", ".join(f"`{k}`" for k in spec.key)
        comment = f" COMMENT={self._string(spec.comment)}" if spec.comment else ""
        return (f"CREATE TABLE IF NOT EXISTS {self.qualified(spec.name)} (\n  {cols},\n  PRIMARY KEY ({key})\n)"
                f" DEFAULT CHARSET=utf8mb4{comment}")

    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str], rows: int = 1) -> str:
        cols = ", ".join(f"`{c}`" for c in columns)
        marks = ", ".join([f"({', '.join(['%s'] * len(columns))})"] * rows)
        updates = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in columns if c not in key)
        return f"INSERT INTO {self.qualified(table)} ({cols}) VALUES {marks} ON DUPLICATE KEY UPDATE {updates}"

    @staticmethod
    def _string(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def lock_primitive(self, name: str, *, lease_seconds: float, properties: dict[str, str] | None = None) -> LockPrimitive:
        return NamedLock(self, name)


class NamedLock(LockPrimitive):
    """GET_LOCK on this connection; the owner is recorded in a small table so waiters can name it.

    The server releases a GET_LOCK when its session ends, so a killed process never leaves it behind;
    the owner row is only information and is overwritten by the next holder.
    """

    OWNER_TABLE = "rockway_lock_owner"

    def __init__(self, adapter: MySQLAdapter, name: str) -> None:
        self.adapter = adapter
        self.name = f"{adapter.database}.{name}"[:64]
        self._ensured = False

    def _ensure_owner_table(self) -> None:
        if self._ensured:
            return
        spec = TableSpec(self.OWNER_TABLE, (Column("lock_name", "VARCHAR(64)", False), Column("owner", "VARCHAR(1000)"),
                                             Column("connection_id", "BIGINT")), ("lock_name",),
                         comment="rockway run-lock owners (information only; GET_LOCK is the lock)")
        self.adapter.execute(self.adapter.create_table_sql(spec))
        self._ensured = True

    def try_acquire(self, owner: LockOwner, wait_seconds: float) -> bool:
        rows = self.adapter.query("SELECT GET_LOCK(%s, %s)", (self.name, max(0, math.ceil(wait_seconds))))
        if not rows or rows[0][0] != 1:
            return False
        self._ensure_owner_table()
        stamped = LockOwner(owner.host, owner.pid, owner.run_id, acquired_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.adapter.execute(self.adapter.upsert_sql(self.OWNER_TABLE, ("lock_name", "owner", "connection_id"), ("lock_name",)),
                             (self.name, json.dumps(stamped.__dict__), self.adapter.connection_id))
        return True

    def holder(self) -> LockOwner | None:
        rows = self.adapter.query("SELECT IS_USED_LOCK(%s)", (self.name,))
        conn_id = rows[0][0] if rows else None
        if conn_id is None:
            return None
        try:
            info = self.adapter.query(
                f"SELECT owner, connection_id FROM {self.adapter.qualified(self.OWNER_TABLE)} WHERE lock_name = %s", (self.name,))
        except DatabaseError:
            info = []
        if info and info[0][1] == conn_id:
            data = json.loads(info[0][0])
            return LockOwner(**data)
        return LockOwner(host="unknown", pid=0, run_id=f"connection {conn_id}")

    def release(self, owner: LockOwner) -> None:
        self.adapter.query("SELECT RELEASE_LOCK(%s)", (self.name,))

    def force_release(self) -> LockOwner | None:
        held = self.holder()
        if held is None:
            return None
        raise DatabaseError(
            f"lock {self.name!r} is held by a live session ({held.describe()}); MySQL/MariaDB release it when that session ends",
            hint="Stop that process, or end its session with KILL <connection id> (see SHOW PROCESSLIST).")
