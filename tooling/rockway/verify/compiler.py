"""Check specs -> SQL: one aggregate query per (table, scope) with de-duplicated expressions (pure)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from rockway.interfaces import Severity
from rockway.errors import InputError
from rockway.templating import Renderer
from rockway.verify.spec import IDENT_RE, CheckSpec, TableSpec

MAX_EXPRESSIONS = 50  # per aggregate statement; more are split into further statements (as Soda does)
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}(\.[A-Za-z_][A-Za-z0-9_$]{0,63})?$")
_LOCATION_RE = re.compile(r"^.*?:(\d+: )?")


@dataclass(frozen=True)
class BoundCheck:
    """A check with its SQL fragments rendered for one run's variables and scope."""

    spec: CheckSpec
    table: str  # `db.table` as rendered
    where: str | None  # rendered scope filter
    scope: str  # stable scope label (metric-history key)
    expr: str | None = None
    source_sql: str | None = None
    to_table: str | None = None
    to_column: str | None = None
    to_where: str | None = None
    now: str = "NOW()"

    @property
    def key(self) -> str:
        return f"{self.spec.file}#{self.spec.name}"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def severity(self) -> Severity:
        return self.spec.severity


@dataclass(frozen=True)
class Query:
    """One statement the engine runs; `columns` are the aliases the checks read."""

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


def quote_table(name: str) -> str:
    """`db`.`table` from a validated `db.table`."""
    return ".".join(f"`{part}`" for part in name.split("."))


def quote_column(name: str) -> str:
    return f"`{name}`"


def _render(renderer: Renderer, text: str | None, check: CheckSpec, what: str) -> str | None:
    return _render_at(renderer, text, check.file, check.line, f"check {check.name!r}, {what}")


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
            values: dict[str, Any] = {"now": _render(renderer, check.now, check, "now") or "NOW()"}
            values["expr"] = _render(renderer, check.expr, check, {"metric": "expr", "predicate": "where"}.get(check.kind, "query"))
            values["source_sql"] = _render(renderer, check.source_sql, check, "equals_sql")
            if check.kind == "reference":
                target = _render(renderer, check.to, check, "to") or ""
                target_table, _, target_column = target.rpartition(".")
                if not target_table or not IDENT_RE.match(target_column):
                    raise InputError(check.file, f"check {check.name!r}: `to: {target}` must be `db.table.column`",
                                     line=check.line)
                values.update(to_table=_table_name(target_table, check, "reference table"), to_column=target_column,
                              to_where=_render(renderer, check.to_where, check, "where"))
            out.append(BoundCheck(spec=check, table=table, where=where, scope=table_spec.scope, **values))
        renderer.globals.pop("table", None)
        renderer.globals.pop("scope_where", None)
    return tuple(out)


def _expressions(check: BoundCheck) -> dict[str, str]:
    """role -> aggregate SQL expression, for the checks that are measured in the table scan.

    Counts use COUNT(col) and COUNT(CASE WHEN … THEN 1 END) rather than SUM(CASE … ELSE 0 END): the same
    result on every engine, an integer counter instead of a DECIMAL sum, and 0 (not NULL) on no rows.
    """
    spec = check.spec
    kind = spec.kind
    if kind == "row_count":
        return {"value": "COUNT(*)"}
    if kind == "freshness":
        return {"max": f"MAX({quote_column(spec.column or '')})", "now": check.now}
    if kind == "null_pct":
        return {"nonnull": f"COUNT({quote_column(spec.column or '')})", "rows": "COUNT(*)"}
    if kind == "duplicates":
        cols = [quote_column(c) for c in spec.columns]
        if len(cols) == 1:
            return {"nonnull": f"COUNT({cols[0]})", "distinct": f"COUNT(DISTINCT {cols[0]})"}
        all_set = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        return {"nonnull": f"COUNT(CASE WHEN {all_set} THEN 1 END)", "distinct": f"COUNT(DISTINCT {', '.join(cols)})"}
    if kind == "metric":
        return {"value": check.expr or ""}
    if kind == "predicate":
        return {"value": f"COUNT(CASE WHEN ({check.expr}) THEN 1 END)"}
    return {}


def _reference_key(check: BoundCheck) -> tuple[str, str, str, str]:
    return (check.spec.column or "", check.to_table or "", check.to_column or "", check.to_where or "")


class _Group:
    """De-duplicated expressions and reference joins of one (table, scope)."""

    def __init__(self, table: str, where: str | None, scope: str) -> None:
        self.table, self.where, self.scope = table, where, scope
        self.exprs: dict[str, str] = {}  # expression -> alias
        self.joins: dict[tuple[str, str, str, str], str] = {}  # reference -> join alias
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

    def join_alias(self, check: BoundCheck) -> str:
        ref = _reference_key(check)
        if ref not in self.joins:
            self.joins[ref] = f"rw_r{len(self.joins)}"
        return self.joins[ref]

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
                  joins: Sequence[tuple[tuple[str, str, str, str], str]] = ()) -> str:
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


def compile_plan(checks: Sequence[BoundCheck], *, results_db: str | None, run_id: str,
                 max_expressions: int = MAX_EXPRESSIONS) -> Plan:
    """Fold the in-scan checks of each (table, scope) into as few statements as the size limit allows."""
    groups: dict[tuple[str, str | None, bool], _Group] = {}
    inputs: dict[str, dict[str, str]] = {}  # key -> role -> alias (resolved to queries below)
    group_of: dict[str, tuple[str, str | None, bool]] = {}
    scalars: list[Query] = []
    scalar_ids: dict[str, str] = {}
    scalar_inputs: dict[str, dict[str, str]] = {}

    def scalar(check: BoundCheck, sql: str, role: str) -> None:
        qid = scalar_ids.get(sql)
        if qid is None:
            qid = scalar_ids[sql] = f"s{len(scalar_ids) + 1}"
            scalars.append(Query(id=qid, kind="scalar", table=check.table, scope=check.scope, where=check.where, sql=sql,
                                 columns=("value",), checks=(check.key,)))
        else:
            index = next(i for i, q in enumerate(scalars) if q.id == qid)
            scalars[index] = replace(scalars[index], checks=scalars[index].checks + (check.key,))
        scalar_inputs.setdefault(check.key, {})[role] = qid

    for check in checks:
        if check.kind == "sql":
            scalar(check, check.expr or "", "value")
            continue
        if check.kind == "row_count" and check.source_sql:
            scalar(check, check.source_sql, "source")
        separate = check.kind == "reference" and check.spec.separate
        gkey = (check.table, check.where, separate)
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = _Group(check.table, check.where, check.scope)
        group_of[check.key] = gkey
        if check.kind == "reference":
            join = group.join_alias(check)
            expr = (f"COUNT(CASE WHEN rw_t.{quote_column(check.spec.column or '')} IS NOT NULL AND {join}.rw_k IS NULL"
                    " THEN 1 END)")
            inputs.setdefault(check.key, {})["value"] = group.add(expr, check.key, join)
        else:
            for role, expr in _expressions(check).items():
                inputs.setdefault(check.key, {})[role] = group.add(expr, check.key)

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
    for key, roles in scalar_inputs.items():
        for role, qid in roles.items():
            resolved.setdefault(key, {})[role] = (qid, "value")
    queries.extend(scalars)

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
