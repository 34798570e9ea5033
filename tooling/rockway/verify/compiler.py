"""Check specs -> SQL: one aggregate query per (table, scope) with de-duplicated expressions (pure)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from rockway.errors import InputError
from rockway.templating import Renderer
from rockway.verify.kinds import KINDS
from rockway.verify.kinds.base import Reference, quote_column, quote_table
from rockway.verify.model import BoundCheck, CheckSpec, TableSpec

MAX_EXPRESSIONS = 50  # per aggregate statement; more are split into further statements (as Soda does)
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}(\.[A-Za-z_][A-Za-z0-9_$]{0,63})?$")
_LOCATION_RE = re.compile(r"^.*?:(\d+: )?")


@dataclass(frozen=True)
class Query:
    """One statement the runner sends; `columns` are the aliases the checks read."""

    id: str
    kind: str  # aggregate | reference | scalar | history
    table: str
    scope: str
    where: str | None
    sql: str
    columns: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()  # keys of the checks served
    params: tuple[Any, ...] = ()

    @property
    def sql_hash(self) -> str:
        """sha256 of the statement text (the audit trail's link from a result to its SQL)."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Plan:
    """The compiled statements and, per check, where each of its inputs comes from."""

    checks: tuple[BoundCheck, ...]
    queries: tuple[Query, ...]
    inputs: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)  # key -> role -> (query, col)
    history: Mapping[str, str] = field(default_factory=dict)  # check key -> history query id

    def query(self, query_id: str) -> Query:
        return next(q for q in self.queries if q.id == query_id)


def _render_at(renderer: Renderer, text: str | None, file: str, line: int, what: str) -> str | None:
    if text is None:
        return None
    try:
        return renderer.render_text(text, file).strip()
    except InputError as exc:
        message = _LOCATION_RE.sub("", exc.message, count=1) if exc.message.startswith(file) else exc.message
        raise InputError(file, f"{what}: {message}", line=line, hint=exc.hint) from None


def _table_name(text: str, spec: TableSpec | CheckSpec, what: str) -> str:
    if not _TABLE_RE.match(text):
        raise InputError(spec.file, f"{what} {text!r} is not a table name (`db.table` or `table` after rendering)",
                         line=spec.line)
    return text


class _CheckBinder:
    """kinds.base.Binder for one check: errors name the check, its line and the key."""

    def __init__(self, renderer: Renderer, check: CheckSpec) -> None:
        self.renderer, self.check = renderer, check

    def text(self, text: str | None, what: str) -> str | None:
        return _render_at(self.renderer, text, self.check.file, self.check.line, f"check {self.check.name!r}, {what}")

    def table(self, text: str, what: str) -> str:
        return _table_name(text, self.check, what)


def bind(entries: Sequence[tuple[TableSpec, Sequence[CheckSpec]]], renderer: Renderer) -> tuple[BoundCheck, ...]:
    """Render every SQL fragment of the selected checks (variables and scope are the renderer's globals)."""
    out: list[BoundCheck] = []
    for table_spec, checks in entries:
        if not checks:
            continue
        entry = f"table {table_spec.table!r}"
        table = _table_name(_render_at(renderer, table_spec.table, table_spec.file, table_spec.line, entry) or "",
                            table_spec, "table")
        where = _render_at(renderer, table_spec.where, table_spec.file, table_spec.where_line, f"{entry}, where")
        renderer.globals.update(table=table, scope_where=where or "1 = 1")
        for check in checks:
            kind = KINDS[check.kind]
            binder = _CheckBinder(renderer, check)
            values: dict[str, Any] = {"now": binder.text(check.now, "now") or "NOW()"}
            values["expr"] = binder.text(check.expr, kind.expr_key)
            values["source_sql"] = binder.text(check.source_sql, "equals_sql")
            values.update(kind.bind(check, binder))
            out.append(BoundCheck(spec=check, table=table, where=where, scope=table_spec.scope, **values))
        renderer.globals.pop("table", None)
        renderer.globals.pop("scope_where", None)
    return tuple(out)


