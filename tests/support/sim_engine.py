"""An in-memory StarRocks model for simulation tests of the migration engine, plus the generated projects.

The model answers at the pymysql-connection level, so the real StarRocks adapter
(rockway/adapters/starrocks/base.py) classifies, sends, retries and polls against it exactly as it would
against a server. It behaves like StarRocks where rockway depends on it:

- DDL is not transactional: each statement takes effect on its own and nothing rolls back;
- ALTER TABLE … ADD/DROP COLUMN starts a COLUMN job that moves PENDING → WAITING_TXN → RUNNING →
  FINISHED across `SHOW ALTER TABLE COLUMN` polls (or ends CANCELLED with Msg "user cancelled"); rows
  are shaped like the recorded ones in tests/support/starrocks_replay.py (StarRocks issue #46534);
- a second ALTER while a job holds the table is refused with the 3.1–3.5 "schema change operation is
  in progress" text (starrocks_replay.BUSY_SCHEMA_CHANGE_3X, StarRocks PR #24806);
- CREATE TABLE of an existing table fails with 1050, DROP of a missing one with 5502 (StarRocks
  test/sql/test_column_rename/R/test_column_rename2, test/sql/test_materialized_view_refresh/R/
  test_mv_refresh_with_union3);
- rockway's own history and lock tables are kept by the model and survive crashes, as on a server.

Faults (FaultPlan) are injected by FaultyConnection, a wrapper that also works over a real MariaDB
connection: a process crash (SimCrash, a BaseException no handler catches, and the connection is dead
afterwards) or a dropped connection (pymysql error 2013), each before or after the statement reached
the server.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Sequence

import pymysql

from tests.support.starrocks_replay import MV_INFO_COLUMNS
from tests.support.starrocks_replay import (BACKENDS_COLUMNS, BUSY_SCHEMA_CHANGE_3X, COLUMN_JOB_COLUMNS, TABLE_EXISTS_1050,
                              UNKNOWN_COLUMN, UNKNOWN_TABLE, VERSION_3_1_5, FakeClock, backend_row, column_job,
                              pymysql_error)

DATABASE = "simdb"
SIM_DSN = f"starrocks://root@sim.invalid:9030/{DATABASE}"


class ModelGap(BaseException):
    """The model was sent SQL it does not interpret: a gap in the test, never an answer rockway should handle."""


class SimCrash(BaseException):
    """The rockway process died here: no handler runs its recovery, and its connection is gone."""


# --- faults ------------------------------------------------------------------------------------

FAULT_KINDS = ("crash_before", "crash_after", "drop_before", "drop_after")


@dataclass
class FaultPlan:
    """Faults for one rockway invocation: at the n-th statement sent (1-based), or on a migration ALTER."""

    at: dict[int, str] = field(default_factory=dict)  # statement number -> one of FAULT_KINDS
    busy_attempts: int = 0  # the next migration ALTER is refused as "busy" this many times first
    cancel_next_job: bool = False  # the next COLUMN job ends CANCELLED
    sent: int = 0
    fired: list[str] = field(default_factory=list)

    def take(self, when: str) -> str | None:
        kind = self.at.get(self.sent)
        if kind is not None and kind.endswith(when):
            del self.at[self.sent]
            self.fired.append(f"{kind}@{self.sent}")
            return kind
        return None


class FaultyConnection:
    """Wraps a pymysql-like connection; fires the plan's faults around the statements it forwards."""

    def __init__(self, inner: Any, plan: FaultPlan, on_dead: Any = None, on_send: Any = None) -> None:
        self.inner = inner
        self.plan = plan
        self.dead = False
        self.crashed = False
        self.on_dead = on_dead or (lambda conn: None)
        self.on_send = on_send or (lambda sql: None)  # sees each statement before the server does

    def _die(self) -> None:
        self.dead = True
        self.on_dead(self.inner)

    def cursor(self) -> "FaultyCursor":
        return FaultyCursor(self)

    def thread_id(self) -> int:
        return int(self.inner.thread_id())

    def close(self) -> None:
        self.dead = True
        try:
            self.inner.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass

    def forward(self, cur: Any, sql: str, args: Any) -> int:
        if self.crashed:
            raise SimCrash("the process is gone")  # no code of a dead process runs (finally blocks included)
        if self.dead:
            raise pymysql.err.InterfaceError(0, "")
        self.plan.sent += 1
        kind = self.plan.take("before")
        if kind is not None:
            self._fire(kind)
        self.on_send(sql)
        result = cur.execute(sql, args)
        kind = self.plan.take("after")
        if kind is not None:
            self._fire(kind)
        return result

    def _fire(self, kind: str) -> None:
        self._die()
        if kind.startswith("crash"):
            self.crashed = True
            raise SimCrash(kind)
        raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")


