"""Generated scenarios against the real MariaDB (the generic engine: no async jobs).

The same state machine as tests/unit/test_sim_migrate.py (tests/support/sim_machine.py), with fewer examples. Faults
come from a wrapper around rockway's own pymysql connection (tests/support/sim_engine.py FaultyConnection): a
process crash closes the real connection at a random statement, before or after the server ran it (so
the server drops the session's GET_LOCK, as when a process dies), or the connection is lost.
The database is the db_dsn fixture's, emptied before each generated example.
"""

from __future__ import annotations

import re
from typing import Any

import pymysql
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from rockway.config import parse_dsn
from tests.support.sim_engine import FaultPlan, FaultyConnection, op_in_effect, parse_op
from tests.support.sim_machine import MigrationMachine, World, plain_faults


class MariaDBWorld(World):
    """A real MariaDB database; history and lock live on the server."""

    dialect = "mysql"
    dsn = ""

    def __init__(self) -> None:
        p = parse_dsn(self.dsn)
        self.database = p.database
        self.admin = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "",
                                     database=p.database, autocommit=True)
        self.plan = FaultPlan()
        self.seen_twice: list[str] = []
        self._empty()

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.admin.cursor() as cur:
            cur.execute(sql, args or None)
            return list(cur.fetchall()) if cur.description else []

    def _empty(self) -> None:
        for name, kind in self._query("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s",
                                      (self.database,)):
            what = "VIEW" if kind == "VIEW" else "TABLE"
            self._query(f"DROP {what} IF EXISTS `{name}`")

    def adapter(self, settings: Any) -> Any:
        from rockway.adapters import connect

        adapter = connect(settings)

        def close_session(conn: Any) -> None:  # a dead process's session ends: the server drops its GET_LOCK
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

        adapter._conn = FaultyConnection(adapter._conn, self.plan, on_dead=close_session, on_send=self._check_not_done)
        return adapter

    def _check_not_done(self, sql: str) -> None:
        """A generated statement sent while its effect is already in place would be running a second time."""
        op = parse_op(sql)
        if op is not None and op.action != "drop_table" and op_in_effect(self.schema(), op):
            self.seen_twice.append(f"executed again while in effect: {sql.strip()[:120]}")

    def violations(self) -> list[str]:
        return list(self.seen_twice)

    def arm(self, plan: FaultPlan) -> None:
        self.plan = plan

    def schema(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for table, column in self._query(
                "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t"
                " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
                " WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE' AND c.table_name REGEXP '^t[0-9]+_'",
                (self.database,)):
            out.setdefault(table, set()).add(column)
        return {t: frozenset(c) for t, c in out.items()}

    def views(self) -> dict[str, str]:
        out = {}
        for name, definition in self._query("SELECT table_name, view_definition FROM information_schema.views"
                                            " WHERE table_schema = %s", (self.database,)):
            m = re.search(r"from `[^`]+`\.`([^`]+)`", definition or "")
            out[name] = m.group(1) if m else ""
        return out

    def history_rows(self) -> list[Any]:
        from rockway.migrate.history import COLUMN_NAMES, row_from_db

        if not self._query("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name ="
                           " 'rockway_schema_history'", (self.database,)):
            return []
        cols = ", ".join(f"`{c}`" for c in COLUMN_NAMES)
        return [row_from_db(dict(zip(COLUMN_NAMES, r)))
                for r in self._query(f"SELECT {cols} FROM rockway_schema_history ORDER BY installed_rank")]

    def apply_direct(self, sql: list[str]) -> None:
        for statement in sql:
            self._query(statement)

    def close(self) -> None:
        self.admin.close()


class MariaDBMachine(MigrationMachine):
    fault_strategy = plain_faults


def test_migration_engine_against_mariadb(db_dsn: str) -> None:
    world = type("World", (MariaDBWorld,), {"dsn": db_dsn})
    machine = type("Machine", (MariaDBMachine,), {"world_factory": world})
    run_state_machine_as_test(machine, settings=settings(max_examples=10, stateful_step_count=8))
