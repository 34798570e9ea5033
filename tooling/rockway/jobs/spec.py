"""Job specs: one YAML file per job plus its SQL templates, validated with file, line and field in every error.

    job: fact_sales                      # = the file name (jobs/fact_sales.yaml)
    kind: fact                           # staging | dimension | fact (dimensions load before facts)
    source: warehouse                    # a [jobs.sources.NAME], or `warehouse` (the target itself)
    mode: incremental                    # incremental | full
    extract: fact_sales.sql              # SELECT over {{ source(...) }} / warehouse tables, filtered by window
    transform: null                      # optional SELECT over {{ extracted }} and warehouse tables
    columns: {billing_date: DATE, ...}   # the extract's output columns and types (the job's schema)
    target: "{{ dw_db }}.fact_sales"
    load: {strategy: replace_window}     # append | replace_window | replace | upsert | scd2 (+ key, unique, ...)
    audit: {run_id: etl_run_id, loaded_at: loaded_at}
    watermark: {column: billing_date, type: date, lookback: 3d}
    chunk: day                           # backfill chunks: day | month
    depends_on: [stg_billing_item]
    retry: {attempts: 5, initial_delay: 2s, max_delay: 2m}
    checks: [fact_sales_amounts]         # passed to the Verifier after the load
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from rockway.adapters.job_ops import valid_portable_type
from rockway.durations import parse_duration
from rockway.jobs.retry import RetryPolicy
from rockway.jobs.window import WATERMARK_TYPES, parse_value
from rockway.yamlsrc import Doc, Problem, load_doc

STRATEGIES = ("append", "replace_window", "replace", "upsert", "scd2")
KINDS = ("staging", "dimension", "fact")
MODES = ("incremental", "full")
CHUNKS = ("day", "month")
PIPELINES_FILE = "pipelines.yaml"
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TOP = {"job", "description", "owner", "kind", "source", "mode", "extract", "transform", "columns", "target", "load",
        "audit", "watermark", "chunk", "depends_on", "retry", "checks", "timeout"}
_LOAD = {"strategy", "key", "columns", "unique", "tracked", "effective_from", "surrogate_key", "hash_column",
         "valid_from", "valid_to", "is_current"}
_AUDIT = {"run_id", "loaded_at", "batch"}
_WATERMARK = {"column", "type", "lookback", "upper_bound", "initial"}
_RETRY = {"attempts", "initial_delay", "max_delay"}


@dataclass(frozen=True)
class Watermark:
    column: str
    type: str
    lookback: Any = None  # timedelta (datetime/date) or int (integer)
    upper_bound: str | None = None  # SQL returning the newest value in the source (integer watermarks)
    initial: Any = None  # where the first incremental run starts when no watermark is stored


@dataclass(frozen=True)
class Load:
    strategy: str
    key: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # target columns read from the extract/transform (same names)
    unique: tuple[str, ...] = ()
    tracked: tuple[str, ...] = ()
    effective_from: str | None = None
    surrogate_key: str | None = None
    hash_column: str = "attr_hash"
    valid_from: str = "valid_from"
    valid_to: str = "valid_to"
    is_current: str = "is_current"


@dataclass(frozen=True)
class Audit:
    run_id: str | None = None
    loaded_at: str | None = None
    batch: str | None = None

    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.run_id, self.loaded_at, self.batch) if c)


@dataclass(frozen=True)
class JobSpec:
    """One validated job."""

    name: str
    path: Path
    display: str
    kind: str
    source: str
    mode: str
    extract: Path
    columns: tuple[tuple[str, str], ...]
    target: str  # template text, e.g. "{{ dw_db }}.fact_sales"
    load: Load
    audit: Audit = Audit()
    watermark: Watermark | None = None
    transform: Path | None = None
    chunk: str = "day"
    depends_on: tuple[str, ...] = ()
    retry: RetryPolicy | None = None
    checks: tuple[str, ...] = ()
    timeout: float | None = None
    description: str = ""
    doc: Doc | None = field(default=None, repr=False, compare=False)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def column_type(self, name: str) -> str:
        return dict(self.columns)[name]

    def written_columns(self) -> tuple[str, ...]:
        """Every target column the load writes (checked against the live table)."""
        ld = self.load
        if ld.strategy == "scd2":
            core = (ld.surrogate_key or "",) + ld.key + ld.tracked + (ld.hash_column, ld.valid_from, ld.valid_to,
                                                                      ld.is_current)
        else:
            core = ld.columns
        return tuple(dict.fromkeys(core + self.audit.columns()))

    def problem(self, message: str, *path: Any) -> Problem:
        if self.doc is not None:
            return self.doc.problem(message, *path)
        return Problem(self.display, None, ".".join(map(str, path)), message)


def _strings(doc: Doc, value: Any, path: tuple[Any, ...], problems: list[Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(doc.problem("must be a list of names", *path))
        return ()
    return tuple(value)


def _unknown(doc: Doc, table: Mapping[str, Any], allowed: set[str], path: tuple[Any, ...], problems: list[Problem]) -> None:
    for key in table:
        if key not in allowed:
            problems.append(doc.problem(f"unknown field (known: {', '.join(sorted(allowed))})", *path, key))


def _known_columns(doc: Doc, names: Sequence[str], declared: set[str], path: tuple[Any, ...], what: str,
                   problems: list[Problem]) -> None:
    for i, name in enumerate(names):
        if name not in declared:
            problems.append(doc.problem(f"unknown column {name!r}: not among the job's {what}", *path, i))


def parse_spec(doc: Doc, path: Path, sources: Iterable[str]) -> tuple[JobSpec | None, list[Problem]]:
    """Validate one job document against the spec schema; return the spec (None if unusable) and problems."""
    problems: list[Problem] = []
    data = doc.data
    if not isinstance(data, dict):
        return None, [doc.problem("a job spec is a YAML mapping (job:, extract:, columns:, target:, load: …)")]
    _unknown(doc, data, _TOP, (), problems)
    name = data.get("job")
    if not isinstance(name, str) or not JOB_NAME.match(name):
        problems.append(doc.problem("required: lower-case letters, digits and _ (at most 48), e.g. fact_sales", "job"))
        name = path.stem
    elif name != path.stem:
        problems.append(doc.problem(f"must match the file name ({path.stem!r})", "job"))
    kind = data.get("kind", "fact")
    if kind not in KINDS:
        problems.append(doc.problem(f"{kind!r}: use one of {', '.join(KINDS)}", "kind"))
    mode = data.get("mode", "incremental")
    if mode not in MODES:
        problems.append(doc.problem(f"{mode!r}: use one of {', '.join(MODES)}", "mode"))
    source = data.get("source")
    known_sources = set(sources) | {"warehouse"}
    if not isinstance(source, str) or source not in known_sources:
        problems.append(doc.problem(f"{source!r} is not a source; defined: {', '.join(sorted(known_sources))}"
                                    " (sources live in jobs/jobs.toml [jobs.sources.NAME])", "source"))
    files: dict[str, Path | None] = {}
    for key in ("extract", "transform"):
        value = data.get(key)
        if value is None:
            files[key] = None
            if key == "extract":
                problems.append(doc.problem("required: the SQL file of the extract query", key))
            continue
        if not isinstance(value, str) or not (path.parent / value).is_file():
            problems.append(doc.problem(f"SQL file {value!r} not found next to the spec", key))
            files[key] = None
        else:
            files[key] = path.parent / value
    columns: list[tuple[str, str]] = []
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, dict) or not raw_columns:
        problems.append(doc.problem("required: a mapping of the extract's output columns to types", "columns"))
    else:
        for col, ctype in raw_columns.items():
            if not isinstance(col, str) or not COLUMN.match(col):
                problems.append(doc.problem("not a valid column name", "columns", col))
            elif not isinstance(ctype, str) or not valid_portable_type(ctype):
                problems.append(doc.problem(f"type {ctype!r}: use VARCHAR(n), CHAR(n), DECIMAL(p,s), INT, BIGINT, "
                                            "SMALLINT, TINYINT, BOOLEAN, DATE, DATETIME, DOUBLE, FLOAT or TEXT",
                                            "columns", col))
            else:
                columns.append((col, " ".join(ctype.upper().split())))
    declared = {c for c, _ in columns}
    target = data.get("target")
    if not isinstance(target, str) or "." not in target:
        problems.append(doc.problem("required: database.table, e.g. \"{{ dw_db }}.fact_sales\"", "target"))
        target = ""
    load, audit, watermark = _load(doc, data, declared, files["transform"] is not None, problems), \
        _audit(doc, data, problems), _watermark(doc, data, declared, mode, problems)
    chunk = data.get("chunk", "day")
    if chunk not in CHUNKS:
        problems.append(doc.problem(f"{chunk!r}: use day or month", "chunk"))
    retry = _retry(doc, data.get("retry"), problems)
    timeout = None
    if data.get("timeout") is not None:
        try:
            timeout = parse_duration(data["timeout"])
        except ValueError:
            problems.append(doc.problem(f"{data['timeout']!r} is not a duration like 90s, 30m, 2h", "timeout"))
    depends = _strings(doc, data.get("depends_on"), ("depends_on",), problems)
    checks = _strings(doc, data.get("checks"), ("checks",), problems)
    if load is not None and watermark is not None:
        if load.strategy == "replace_window":
            if watermark.type != "date":
                problems.append(doc.problem("replace_window overwrites day partitions: the watermark must be a date",
                                            "watermark", "type"))
            if watermark.column not in load.columns:
                problems.append(doc.problem(f"replace_window: the watermark column {watermark.column!r} must be a "
                                            "target column (the window is deleted/overwritten on it)", "watermark", "column"))
    if load is not None and load.strategy == "replace_window" and mode == "full":
        problems.append(doc.problem("replace_window loads windows; a full job uses replace or upsert", "load", "strategy"))
    if load is not None and load.strategy == "append" and not audit.batch:
        problems.append(doc.problem("append needs audit.batch: the column that holds each load's label", "audit"))
    if problems or load is None or files["extract"] is None:
        return None, problems
    return JobSpec(name=name, path=path, display=doc.file, kind=kind, source=str(source), mode=mode,
                   extract=files["extract"], transform=files["transform"], columns=tuple(columns), target=target,
                   load=load, audit=audit, watermark=watermark, chunk=chunk, depends_on=depends, retry=retry,
                   checks=checks, timeout=timeout, description=str(data.get("description") or ""), doc=doc), problems


def _load(doc: Doc, data: dict[str, Any], declared: set[str], has_transform: bool, problems: list[Problem]) -> Load | None:
    raw = data.get("load")
    if not isinstance(raw, dict):
        problems.append(doc.problem("required: a mapping with strategy (append, replace_window, replace, upsert, scd2)",
                                    "load"))
        return None
    _unknown(doc, raw, _LOAD, ("load",), problems)
    strategy = raw.get("strategy")
    if strategy not in STRATEGIES:
        problems.append(doc.problem(f"{strategy!r}: use one of {', '.join(STRATEGIES)}", "load", "strategy"))
        return None
    names = {k: _strings(doc, raw.get(k), ("load", k), problems) for k in ("key", "columns", "unique", "tracked")}
    columns = names["columns"]
    if columns:
        if not has_transform:
            _known_columns(doc, columns, declared, ("load", "columns"), "columns", problems)
    elif has_transform and strategy != "scd2":
        problems.append(doc.problem("required with a transform: the target columns the transform returns",
                                    "load", "columns"))
    else:
        columns = tuple(sorted(declared, key=list(data.get("columns") or {}).index)) if declared else ()
    writable = set(columns)
    ld = Load(strategy=strategy, key=names["key"], columns=columns, unique=names["unique"], tracked=names["tracked"],
              effective_from=raw.get("effective_from"), surrogate_key=raw.get("surrogate_key"),
              **{k: raw[k] for k in ("hash_column", "valid_from", "valid_to", "is_current") if isinstance(raw.get(k), str)})
    if strategy in ("upsert", "scd2") and not ld.key:
        problems.append(doc.problem(f"{strategy} needs key: the column(s) identifying a row", "load", "key"))
    if strategy == "upsert":
        _known_columns(doc, ld.key, writable, ("load", "key"), "target columns", problems)
    if strategy == "append":
        _known_columns(doc, ld.unique, writable, ("load", "unique"), "target columns", problems)
    if strategy == "scd2":
        _known_columns(doc, ld.key, declared, ("load", "key"), "columns", problems)
        if not ld.tracked:
            problems.append(doc.problem("scd2 needs tracked: the attributes whose change starts a new version",
                                        "load", "tracked"))
        _known_columns(doc, ld.tracked, declared, ("load", "tracked"), "columns", problems)
        if not isinstance(ld.effective_from, str) or ld.effective_from not in declared:
            problems.append(doc.problem(f"unknown column {ld.effective_from!r}: scd2 needs effective_from, the "
                                        "column giving when a version starts", "load", "effective_from"))
        if not isinstance(ld.surrogate_key, str) or not COLUMN.match(ld.surrogate_key):
            problems.append(doc.problem("scd2 needs surrogate_key: the target column of the version key",
                                        "load", "surrogate_key"))
    elif ld.tracked or ld.effective_from or ld.surrogate_key:
        problems.append(doc.problem("tracked / effective_from / surrogate_key belong to scd2 only", "load"))
    return ld


def _audit(doc: Doc, data: dict[str, Any], problems: list[Problem]) -> Audit:
    raw = data.get("audit") or {}
    if not isinstance(raw, dict):
        problems.append(doc.problem("must be a mapping: run_id, loaded_at, batch", "audit"))
        return Audit()
    _unknown(doc, raw, _AUDIT, ("audit",), problems)
    for key, value in raw.items():
        if key in _AUDIT and (not isinstance(value, str) or not COLUMN.match(value)):
            problems.append(doc.problem("must be a target column name", "audit", key))
    return Audit(**{k: v for k, v in raw.items() if k in _AUDIT and isinstance(v, str)})


def _watermark(doc: Doc, data: dict[str, Any], declared: set[str], mode: str, problems: list[Problem]) -> Watermark | None:
    raw = data.get("watermark")
    if raw is None:
        if mode == "incremental":
            problems.append(doc.problem("missing watermark: an incremental job needs watermark: {column:, type:}",
                                        "watermark"))
        return None
    if not isinstance(raw, dict):
        problems.append(doc.problem("must be a mapping: column, type, lookback", "watermark"))
        return None
    _unknown(doc, raw, _WATERMARK, ("watermark",), problems)
    column, kind = raw.get("column"), raw.get("type", "datetime")
    if not isinstance(column, str) or not column:
        problems.append(doc.problem("missing watermark column", "watermark", "column"))
        return None
    if column not in declared:
        problems.append(doc.problem(f"unknown column {column!r}: the watermark column must be one of the job's columns",
                                    "watermark", "column"))
    if kind not in WATERMARK_TYPES:
        problems.append(doc.problem(f"{kind!r}: use datetime, date or integer", "watermark", "type"))
        return None
    lookback: Any = None
    if raw.get("lookback") is not None:
        try:
            if kind == "integer":
                lookback = int(raw["lookback"])
                if lookback < 0:
                    raise ValueError
            else:
                lookback = timedelta(seconds=parse_duration(raw["lookback"]))
                if kind == "date" and lookback.total_seconds() % 86400:
                    raise ValueError
        except (TypeError, ValueError):
            problems.append(doc.problem(f"{raw['lookback']!r}: a duration (2h, 3d; whole days for date watermarks) or, "
                                        "for integer watermarks, a count", "watermark", "lookback"))
    initial = None
    if raw.get("initial") is not None:
        try:
            initial = parse_value(kind, raw["initial"])
        except (TypeError, ValueError):
            problems.append(doc.problem(f"{raw['initial']!r} is not a {kind}", "watermark", "initial"))
    upper = raw.get("upper_bound")
    if kind == "integer" and mode == "incremental" and not isinstance(upper, str):
        problems.append(doc.problem("integer watermarks need upper_bound: a query returning the newest value",
                                    "watermark", "upper_bound"))
    return Watermark(column, kind, lookback, upper if isinstance(upper, str) else None, initial)


def _retry(doc: Doc, raw: Any, problems: list[Problem]) -> RetryPolicy | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(doc.problem("must be a mapping: attempts, initial_delay, max_delay", "retry"))
        return None
    _unknown(doc, raw, _RETRY, ("retry",), problems)
    policy = RetryPolicy()
    try:
        attempts = int(raw.get("attempts", policy.attempts))
        if attempts < 1 or isinstance(raw.get("attempts"), bool):
            raise ValueError
    except (TypeError, ValueError):
        problems.append(doc.problem("must be a whole number >= 1", "retry", "attempts"))
        return None
    delays = {}
    for key in ("initial_delay", "max_delay"):
        if key in raw:
            try:
                delays[key] = parse_duration(raw[key])
            except ValueError:
                problems.append(doc.problem(f"{raw[key]!r} is not a duration like 2s, 1m", "retry", key))
                return None
    return RetryPolicy(attempts=attempts, **delays)


def job_files(jobs_dir: Path) -> list[Path]:
    """Job spec files: every *.yaml/*.yml in the jobs folder except pipelines.yaml."""
    if not jobs_dir.is_dir():
        return []
    return sorted(p for p in jobs_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.name != PIPELINES_FILE)


def load_specs(jobs_dir: Path, sources: Iterable[str], project_dir: Path) -> tuple[dict[str, JobSpec], list[Problem]]:
    """Parse every job spec, then check names are unique and dependencies exist and form no cycle."""
    specs: dict[str, JobSpec] = {}
    problems: list[Problem] = []
    sources = list(sources)
    for path in job_files(jobs_dir):
        try:
            display = path.relative_to(project_dir).as_posix()
        except ValueError:
            display = str(path)
        spec, found = parse_spec(load_doc(path, display), path, sources)
        problems += found
        if spec is not None:
            specs[spec.name] = spec
    for spec in specs.values():
        for i, dep in enumerate(spec.depends_on):
            if dep not in specs:
                problems.append(spec.problem(f"unknown job {dep!r}", "depends_on", i))
    problems += cycle_problems(specs)
    return specs, problems


def cycle_problems(specs: Mapping[str, JobSpec]) -> list[Problem]:
    """One problem per dependency cycle, at the depends_on entry that closes it."""
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        spec = specs[name]
        for i, dep in enumerate(spec.depends_on):
            if dep not in specs:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    found.append(spec.problem("cyclic dependency: " + " -> ".join(cycle), "depends_on", i))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in sorted(specs):
        if name not in state:
            visit(name)
    return found