class FaultyCursor:
    def __init__(self, conn: FaultyConnection) -> None:
        self.conn = conn
        self.inner = conn.inner.cursor()

    def __enter__(self) -> "FaultyCursor":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.inner.close()
        except Exception:  # noqa: BLE001
            pass

    @property
    def description(self) -> Any:
        return self.inner.description

    @property
    def rowcount(self) -> int:
        return self.inner.rowcount

    def execute(self, sql: str, args: Any = None) -> int:
        return self.conn.forward(self.inner, sql, args)

    def fetchall(self) -> Any:
        return self.inner.fetchall()

    def fetchone(self) -> Any:
        return self.inner.fetchone()

    def mogrify(self, sql: str, args: Any = None) -> str:
        return self.inner.mogrify(sql, args)


# --- the StarRocks model ----------------------------------------------------------------------

_Q = r"`([^`]+)`"
_QUALIFIED = rf"{_Q}\.{_Q}"
_JOB_STATES = ("PENDING", "WAITING_TXN", "RUNNING", "FINISHED")


@dataclass
class _AlterJob:
    job_id: int
    table: str
    change: tuple[str, str]  # ("add" | "drop", column)
    state: str = "PENDING"
    cancel: bool = False
    msg: str = ""

    def row(self) -> tuple:
        progress = "1/2" if self.state == "RUNNING" else "NULL"
        return column_job(str(self.job_id), self.state, progress, self.msg, table=self.table)


@dataclass
class _MetaTable:
    columns: list[str]
    comment: str = ""
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)