class _Group:
    """De-duplicated expressions and reference joins of one (table, scope)."""

    def __init__(self, table: str, where: str | None, scope: str) -> None:
        self.table, self.where, self.scope = table, where, scope
        self.exprs: dict[str, str] = {}  # expression -> alias
        self.joins: dict[Reference, str] = {}  # reference -> join alias
        self.expr_joins: dict[str, str] = {}  # alias -> join alias it needs
        self.users: dict[str, list[str]] = {}  # alias -> check keys

    def add(self, expr: str, key: str, join: str | None = None) -> str:
        alias = self.exprs.get(expr)
        if alias is None:
            alias = self.exprs[expr] = f"m{len(self.exprs)}"
            if join:
                self.expr_joins[alias] = join
        self.users.setdefault(alias, [])
        if key not in self.users[alias]:
            self.users[alias].append(key)
        return alias

    def join_alias(self, reference: Reference) -> str:
        if reference not in self.joins:
            self.joins[reference] = f"rw_r{len(self.joins)}"
        return self.joins[reference]

    def statements(self, limit: int) -> list[tuple[str, list[str], list[str]]]:
        """(sql, aliases, check keys) per statement, splitting past `limit` expressions."""
        items = list(self.exprs.items())
        out = []
        for start in range(0, len(items), limit):
            chunk = items[start:start + limit]
            needed = {self.expr_joins[a] for _, a in chunk if a in self.expr_joins}
            joins = [(ref, alias) for ref, alias in self.joins.items() if alias in needed]
            keys: list[str] = []
            for _, alias in chunk:
                keys += [k for k in self.users[alias] if k not in keys]
            out.append((aggregate_sql(self.table, self.where, chunk, joins), [a for _, a in chunk], keys))
        return out


def aggregate_sql(table: str, where: str | None, exprs: Sequence[tuple[str, str]],
                  joins: Sequence[tuple[Reference, str]] = ()) -> str:
    """SELECT expr AS alias, … FROM table [LEFT JOIN distinct reference keys …] [WHERE scope]."""
    select = ",\n  ".join(f"{expr} AS {alias}" for expr, alias in exprs)
    lines = [f"SELECT\n  {select}", f"FROM {quote_table(table)} AS rw_t"]
    for (column, to_table, to_column, to_where), alias in joins:
        filt = f" WHERE {to_where}" if to_where else ""
        lines.append(f"LEFT JOIN (SELECT DISTINCT {quote_column(to_column)} AS rw_k FROM {quote_table(to_table)}{filt}) AS {alias}"
                     f" ON rw_t.{quote_column(column)} = {alias}.rw_k")
    if where:
        lines.append(f"WHERE {where}")
    return "\n".join(lines)


class _Fold:
    """The statements of one plan as they are asked for: scans per (table, scope, separate), own statements."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str | None, bool], _Group] = {}
        self.inputs: dict[str, dict[str, str]] = {}  # key -> role -> alias (resolved to queries by compile_plan)
        self.group_of: dict[str, tuple[str, str | None, bool]] = {}
        self.scalars: list[Query] = []
        self.scalar_ids: dict[str, str] = {}
        self.scalar_inputs: dict[str, dict[str, str]] = {}

    def group(self, check: BoundCheck, separate: bool) -> _Group:
        gkey = (check.table, check.where, separate)
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = _Group(check.table, check.where, check.scope)
        self.group_of[check.key] = gkey
        return group

    def scalar(self, check: BoundCheck, role: str, sql: str) -> None:
        qid = self.scalar_ids.get(sql)
        if qid is None:
            qid = self.scalar_ids[sql] = f"s{len(self.scalar_ids) + 1}"
            self.scalars.append(Query(id=qid, kind="scalar", table=check.table, scope=check.scope, where=check.where,
                                      sql=sql, columns=("value",), checks=(check.key,)))
        else:
            index = next(i for i, q in enumerate(self.scalars) if q.id == qid)
            self.scalars[index] = replace(self.scalars[index], checks=self.scalars[index].checks + (check.key,))
        self.scalar_inputs.setdefault(check.key, {})[role] = qid


class _CheckMeasures:
    """kinds.base.Measures of one check, folded into the plan's statements."""

    def __init__(self, fold: _Fold, check: BoundCheck) -> None:
        self.fold, self.check = fold, check

    def aggregate(self, role: str, expr: str, *, join: str | None = None, separate: bool = False) -> None:
        key = self.check.key
        self.fold.inputs.setdefault(key, {})[role] = self.fold.group(self.check, separate).add(expr, key, join)

    def join(self, reference: Reference, *, separate: bool = False) -> str:
        return self.fold.group(self.check, separate).join_alias(reference)

    def statement(self, role: str, sql: str) -> None:
        self.fold.scalar(self.check, role, sql)


