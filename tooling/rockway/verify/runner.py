"""Run compiled checks through an Adapter, judge them, record results and reports (interfaces.Verifier)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from rockway.adapters.base import Adapter
from rockway.adapters.registry import engine_for_dsn
from rockway.clock import utcnow
from rockway.errors import ConfigError, RockwayError
from rockway.interfaces import Severity, VerificationOutcome
from rockway.observability import attributes, metrics, spans
from rockway.templating import Renderer
from rockway.verify.compiler import Plan, Query, bind, compile_plan, results_table
from rockway.verify.evaluate import CheckResult, error_result, evaluate
from rockway.verify.kinds import KINDS
from rockway.verify.model import IDENT_RE, BoundCheck
from rockway.verify.report import VerifyRun, write_reports
from rockway.verify.settings import VerifySettings, load_verify_settings
from rockway.verify.suite import Catalog, Entry

log = logging.getLogger("rockway.verify")
log.addHandler(logging.NullHandler())  # records reach rockway's handlers (OTel, JSON); no stray stderr lines

CHECK_RESULT_COLUMNS = ("checked_at", "check_name", "run_id", "table_name", "check_scope", "severity", "status",
                        "observed_value", "expected", "message", "trace_id")
METRIC_HISTORY_COLUMNS = ("measured_at", "metric_name", "table_name", "metric_scope", "metric_value", "run_id", "trace_id")
_LOG_LEVEL = {Severity.CRITICAL: logging.ERROR, Severity.WARNING: logging.WARNING, Severity.INFO: logging.INFO}


def _db_value(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else value


class CheckRunner:
    """interfaces.Verifier: checks referenced by file, `file#name` or name, run as one scan per table and scope."""

    def __init__(self, project_dir: Path | str = ".", variables: Mapping[str, Any] | None = None, *,
                 env_name: str | None = None, settings: VerifySettings | None = None, engine: str = "starrocks") -> None:
        self.project_dir = Path(project_dir)
        self.variables = dict(variables or {})
        self.env_name = env_name
        self.settings = settings or VerifySettings()
        self.engine = engine
        self.catalog = Catalog(self.project_dir, self.settings.checks_dirs, self.settings.history)

    @classmethod
    def from_settings(cls, settings: Any, verify_settings: VerifySettings | None = None) -> "CheckRunner":
        """Build from rockway.config.Settings (project folder, variables, environment, DSN scheme)."""
        vs = verify_settings or load_verify_settings(settings.project_dir, settings.env)
        engine = engine_for_dsn(settings.dsn)
        return cls(settings.project_dir, settings.vars, env_name=settings.env, settings=vs, engine=engine)

    # --- selection and compilation --------------------------------------------------------------
    def entries(self, refs: Sequence[str] = (), *, pipeline: str | None = None) -> list[Entry]:
        """Checks by reference, by pipeline, or every check in the check folders when neither is given."""
        if refs:
            return self.catalog.resolve(refs)
        if pipeline:
            return self.catalog.pipeline(pipeline)
        return self.catalog.everything()

    def results_db(self, renderer: Renderer | None = None) -> str | None:
        """The database of etl_check_result / etl_metric_history (default: the etl_db variable)."""
        text = self.settings.results_db
        if text is None:
            value = self.variables.get("etl_db")
            if value and not IDENT_RE.match(str(value)):
                raise ConfigError(f"variable etl_db = {value!r} is not a database name")
            return str(value) if value else None
        renderer = renderer or self._renderer({}, self.engine)
        name = renderer.render_text(text, "[verify] results_db").strip() or None
        if name is not None and not IDENT_RE.match(name):
            raise ConfigError(f"[verify] results_db = {name!r} is not a database name")
        return name

    def _renderer(self, scope: Mapping[str, Any], engine: str, database: str | None = None) -> Renderer:
        renderer = Renderer(self.project_dir, self.variables, env_name=self.env_name, engine=engine, database=database)
        renderer.globals.update({k: v for k, v in scope.items()})
        return renderer

    def bind(self, entries: Sequence[Entry], scope: Mapping[str, Any], *, tables: Sequence[str] = (),
             engine: str | None = None, database: str | None = None) -> tuple[BoundCheck, ...]:
        """Render the selected checks for scope; keep only `tables` (full or short name) when given."""
        bound = bind(entries, self._renderer(scope, engine or self.engine, database))
        if tables:
            wanted = set(tables)
            bound = tuple(b for b in bound if b.table in wanted or b.table.rsplit(".", 1)[-1] in wanted)
        return bound

    def compile(self, entries: Sequence[Entry], scope: Mapping[str, Any], *, run_id: str = "<run_id>",
                tables: Sequence[str] = (), engine: str | None = None, database: str | None = None) -> Plan:
        """The statements a run would send (for `--explain`); no database needed."""
        bound = self.bind(entries, scope, tables=tables, engine=engine, database=database)
        return compile_plan(bound, results_db=self.results_db(), run_id=run_id,
                            max_expressions=self.settings.max_expressions)

    # --- interfaces.Verifier -----------------------------------------------------------------------
    def verify(self, adapter: Adapter, *, checks: Sequence[str], scope: Mapping[str, Any], run_id: str,
               pipeline: str | None = None) -> VerificationOutcome:
        """Run the referenced checks (files, `file#name` or names) for scope; record results and reports."""
        if not checks:
            return VerificationOutcome()
        return self.run(adapter, self.entries(checks), scope, run_id, pipeline=pipeline).outcome

    # --- running ------------------------------------------------------------------------------------
    def run(self, adapter: Adapter, entries: Sequence[Entry], scope: Mapping[str, Any], run_id: str, *,
            pipeline: str | None = None, tables: Sequence[str] = (), record: bool | None = None,
            reports: bool = True) -> VerifyRun:
        """Measure, judge, record and report; statement failures become `error` results, never exceptions."""
        checked_at = utcnow().replace(microsecond=0)
        record = self.settings.record if record is None else record
        attrs: dict[str, Any] = {attributes.RUN_ID: run_id, "rockway.pipeline": pipeline}
        with spans.span("verify", **attrs) as current:
            trace_id = spans.current_trace_id()
            plan = self.compile(entries, scope, run_id=run_id, tables=tables, engine=adapter.engine,
                                database=adapter.database)
            current.set_attribute("rockway.verify.checks", len(plan.checks))
            current.set_attribute("rockway.verify.statements", len(plan.queries))
            measured, errors, timings = self._measure(adapter, plan)
            histories = self._histories(plan, measured)
            results = [self._judge(plan, check, measured, errors, histories) for check in plan.checks]
            run = VerifyRun(run_id=run_id, trace_id=trace_id, pipeline=pipeline, checked_at=checked_at,
                            engine=adapter.db_system, scope=dict(scope), plan=plan, results=tuple(results),
                            executed=tuple(q for q in measured) + tuple(errors), query_errors=errors, timings=timings)
            if record and plan.checks:
                run = self._record(adapter, run)
            if reports and plan.checks:
                run = self._report(run)
            for r in run.results:
                if r.status in ("fail", "error"):
                    log.log(_LOG_LEVEL[r.severity], "check %s on %s %s: value %s, bounds %s", r.name, r.table, r.status,
                            r.value, r.bounds, extra={"check.name": r.name, "check.severity": r.severity.value,
                                                      "check.status": r.status})
            for r in run.results:
                metrics.record_check(r.severity, r.summary().status, r.name, table=r.table or None)
                if r.kind in KINDS:  # not for the results of recording and reporting
                    KINDS[r.kind].observe(r.table, r.value)
            failed = [r for r in run.results if r.status in ("fail", "error")]
            current.set_attribute("rockway.verify.failed", len(failed))
            current.set_attribute(attributes.STATUS, "fail" if failed else "pass")
        return run

    def _measure(self, adapter: Adapter, plan: Plan) -> tuple[dict[str, Any], dict[str, str], dict[str, float]]:
        """Run every statement once; statement id -> row (or rows for history), id -> error text, id -> seconds."""
        measured: dict[str, Any] = {}
        errors: dict[str, str] = {}
        timings: dict[str, float] = {}
        for query in plan.queries:
            start = time.perf_counter()
            attrs: dict[str, Any] = {attributes.DB_COLLECTION_NAME: query.table, "rockway.verify.statement": query.id,
                                     "rockway.verify.sql_hash": query.sql_hash, "rockway.verify.checks": len(query.checks)}
            try:
                with spans.span(f"verify {query.kind} {query.table}", **attrs):
                    result = adapter.execute(query.sql, query.params or None)
                measured[query.id] = self._shape(query, result.columns, result.rows)
            except RockwayError as exc:
                errors[query.id] = exc.message
            timings[query.id] = time.perf_counter() - start
        return measured, errors, timings

    @staticmethod
    def _shape(query: Query, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
        if query.kind == "history":
            return [dict(zip(query.columns, row)) for row in rows]
        if query.kind == "scalar":
            return {"value": rows[0][0] if rows and rows[0] else None, "rows": len(rows)}
        return dict(zip(columns, rows[0])) if rows else {}

    @staticmethod
    def _histories(plan: Plan, measured: Mapping[str, Any]) -> dict[str, dict[str, list[float | None]]]:
        out: dict[str, dict[str, list[float | None]]] = {}
        for query in plan.queries:
            if query.kind == "history" and query.id in measured:
                per: dict[str, list[float | None]] = {}
                for row in measured[query.id]:  # ordered newest first per metric
                    value = row["metric_value"]
                    per.setdefault(str(row["metric_name"]), []).append(None if value is None else float(value))
                out[query.id] = per
        return out

    def _judge(self, plan: Plan, check: BoundCheck, measured: Mapping[str, Any], errors: Mapping[str, str],
               histories: Mapping[str, Mapping[str, list[float | None]]]) -> CheckResult:
        roles = plan.inputs.get(check.key, {})
        qids = list(dict.fromkeys(qid for qid, _ in roles.values()))
        if check.key in plan.history:
            qids.append(plan.history[check.key])
        hashes = [plan.query(q).sql_hash for q in qids]
        failed = [q for q in qids if q in errors]
        if failed:
            what = ", ".join(f"{q} ({plan.query(q).kind})" for q in failed)
            return error_result(check, f"statement {what} failed: {errors[failed[0]]}", queries=qids, sql_hashes=hashes)
        values: dict[str, Any] = {}
        for role, (qid, column) in roles.items():
            row = measured.get(qid, {})
            values[role] = row.get(column)
            if plan.query(qid).kind == "scalar" and not row.get("rows"):
                what = KINDS[check.kind].statement_keys.get(role, "query")
                return error_result(check, f"{what} returned no rows", queries=qids, sql_hashes=hashes)
        history = histories.get(plan.history[check.key], {}).get(check.name, []) if check.key in plan.history else None
        return evaluate(check, values, history, queries=qids, sql_hashes=hashes)

    def _record(self, adapter: Adapter, run: VerifyRun) -> VerifyRun:
        """Append etl_check_result rows (and etl_metric_history rows for measured values)."""
        db = self.results_db()
        results = [(run.checked_at, r.name[:128], run.run_id, r.table[:255], (r.where or "all")[:255], r.severity.value,
                    r.status, _db_value(r.value), r.bounds[:255], r.message[:2000], run.trace_id) for r in run.results]
        metrics = [(run.checked_at, r.name[:128], r.table[:255], r.scope[:255], _db_value(r.value), run.run_id,
                    run.trace_id) for r in run.results if r.status in ("pass", "fail", "skipped") and _db_value(r.value) is not None]
        attrs: dict[str, Any] = {attributes.RUN_ID: run.run_id}
        try:
            with spans.span("verify record", **attrs):
                adapter.executemany(_insert_sql(results_table(db, "etl_check_result"), CHECK_RESULT_COLUMNS), results)
                if metrics:
                    adapter.executemany(_insert_sql(results_table(db, "etl_metric_history"), METRIC_HISTORY_COLUMNS),
                                        metrics)
        except RockwayError as exc:
            extra = CheckResult(key="rockway#record_results", name="rockway.record_results", kind="record",
                                table=f"{db}.etl_check_result" if db else "etl_check_result", scope="all", where=None,
                                severity=Severity.CRITICAL, status="error", value=None, bounds="",
                                message=f"could not write check results: {exc.message}", file="", line=0)
            return replace(run, results=run.results + (extra,))
        return replace(run, recorded=True)

    def _report(self, run: VerifyRun) -> VerifyRun:
        folder = Path(self.settings.reports_dir)
        folder = folder if folder.is_absolute() else self.project_dir / folder
        try:
            paths = write_reports(run, folder)
        except OSError as exc:
            extra = CheckResult(key="rockway#write_reports", name="rockway.write_reports", kind="report", table="",
                                scope="all", where=None, severity=Severity.WARNING, status="error", value=None,
                                bounds="", message=f"could not write reports to {folder}: {exc}", file="", line=0)
            return replace(run, results=run.results + (extra,))
        return replace(run, reports=paths)


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"


def exit_code(outcome: VerificationOutcome, fail_on: Severity = Severity.CRITICAL) -> int:
    """1 when a check errored or a check at or above fail_on failed, else 0."""
    if any(r.status == "error" for r in outcome.results):
        return 1
    return 1 if any(r.severity.rank >= fail_on.rank for r in outcome.failed) else 0