class StarRocksModel:
    """One StarRocks FE with one database: user tables, views, COLUMN jobs, and rockway's tables."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.wall_base = datetime(2026, 1, 1, 0, 0, 0)
        self.wall_offset = 0.0
        self.tables: dict[str, list[str]] = {}
        self.views: dict[str, str] = {}  # view -> the object it selects from
        self.meta: dict[str, _MetaTable] = {}
        self.jobs: list[_AlterJob] = []
        self.next_job_id = 262013
        self.plan = FaultPlan()
        self.executed: Counter[str] = Counter()  # migration statement text -> times it took effect
        self.violations: list[str] = []
        self.log: list[str] = []  # every statement received, normalised

    # clocks -----------------------------------------------------------------------------------
    def utcnow(self) -> datetime:
        from datetime import timezone

        return (self.wall_base + timedelta(seconds=self.clock.now + self.wall_offset)).replace(tzinfo=timezone.utc)

    def pass_time(self, seconds: float) -> None:
        self.wall_offset += seconds

    # server-side work that continues without the client ---------------------------------------
    def finish_jobs(self) -> None:
        """Let every in-flight job reach its final state (the FE keeps working after a client left)."""
        for job in self.jobs:
            while job.state not in ("FINISHED", "CANCELLED"):
                self._advance(job)

    def _advance(self, job: _AlterJob) -> None:
        if job.state in ("FINISHED", "CANCELLED"):
            return
        if job.cancel and job.state == "RUNNING":
            job.state, job.msg = "CANCELLED", "user cancelled"
            return
        job.state = _JOB_STATES[_JOB_STATES.index(job.state) + 1]
        if job.state == "FINISHED":
            action, column = job.change
            cols = self.tables.get(job.table)
            if cols is not None:
                if action == "add" and column not in cols:
                    cols.append(column)
                elif action == "drop" and column in cols:
                    cols.remove(column)

    def _busy(self, table: str) -> bool:
        return any(j.table == table and j.state not in ("FINISHED", "CANCELLED") for j in self.jobs)

    # the connection ---------------------------------------------------------------------------
    def connect(self) -> FaultyConnection:
        return FaultyConnection(_ModelConnection(self), self.plan)

    def handle(self, sql: str, args: Sequence[Any] | None) -> tuple[tuple[str, ...], list[tuple]]:
        """Answer one statement: (column labels, rows); raise the pymysql error StarRocks would."""
        text = " ".join(sql.split())
        args = tuple(args or ())
        self.log.append(text)
        if re.fullmatch(r"SELECT current_version\(\)", text):
            return ("current_version()",), [(VERSION_3_1_5,)]
        if text.startswith("SELECT 1 FROM information_schema.tables"):
            return ("1",), [(1,)] if self._exists(args[1]) else []
        if text.startswith("SELECT TABLE_COMMENT FROM information_schema.tables"):
            meta = self.meta.get(args[1])
            return ("TABLE_COMMENT",), [(meta.comment,)] if meta else []
        if text == ("SELECT column_name FROM information_schema.columns WHERE table_schema = 'information_schema'"
                    " AND table_name = 'materialized_views'"):
            # columns every release has (the replay's MV_INFO_COLUMNS: StarRocks
            # test/sql/test_materialized_view/R/test_show_materialized_view)
            return ("column_name",), [(c,) for c in ("TABLE_SCHEMA", "TABLE_NAME", *MV_INFO_COLUMNS)]
        m = re.fullmatch(r"SELECT (.+) FROM information_schema\.materialized_views\b.*", text)
        if m:  # the model holds no materialized views
            return tuple(c.strip() for c in m.group(1).split(",")), []
        if text.startswith("SELECT 1 FROM information_schema.columns") and "LOWER(column_name)" in text:
            cols = self.tables.get(args[1], [])
            return ("1",), [(1,)] if args[2].lower() in cols else []
        if text.startswith("SELECT 1 FROM information_schema.schemata"):
            return ("1",), [(1,)] if args[0] == DATABASE else []
        if text.startswith("SELECT column_name FROM information_schema.columns"):
            name = args[1]
            cols = self.meta[name].columns if name in self.meta else self.tables.get(name, [])
            return ("column_name",), [(c,) for c in cols]
        if text == "SHOW BACKENDS":  # one alive backend, like the one-BE deployment (migrate up asks before it runs)
            return BACKENDS_COLUMNS, [backend_row(10002, True)]
        if text.startswith("SHOW ALTER TABLE COLUMN"):
            table = args[0]
            mine = [j for j in self.jobs if j.table == table]
            for job in mine:
                self._advance(job)
            mine.sort(key=lambda j: j.job_id, reverse=True)
            return COLUMN_JOB_COLUMNS, [j.row() for j in mine[:1]]
        m = re.fullmatch(rf"SELECT (.+) FROM {_QUALIFIED} ORDER BY installed_rank", text)
        if m:
            cols = [c.strip().strip("`") for c in m.group(1).split(",")]
            meta = self.meta[m.group(3)]
            return tuple(cols), [tuple(r.get(c) for c in cols) for _, r in sorted(meta.rows.items())]
        m = re.fullmatch(rf"INSERT INTO {_QUALIFIED} \((.+?)\) VALUES .*", text)
        if m:
            cols = [c.strip().strip("`") for c in m.group(3).split(",")]
            meta = self.meta[m.group(2)]
            for i in range(0, len(args), len(cols)):
                row = dict(zip(cols, args[i:i + len(cols)]))
                meta.rows[int(row["installed_rank"])] = row  # a Primary Key table: same key replaces
            return (), []
        m = re.fullmatch(rf"DELETE FROM {_QUALIFIED} WHERE installed_rank = %s", text)
        if m:
            self.meta[m.group(2)].rows.pop(int(args[0]), None)
            return (), []
        m = re.match(rf"CREATE TABLE (IF NOT EXISTS )?{_QUALIFIED} \(", text)
        if m:  # rockway's own tables (history, lock): always qualified
            name = m.group(3)
            if name in self.meta or name in self.tables:
                if m.group(1):
                    return (), []
                raise pymysql_error(TABLE_EXISTS_1050[0], f"Getting analyzing error. Detail message: Table '{name}' already exists.")
            cols = re.findall(r"\n\s+`([^`]+)` ", sql)
            c = re.search(r'\nCOMMENT "((?:[^"\\]|\\.)*)"', sql)
            comment = c.group(1).encode().decode("unicode_escape") if c else ""
            self.meta[name] = _MetaTable(cols, comment)
            return (), []
        m = re.fullmatch(rf"DROP TABLE IF EXISTS {_QUALIFIED} FORCE", text)
        if m:
            self.meta.pop(m.group(2), None)
            return (), []
        m = re.fullmatch(rf'ALTER TABLE {_QUALIFIED} COMMENT = "((?:[^"\\]|\\.)*)"', text)
        if m:
            self.meta[m.group(2)].comment = m.group(3).encode().decode("unicode_escape")
            return (), []
        return self._migration_statement(text)

    def _exists(self, name: str) -> bool:
        return name in self.meta or name in self.tables or name in self.views

    def _took_effect(self, text: str) -> None:
        self.executed[text] += 1

    def _migration_statement(self, text: str) -> tuple[tuple[str, ...], list[tuple]]:
        m = re.match(r"CREATE TABLE (\w+) \(id INT NOT NULL, v INT\) DUPLICATE KEY\(id\)", text)
        if m:
            name = m.group(1)
            if self._exists(name):
                self.violations.append(f"executed again while in effect: {text}")
                raise pymysql_error(TABLE_EXISTS_1050[0], f"Getting analyzing error. Detail message: Table '{name}' already exists.")
            self.tables[name] = ["id", "v"]
            self._took_effect(text)
            return (), []
        m = re.fullmatch(r"ALTER TABLE (\w+) (ADD|DROP) COLUMN (\w+)( INT)?", text)
        if m:
            table, action, column = m.group(1), m.group(2).lower(), m.group(3)
            if table not in self.tables:
                raise pymysql_error(*UNKNOWN_TABLE) if table == "t1" else pymysql_error(
                    UNKNOWN_TABLE[0], f"Getting analyzing error. Detail message: Unknown table '{table}'.")
            if self.plan.busy_attempts > 0 or self._busy(table):
                if not self._busy(table):
                    self.plan.busy_attempts -= 1
                raise pymysql_error(BUSY_SCHEMA_CHANGE_3X[0], BUSY_SCHEMA_CHANGE_3X[1].replace("ta_event_119", table))
            cols = self.tables[table]
            if (action == "add") == (column in cols):
                self.violations.append(f"executed again while in effect: {text}")
                if action == "add":
                    raise pymysql_error(1064, f"Getting analyzing error. Detail message: Duplicate column name '{column}'.")
                raise pymysql_error(UNKNOWN_COLUMN[0], f"Column does not exists: {column}")
            job = _AlterJob(self.next_job_id, table, (action, column), cancel=self.plan.cancel_next_job)
            self.plan.cancel_next_job = False
            self.next_job_id += 10
            self.jobs.append(job)
            self._took_effect(text)
            return (), []
        m = re.fullmatch(r"DROP TABLE (\w+)", text)
        if m:
            name = m.group(1)
            if name not in self.tables:
                raise pymysql_error(UNKNOWN_TABLE[0], f"Getting analyzing error. Detail message: Unknown table '{name}'.")
            del self.tables[name]
            self.jobs = [j for j in self.jobs if j.table != name]
            self._took_effect(text)
            return (), []
        m = re.fullmatch(r"CREATE OR REPLACE VIEW (\w+) AS SELECT id FROM (\w+)", text)
        if m:
            view, source = m.group(1), m.group(2)
            if source not in self.tables and source not in self.views:
                raise pymysql_error(UNKNOWN_TABLE[0], f"Getting analyzing error. Detail message: Unknown table '{source}'.")
            self.views[view] = source
            self._took_effect(text)
            return (), []
        raise ModelGap(f"the StarRocks model does not understand: {text[:300]}")

    # what a person sees with SHOW TABLES / DESC ------------------------------------------------
    def schema(self) -> dict[str, frozenset[str]]:
        return {t: frozenset(c) for t, c in self.tables.items()}

    def view_sources(self) -> dict[str, str]:
        return dict(self.views)

    def lock_present(self) -> bool:
        return any(name.endswith("_lock") for name in self.meta)


class _ModelConnection:
    """The pymysql surface the adapters use, answered by the model."""

    def __init__(self, model: StarRocksModel) -> None:
        self.model = model
        self._result = None

    def cursor(self) -> "_ModelCursor":
        return _ModelCursor(self)

    def thread_id(self) -> int:
        return 7

    def close(self) -> None:
        return None


class _ModelCursor:
    def __init__(self, conn: _ModelConnection) -> None:
        self.conn = conn
        self.description: Any = None
        self.rowcount = -1
        self._rows: list[tuple] = []

    def close(self) -> None:
        return None

    def execute(self, sql: str, args: Any = None) -> int:
        columns, rows = self.conn.model.handle(sql, args)
        self.description = tuple((c, 253, None, None, None, None, True) for c in columns) if columns else None
        self._rows = list(rows)
        self.rowcount = len(self._rows)
        return self.rowcount

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def mogrify(self, sql: str, args: Any = None) -> str:
        from pymysql.converters import escape_item

        return sql if args is None else sql % tuple(escape_item(a, "utf8mb4") for a in args)


def model_adapter(model: StarRocksModel, settings: Any) -> Any:
    """The real StarRocks adapter over a model connection, on the model's clocks (no real sleeping)."""
    from rockway.adapters.connection import Timeouts
    from rockway.adapters.starrocks.base import StarRocksAdapter
    from rockway.config import parse_dsn

    class ModelStarRocksAdapter(StarRocksAdapter):
        def clone(self) -> "ModelStarRocksAdapter":
            twin = ModelStarRocksAdapter(model.connect(), self.dsn, self.timeouts, self.server_version)
            for attr in ("async_timeout", "poll_interval", "replication_num", "wait_for_mv", "lock_lease",
                         "_clock", "_sleep", "_utcnow"):
                setattr(twin, attr, getattr(self, attr))
            twin.database = self.database
            return twin

    adapter = ModelStarRocksAdapter(model.connect(), parse_dsn(SIM_DSN), Timeouts(), VERSION_3_1_5)
    if settings is not None:
        adapter.configure(settings)
    adapter._clock = model.clock.monotonic
    adapter._sleep = model.clock.sleep
    adapter._utcnow = model.utcnow
    return adapter


