"""From a job spec and a window to the exact statements that run (and `rockway job render` prints).

Template globals of a job's SQL files (besides rockway.toml's variables, `engine`, `wh`-style imports):

    {{ source('erp', 'orders') }}   the source table: `catalog`.`db`.`orders` on StarRocks (external catalog),
                                    `db`.`orders` on MySQL/MariaDB and on a source read by rockway (kind dsn)
    {{ window.where('o.updated_at') }}   `o.updated_at > '…' AND o.updated_at <= '…'` (`1 = 1` for a full load)
    {{ window.lo }} / {{ window.hi }}    the bounds as literals (NULL when open)
    {{ extracted }}                 (transform only) the extract's rows: `(SELECT …)` or the work table
    {{ job }}, {{ run_id }}
Bounds are plain literals, so StarRocks pushes them down into JDBC catalogs (README, StarRocks specifics: "Job
windows through a JDBC catalog").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rockway import sqlsplit
from rockway.adapters.job_ops import JobOps, LoadRequest, Slice, ChangeSet, Step
from rockway.config import Settings, validate_identifier
from rockway.errors import InputError
from rockway.jobs import scd
from rockway.jobs.settings import JobsSettings, Source
from rockway.jobs.spec import JobSpec
from rockway.jobs.window import Window, job_label


class WindowSql:
    """The `window` template global."""

    def __init__(self, window: Window, ops: JobOps) -> None:
        self._window = window
        self._ops = ops
        self.full = window.full
        self.lo = "NULL" if window.lo is None else ops.dialect.bound(window.lo)
        self.hi = "NULL" if window.hi is None else ops.dialect.bound(window.hi)

    def where(self, column: str) -> str:
        parts = []
        if self._window.lo is not None:
            parts.append(f"{column} > {self.lo}")
        if self._window.hi is not None:
            parts.append(f"{column} <= {self.hi}")
        return " AND ".join(parts) or "1 = 1"

    def __str__(self) -> str:
        return self._window.describe()


@dataclass(frozen=True)
class Copy:
    """Rows read by rockway from a `dsn` source into a work table before the load."""

    source: Source
    sql: str
    work_db: str
    work_table: str
    columns: tuple[tuple[str, str], ...]
    label: str

    @property
    def qualified(self) -> str:
        return f"`{self.work_db}`.`{self.work_table}`"


@dataclass(frozen=True)
class Plan:
    request: LoadRequest
    steps: tuple[Step, ...]
    copy: Copy | None = None
    copy_ddl: tuple[str, ...] = ()


def split_name(text: str, what: str) -> tuple[str, str]:
    db, _, table = text.strip().replace("`", "").partition(".")
    validate_identifier(db, f"{what} database")
    validate_identifier(table, f"{what} table")
    return db, table


class JobSql:
    """Renders one job's SQL for one engine (ops may be offline) and builds its load plans."""

    def __init__(self, spec: JobSpec, settings: Settings, jobs: JobsSettings, ops: JobOps, *, run_id: str,
                 loaded_at: datetime) -> None:
        self.spec, self.settings, self.jobs, self.ops = spec, settings, jobs, ops
        self.run_id, self.loaded_at = run_id, loaded_at
        self._renderer: Any = None
        source = jobs.source(spec.source)
        if source is None:
            raise InputError(spec.display, f"source {spec.source!r} is not defined in jobs.toml", line=spec.doc.line("source")
                             if spec.doc else None)
        self.source = source
        self.target_db, self.target_table = split_name(self.render_name(spec.target, "target"), "target")
        self.etl_db = validate_identifier(self.render_name(jobs.etl_database, "etl_database"), "etl_database")
        self.work_db = validate_identifier(self.render_name(jobs.work_database, "work_database"), "work_database")

    # --- rendering ----------------------------------------------------------------------------
    @property
    def renderer(self) -> Any:
        if self._renderer is None:
            from rockway.extensions import template_globals
            from rockway.templating import Renderer

            r = Renderer(self.settings.project_dir, self.settings.vars, env_name=self.settings.env,
                         engine=self.ops.engine, database=None)
            r.globals.update(template_globals(self.settings, self.ops.engine))
            r.globals.update(source=self._source_table, job=self.spec.name, run_id=self.run_id)
            self._renderer = r
        return self._renderer

    def render_name(self, text: str, what: str) -> str:
        return self.renderer.render_text(text, f"{self.spec.display}:{what}").strip()

    @property
    def python_path(self) -> bool:
        """True when rockway itself reads the source (a `dsn` source) into a work table."""
        return self.source.kind == "dsn"

    def _source_table(self, name: str, table: str) -> str:
        if name != self.spec.source:
            raise ValueError(f"source({name!r}, …): this job reads source {self.spec.source!r}")
        validate_identifier(table, "source table")
        src = self.source
        if src.kind == "warehouse" or src.database is None:
            raise ValueError(f"source {name!r} has no database; the warehouse's tables are named directly")
        if src.kind == "dsn":
            return f"`{src.database}`.`{table}`"
        return self.ops.external_table(src.catalog, src.database, table)

    def _render_sql(self, path: Any, **globals_: Any) -> str:
        display = self._display(path)
        self.renderer.globals.update(globals_)
        text = self.renderer.render_text(path.read_text(encoding="utf-8"), display)
        try:
            statements = sqlsplit.split(text, hash_comments=self.ops.hash_comments)
        except sqlsplit.SplitError as exc:
            raise InputError(display, exc.message, line=exc.line) from None
        if len(statements) != 1:
            raise InputError(display, f"must hold exactly one SELECT, found {len(statements)} statements")
        return statements[0].sql.strip()

    def _display(self, path: Any) -> str:
        try:
            return path.relative_to(self.settings.project_dir).as_posix()
        except ValueError:
            return str(path)

    def extract_sql(self, window: Window) -> str:
        return self._render_sql(self.spec.extract, window=WindowSql(window, self.ops))

    def relation(self, window: Window, copy: Copy | None) -> str:
        """What the load reads: the work table, the extract as a subquery, or the transform over either."""
        extracted = copy.qualified if copy is not None else f"(\n{self.extract_sql(window)}\n)"
        if self.spec.transform is None:
            return extracted
        return "(\n" + self._render_sql(self.spec.transform, window=WindowSql(window, self.ops),
                                        extracted=extracted) + "\n)"

    # --- plans --------------------------------------------------------------------------------
    def audit(self, label: str) -> tuple[tuple[str, str], ...]:
        a, d = self.spec.audit, self.ops.dialect
        out = []
        if a.run_id:
            out.append((a.run_id, d.string(self.run_id)))
        if a.loaded_at:
            out.append((a.loaded_at, d.datetime(self.loaded_at.replace(microsecond=0))))
        if a.batch:
            out.append((a.batch, d.string(label)))
        return tuple(out)

    def work_name(self, suffix: str) -> str:
        return f"rw_{self.spec.name}_{suffix}"[:64]

    def plan(self, window: Window, *, attempt: int = 1) -> Plan:
        spec, d = self.spec, self.ops.dialect
        label = job_label(spec.name, window)
        tag = f"{self.run_id.replace('-', '')[:8]}_a{attempt}"
        copy = None
        if self.python_path:
            copy = Copy(self.source, self.extract_sql(window), self.work_db, self.work_name("src"), spec.columns,
                        f"{label}_src_{tag}")
        target = f"`{self.target_db}`.`{self.target_table}`"
        audit = self.audit(label)
        ld = spec.load
        change = None
        key: tuple[str, ...]
        slices: tuple[Slice, ...]
        if ld.strategy == "scd2":
            change = ChangeSet(self.work_db, self.work_name("chg"),
                               tuple((c, spec.column_type(c)) for c in (*ld.key, *ld.tracked))
                               + (("rw_effective_from", "DATETIME"), ("rw_hash", "VARCHAR(64)")),
                               ld.key, "")
            change_q = f"`{change.database}`.`{change.table}`"
            names: dict[str, Any] = dict(key=ld.key, tracked=ld.tracked, hash_column=ld.hash_column, valid_from=ld.valid_from,
                         is_current=ld.is_current)
            change = replace(change, select=scd.scd2_change_select(d, self.relation(window, copy), target,
                                                                   effective_from=ld.effective_from or "", **names))
            more: dict[str, Any] = dict(surrogate_key=ld.surrogate_key or "", valid_to=ld.valid_to, audit=audit)
            columns = scd.scd2_columns(ld.key, ld.tracked, hash_column=ld.hash_column, valid_from=ld.valid_from,
                                       is_current=ld.is_current, **more)
            slices = (Slice(scd.scd2_apply_select(d, change_q, target, **names, **more)),)
            key = (ld.surrogate_key or "",)
        else:
            columns = tuple(ld.columns) + tuple(c for c, _ in audit)
            key = ld.key
            slices = self._slices(window, copy, audit, target)
        request = LoadRequest(job=spec.name, strategy=ld.strategy, target_db=self.target_db,
                              target_table=self.target_table, columns=columns, slices=slices,
                              window_column=spec.watermark.column if spec.watermark else None, key=key,
                              batch_column=spec.audit.batch, label=label, attempt_tag=tag, change=change)
        copy_ddl = tuple(self.ops.work_table_sql(copy.qualified, copy.columns)) if copy else ()
        return Plan(request, tuple(self.ops.plan_load(request)), copy, copy_ddl)

    def _slices(self, window: Window, copy: Copy | None, audit: tuple[tuple[str, str], ...],
                target: str) -> tuple[Slice, ...]:
        spec, d = self.spec, self.ops.dialect
        ld = spec.load
        if ld.strategy == "upsert":
            order = spec.watermark.column if spec.watermark else None
            return (Slice(scd.latest_select(ld.columns, self.relation(window, copy), ld.key, order, audit=audit)),)
        if ld.strategy == "append":
            return (Slice(scd.copy_select(ld.columns, self.relation(window, copy), audit=audit, unique=ld.unique,
                                          target=target)),)
        if ld.strategy == "replace":
            return (Slice(scd.copy_select(ld.columns, self.relation(window, copy), audit=audit)),)
        # replace_window: guard rows to the window so nothing outside what was removed gets inserted
        assert spec.watermark is not None and not window.full
        col = f"x.`{spec.watermark.column}`"
        if not self.ops.overwrite_per_day:
            ws = WindowSql(window, self.ops)
            return (Slice(scd.copy_select(ld.columns, self.relation(window, copy), audit=audit, where=ws.where(col)),
                          lo=ws.lo if window.lo is not None else None, hi=ws.hi if window.hi is not None else None),)
        out = []
        for day in window.days():
            sub = Window("date", day.fromordinal(day.toordinal() - 1), day)
            literal = d.bound(day)
            out.append(Slice(scd.copy_select(ld.columns, self.relation(sub, copy), audit=audit, where=f"{col} = {literal}"),
                             lo=d.bound(sub.lo), hi=literal, day=literal, tag=f"d{day:%Y%m%d}"))
        return tuple(out)

    def session_sql(self) -> list[str]:
        return self.ops.session_sql(self.spec.timeout or self.jobs.statement_timeout)

    def render(self, window: Window) -> str:
        """The plan as text: every statement ends with `;`, in the order it runs."""
        plan = self.plan(window)
        req = plan.request
        lines = [f"-- job {self.spec.name}: {req.strategy} into {req.target}, window {window.describe()}, "
                 f"engine {self.ops.engine}", f"-- label {req.label}", "-- session"]
        lines += [s + ";" for s in self.session_sql()]
        if plan.copy is not None:
            c = plan.copy
            lines.append(f"-- copy: rockway reads source {c.source.name} ({c.source.describe()}) in batches of "
                         f"{c.source.batch_size} into {c.qualified}")
            lines += [s + ";" for s in plan.copy_ddl]
            lines.append(f"-- on source {c.source.name}:")
            lines.append(c.sql + ";")
            lines.append(self.ops.copy_note(c.label, c.source.batch_size))
            lines.append(self.ops.copy_sql(c.qualified, [n for n, _ in c.columns]) + ";")
        lines.append("-- load")
        for step in plan.steps:
            if step.note:
                lines.append(f"-- {step.note}")
            if step.ledger:
                lines.append(f"-- label ledger: skipped when information_schema.loads says {step.label} is FINISHED")
            lines.append(step.sql + ";")
        return "\n".join(lines) + "\n"