def compile_plan(checks: Sequence[BoundCheck], *, results_db: str | None, run_id: str,
                 max_expressions: int = MAX_EXPRESSIONS) -> Plan:
    """Fold the in-scan checks of each (table, scope) into as few statements as the size limit allows."""
    fold = _Fold()
    for check in checks:
        KINDS[check.kind].compile(check, _CheckMeasures(fold, check))
    groups, inputs, group_of = fold.groups, fold.inputs, fold.group_of

    queries: list[Query] = []
    resolved: dict[str, dict[str, tuple[str, str]]] = {}
    for gkey, group in groups.items():
        for sql, aliases, keys in group.statements(max(1, max_expressions)):
            qid = f"q{len(queries) + 1}"
            queries.append(Query(id=qid, kind="reference" if gkey[2] else "aggregate", table=group.table,
                                 scope=group.scope, where=group.where, sql=sql, columns=tuple(aliases), checks=tuple(keys)))
            for key in keys:
                for role, alias in inputs.get(key, {}).items():
                    if alias in aliases and group_of.get(key) == gkey:
                        resolved.setdefault(key, {})[role] = (qid, alias)
    for key, roles in fold.scalar_inputs.items():
        for role, qid in roles.items():
            resolved.setdefault(key, {})[role] = (qid, "value")
    queries.extend(fold.scalars)

    history: dict[str, str] = {}
    anomaly_groups: dict[tuple[str, str], list[BoundCheck]] = {}
    for check in checks:
        if any(level.anomaly is not None for level in check.spec.levels):
            anomaly_groups.setdefault((check.table, check.scope), []).append(check)
    for (table, scope), members in anomaly_groups.items():
        qid = f"h{len(history) + 1}"
        window = max(level.anomaly.window for c in members for level in c.spec.levels if level.anomaly is not None)
        sql, params = history_sql(results_db, table, scope, [c.name for c in members], window, run_id)
        queries.append(Query(id=qid, kind="history", table=table, scope=scope, where=None, sql=sql, params=params,
                             columns=("metric_name", "metric_value", "measured_at", "run_id"),
                             checks=tuple(c.key for c in members)))
        for c in members:
            history[c.key] = qid
    return Plan(checks=tuple(checks), queries=tuple(queries), inputs=resolved, history=history)


def results_table(results_db: str | None, table: str) -> str:
    return f"`{results_db}`.`{table}`" if results_db else f"`{table}`"


def history_sql(results_db: str | None, table: str, scope: str, names: Sequence[str], window: int,
                run_id: str) -> tuple[str, tuple[Any, ...]]:
    """One statement reading the newest `window` unflagged points of every named metric of (table, scope).

    A point is flagged when the check of the same name failed in the run that measured it; flagged points
    never enter a baseline, so a bad load does not become normal after a re-run.
    """
    marks = ", ".join(["%s"] * len(names))
    sql = (
        "SELECT metric_name, metric_value, measured_at, run_id FROM (\n"
        "  SELECT h.metric_name, h.metric_value, h.measured_at, h.run_id,\n"
        "         ROW_NUMBER() OVER (PARTITION BY h.metric_name ORDER BY h.measured_at DESC) AS rw_n\n"
        f"  FROM {results_table(results_db, 'etl_metric_history')} AS h\n"
        "  LEFT JOIN (SELECT DISTINCT run_id, check_name\n"
        f"             FROM {results_table(results_db, 'etl_check_result')}\n"
        f"             WHERE table_name = %s AND status = 'fail' AND check_name IN ({marks})) AS f\n"
        "    ON f.run_id = h.run_id AND f.check_name = h.metric_name\n"
        f"  WHERE h.table_name = %s AND h.metric_scope = %s AND h.metric_name IN ({marks})\n"
        "    AND h.metric_value IS NOT NULL AND h.run_id <> %s AND f.run_id IS NULL\n"
        ") AS rw_h\n"
        "WHERE rw_n <= %s\n"
        "ORDER BY metric_name, measured_at DESC"
    )
    params = (table, *names, table, scope, *names, run_id, window)
    return sql, tuple(params)


def inline_params(sql: str, params: Sequence[Any]) -> str:
    """sql with %s placeholders replaced by quoted literals, for display only (never executed)."""
    if not params:
        return sql
    parts = sql.split("%s")
    out = [parts[0]]
    for part, value in zip(parts[1:], params):
        literal = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else \
            "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"
        out += [literal, part]
    return "".join(out)