# --- generated projects ------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One generated statement: create a table, add or drop one of its columns, or drop it (undo)."""

    action: str  # create | add | drop_column | drop_table
    table: str
    column: str = ""


def apply_ops(schema: dict[str, frozenset[str]], ops: Sequence[Op]) -> dict[str, frozenset[str]]:
    """The schema after ops, as the engine would leave it."""
    out = dict(schema)
    for op in ops:
        if op.action == "create":
            out[op.table] = frozenset({"id", "v"})
        elif op.action == "add":
            out[op.table] = out[op.table] | {op.column}
        elif op.action == "drop_column":
            out[op.table] = out[op.table] - {op.column}
        elif op.action == "drop_table":
            out.pop(op.table, None)
    return out


def op_in_effect(schema: dict[str, frozenset[str]], op: Op) -> bool:
    """Did this statement take effect? — what a person checks with SHOW TABLES / DESC."""
    if op.action == "create":
        return op.table in schema
    if op.action == "add":
        return op.column in schema.get(op.table, frozenset())
    if op.action == "drop_column":
        return op.table in schema and op.column not in schema[op.table]
    return op.table not in schema


_OP_PATTERNS = ((re.compile(r"CREATE TABLE (t\d+_\d+) \("), "create"),
                (re.compile(r"ALTER TABLE (t\d+_\d+) ADD COLUMN (\w+)"), "add"),
                (re.compile(r"ALTER TABLE (t\d+_\d+) DROP COLUMN (\w+)"), "drop_column"),
                (re.compile(r"DROP TABLE (t\d+_\d+)\s*$"), "drop_table"))


