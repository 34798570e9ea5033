"""Checks of job specs beyond their YAML schema: the rendered extract's columns, and the live target tables."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from rockway.adapters.base import Adapter
from rockway.adapters.job_ops import JobOps
from rockway.errors import InputError, RockwayError
from rockway.jobs.spec import JobSpec
from rockway.jobs.pipeline_spec import PipelineSpec
from rockway.jobs.sqlgen import JobSql, split_name
from rockway.jobs.window import Window
from rockway.yamlsrc import Problem

log = logging.getLogger("rockway.jobs")


def sample_window(spec: JobSpec) -> Window:
    """A window to render templates with when checking them (values do not matter)."""
    if spec.watermark is None or spec.mode == "full":
        return Window("full")
    from datetime import date, datetime

    samples = {"datetime": (datetime(2000, 1, 1), datetime(2000, 1, 2)), "date": (date(2000, 1, 1), date(2000, 1, 2)),
               "integer": (0, 1)}
    lo, hi = samples[spec.watermark.type]
    return Window(spec.watermark.type, lo, hi)


def output_columns(sql: str, dialect: str) -> list[str] | None:
    """The output names of a SELECT (sqlglot), or None when it cannot tell (parse failure, `*`)."""
    try:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read=dialect)
    except Exception:  # noqa: BLE001 - an unparsed extract is checked by the server instead
        return None
    while isinstance(tree, exp.SetOperation):
        tree = tree.left
    if not isinstance(tree, exp.Select):
        return None
    names = []
    for item in tree.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            return None
        name = item.alias_or_name
        if not name:
            return None
        names.append(name)
    return names


def render_problems(spec: JobSpec, job_sql: JobSql) -> list[Problem]:
    """Render the extract/transform once; compare the extract's output with the declared columns."""
    problems: list[Problem] = []
    try:
        text = job_sql.extract_sql(sample_window(spec))
        job_sql.relation(sample_window(spec), None)
    except RockwayError as exc:
        return [spec.problem(exc.message, "extract")]
    names = output_columns(text, job_sql.ops.sqlglot_dialect)
    if names is None:
        return problems
    declared = spec.column_names
    for name in names:
        if name not in declared:
            problems.append(spec.problem(f"unknown column {name!r}: the extract returns it, `columns` does not declare it",
                                         "columns"))
    for name in declared:
        if name not in names:
            problems.append(spec.problem(f"column {name!r} is declared but the extract does not return it", "columns", name))
    if not problems and list(names) != list(declared):
        problems.append(spec.problem("the extract returns the declared columns in another order: "
                                     + ", ".join(names), "columns"))
    return problems


def live_problems(specs: Mapping[str, JobSpec], sqls: Mapping[str, JobSql], adapter: Adapter, ops: JobOps,
                  etl_db: str) -> list[Problem]:
    """Against the connected server: targets exist and have every column the load writes."""
    problems: list[Problem] = []
    for table in ("etl_watermark", "etl_job_run"):
        if not adapter.table_exists(table, etl_db):
            problems.append(Problem("migrations", None, "", f"{etl_db}.{table} does not exist; run `rockway migrate up`"))
    for name, spec in specs.items():
        db, table = split_name(f"{sqls[name].target_db}.{sqls[name].target_table}", "target")
        columns = adapter.table_columns(table, db)
        if not columns:
            problems.append(spec.problem(f"table {db}.{table} does not exist on the server", "target"))
            continue
        have = set(columns)
        written = spec.written_columns()
        for col in written:
            if col.lower() not in have:
                field = _field_of(spec, col)
                problems.append(spec.problem(f"unknown column {col!r}: {db}.{table} has no such column (live)", *field))
        if spec.load.strategy in ("upsert", "scd2"):
            missing = [c for c in columns if c not in {w.lower() for w in written}]
            if missing:
                problems.append(spec.problem(f"a {spec.load.strategy} writes whole rows, but these columns of {db}.{table}"
                                             f" are not written: {', '.join(missing)}", "load"))
    return problems


def _field_of(spec: JobSpec, column: str) -> tuple[Any, ...]:
    ld, audit = spec.load, spec.audit
    for key in ("run_id", "loaded_at", "batch"):
        if getattr(audit, key) == column:
            return ("audit", key)
    if column in ld.columns and spec.doc is not None and ("load", "columns") in spec.doc.lines:
        return ("load", "columns", ld.columns.index(column))
    if column in spec.column_names:
        return ("columns", column)
    for key in ("surrogate_key", "hash_column", "valid_from", "valid_to", "is_current"):
        if getattr(ld, key) == column:
            return ("load", key)
    return ("load",)


def problem_of(exc: RockwayError, file: str, line: int | None = None, field: str = "", *,
               own_place: bool = True) -> Problem:
    """An error as a Problem: an InputError keeps its own file and line (unless own_place is False: the text
    came from file:line, e.g. a name in pipelines.yaml), anything else is placed at file:line."""
    hint = f" ({exc.hint})" if exc.hint else ""
    if isinstance(exc, InputError):
        location = f"{exc.path}:{exc.line}" if exc.line else exc.path
        message = exc.message[len(location) + 2:] if exc.message.startswith(location + ": ") else exc.message
        if own_place:
            return Problem(exc.path, exc.line, "", message + hint)
        return Problem(file, line, field, message + hint)
    return Problem(file, line, field, exc.message + hint)


def pipeline_problems(pipelines: Mapping[str, PipelineSpec], jobs_dir: Any, display: str,
                      render: Callable[[str, str], str]) -> list[Problem]:
    """Render what the refresh and sql steps will send (the names, the SQL files), as a run would."""
    problems: list[Problem] = []
    for pipeline in pipelines.values():
        for i, step in enumerate(pipeline.steps):
            where = f"pipelines.{pipeline.name}.steps[{i}].{step.kind}"
            try:
                if step.kind == "sql":
                    render((jobs_dir / step.args).read_text(encoding="utf-8"), f"{jobs_dir.name}/{step.args}")
                elif step.kind == "refresh":
                    for name in step.args:
                        split_name(render(name, "refresh").replace("`", ""), "refresh")
            except RockwayError as exc:
                problems.append(problem_of(exc, display, step.line, where, own_place=step.kind == "sql"))
            except OSError as exc:
                problems.append(Problem(display, step.line, where, f"cannot read {step.args}: {exc}"))
    return problems