def parse_op(sql: str) -> Op | None:
    """The generated statement's Op, or None for any other SQL."""
    for pattern, action in _OP_PATTERNS:
        m = pattern.match(sql.strip())
        if m:
            return Op(action, m.group(1), m.group(2) if m.lastindex and m.lastindex > 1 else "")
    return None


def op_sql(op: Op, dialect: str) -> str:
    if op.action == "create":
        if dialect == "starrocks":
            return (f"CREATE TABLE {op.table} (id INT NOT NULL, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"
                    ' PROPERTIES ("replication_num" = "1")')
        return f"CREATE TABLE {op.table} (id INT NOT NULL, v INT)"
    if op.action == "add":
        return f"ALTER TABLE {op.table} ADD COLUMN {op.column} INT"
    if op.action == "drop_column":
        return f"ALTER TABLE {op.table} DROP COLUMN {op.column}"
    return f"DROP TABLE {op.table}"


@dataclass
class VScript:
    version: int
    ops: list[Op]
    hidden: bool = False  # rendered away by {% if false %}
    undo: bool = False
    note: int = 0  # edits of an applied script that leave its statements alone bump this comment
    slug: str = ""  # the file's description part; renames change it

    @property
    def file_name(self) -> str:
        return f"V{self.version}__{self.slug or f'step_{self.version}'}.sql"

    @property
    def effective_ops(self) -> list[Op]:
        return [] if self.hidden else self.ops

    def undo_ops(self) -> list[Op]:
        created = [op.table for op in self.effective_ops if op.action == "create"]
        return [Op("drop_table", t) for t in reversed(created)]


@dataclass
class RScript:
    name: str  # the view
    source: str  # a table or another view


def v_text(script: VScript, dialect: str) -> str:
    body = "".join(f"{op_sql(op, dialect)};\n" for op in script.ops) or "SELECT 1;\n"
    if script.hidden or not script.ops:
        body = "{% if false %}\n" + body + "{% endif %}\n"
    head = f"-- version {script.version}" + (f" (edit {script.note})" if script.note else "") + "\n"
    return head + body


def u_text(script: VScript, dialect: str) -> str:
    return "".join(f"{op_sql(op, dialect)};\n" for op in script.undo_ops())


def r_text(script: RScript) -> str:
    return f"CREATE OR REPLACE VIEW {script.name} AS SELECT id FROM {script.source};\n"


class SimProject:
    """A project folder written from VScript/RScript specs; remembers which ops each checksum stands for."""

    def __init__(self, root: Path, dialect: str) -> None:
        self.root = root
        self.dialect = dialect
        self.versions: dict[int, VScript] = {}
        self.repeatables: dict[str, RScript] = {}
        self.ops_by_checksum: dict[str, list[Op]] = {}
        self.note_by_checksum: dict[str, int] = {}
        (root / "migrations").mkdir(parents=True, exist_ok=True)
        (root / "repeatable").mkdir(parents=True, exist_ok=True)

    def v_path(self, v: int) -> Path:
        return self.root / "migrations" / self.versions[v].file_name

    def write(self, script: VScript) -> None:
        old = self.versions.get(script.version)
        if old is not None and old is not script and old.file_name != script.file_name:
            self.v_path(script.version).unlink(missing_ok=True)
        self.versions[script.version] = script
        text = v_text(script, self.dialect)
        self.v_path(script.version).write_text(text, encoding="utf-8")
        checksum = hashlib.sha256(text.encode()).hexdigest()
        self.ops_by_checksum[checksum] = list(script.effective_ops)
        self.note_by_checksum[checksum] = script.note
        undo = self.root / "migrations" / f"U{script.version}__step_{script.version}.sql"
        if script.undo and script.undo_ops():
            undo.write_text(u_text(script, self.dialect), encoding="utf-8")
        elif undo.exists():
            undo.unlink()

    def rename(self, version: int, slug: str) -> None:
        """Rename a V file (its description); its text stays as it is."""
        self.v_path(version).unlink()
        self.versions[version].slug = slug
        self.write(self.versions[version])

    def revert(self, version: int, checksum: str) -> None:
        """Put back the text a version had when it was applied (edits only ever change its comment line)."""
        self.versions[version].note = self.note_by_checksum[checksum]
        self.write(self.versions[version])

    def write_repeatable(self, script: RScript) -> None:
        self.repeatables[script.name] = script
        # file names sort against the dependency order, so ordering must come from the dependencies
        (self.root / "repeatable" / f"R__{script.name[::-1]}.sql").write_text(r_text(script), encoding="utf-8")

    def has_undo(self, v: int) -> bool:
        s = self.versions.get(v)
        return bool(s and s.undo and s.undo_ops())

    def expected_schema(self, below: int | None = None) -> dict[str, frozenset[str]]:
        """Every version applied in order (only versions <= below when given)."""
        schema: dict[str, frozenset[str]] = {}
        for v in sorted(self.versions):
            if below is None or v <= below:
                schema = apply_ops(schema, self.versions[v].effective_ops)
        return schema


def tables_of(schema: dict[str, frozenset[str]], version: int) -> dict[str, frozenset[str]]:
    prefix = f"t{version}_"
    return {t: c for t, c in schema.items() if t.startswith(prefix)}


# --- following rockway's recovery messages -----------------------------------------------------

_COMMANDS = re.compile(r"`((?:rockway )?migrate [^`]+)`")
_UNKNOWN = re.compile(r"(?P<label>[VUR][0-9.]*) \((?P<desc>[^)]*)\) was interrupted while statement (?P<k>\d+) of (?P<n>\d+)")
_FAILED = re.compile(r"(?P<label>[VUR][0-9.]*) \((?P<desc>[^)]*)\) failed at statement (?P<k>\d+) of (?P<n>\d+)")


@dataclass(frozen=True)
class Recovery:
    """What rockway's message tells the user, parsed."""

    kind: str  # unknown | failed | other
    label: str = ""
    statement: int = 0
    commands: tuple[str, ...] = ()


def parse_recovery(output: str) -> Recovery:
    commands = tuple(dict.fromkeys(c.replace("rockway ", "", 1) if c.startswith("rockway ") else c
                                   for c in _COMMANDS.findall(output)))
    m = _UNKNOWN.search(output)
    if m:
        return Recovery("unknown", m.group("label"), int(m.group("k")), commands)
    m = _FAILED.search(output)
    if m:
        return Recovery("failed", m.group("label"), int(m.group("k")), commands)
    return Recovery("other", commands=commands)
