"""`rockway rehearse` as one function: migrate, undo round trip, probes, clean-up; returns a Rehearsal.

From empty (default), everything lives under a unique prefix (naming.py) and is dropped at the end (also
after a failure or Ctrl-C) unless `keep`:

  1. `migrate up --target` one version at a time, a schema snapshot after each, then the R scripts (one case
     per script, with its duration and the async jobs waited for); with `schema_dir`, the schema then against
     the project's schema files (`rockway schema diff` with the prefixed names read as the project's own);
  2. the undo round trip: `migrate rollback` one version at a time down to zero, each U script restoring the
     schema its V script found; `migrate up` again, and the same schema as after the first up (snapshot.py;
     a difference names the U script);
  3. the probes of probes.py: validate, lint, MVs, checks, jobs' SQL for a zero-row window.

With `pending`, the server's own databases are used: only the pending scripts are applied (as the release
will), there is no round trip and nothing is dropped; the schema diff is what the release changed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from rockway.adapters import connect
from rockway.config import Settings, validate_identifier
from rockway.observability.redaction import redact_dsn
from rockway.errors import ConfigError, DatabaseUnavailable, Interrupted, RockwayError
from rockway.migrate.api import migrate
from rockway.migrate.project import Project, open_session
from rockway.model import Kind, Version
from rockway.observability.redaction import redact_secrets
from rockway.rehearse import model, probes, snapshot
from rockway.rehearse.model import Applied, Case, Rehearsal
from rockway.rehearse.naming import ROLE_PREFIX_VAR, Names, new_prefix, prefixed_settings, server_settings
from rockway.schema.api import diff
from rockway.schema.scope import schema_scope

Progress = Callable[[str], None]
_CREATE_ROLE = re.compile(r"^\s*CREATE\s+ROLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[`'\"]?([\w$]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Options:
    pending: bool = False
    keep: bool = False
    prefix: str | None = None  # default: a new `rh_<8 hex>_`
    schema_dir: Path | None = None  # the project's schema files (`rockway schema dump`), compared after the first up


def _text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, "hint", None)
    return redact_secrets(message + (f"\n{hint}" if hint else ""))


class _Recorder:
    """Collects the executor's events of one `migrate up`/`rollback`: the scripts done, the one running."""

    def __init__(self, phase: str, progress: Progress) -> None:
        self.phase, self.progress = phase, progress
        self.current: Any = None
        self.done: list[tuple[Any, float, int]] = []

    def __call__(self, event: Any) -> None:
        if event.kind == "migration":
            self.current = event.script
            self.progress(f"{self.phase}: {event.script.display}")
        elif event.kind == "migration_done":
            self.done.append((event.script, event.seconds, event.total))
            self.current = None


def _migrate(settings: Settings, result: Rehearsal, phase: str, progress: Progress, *, rollback: bool = False,
             cases: bool = False, target: str | None = None) -> str | None:
    """Run `migrate up` (or roll back the newest version); record what ran. The failure text, or None."""
    recorder = _Recorder(phase, progress)
    failure: str | None = None
    async_jobs: dict[str, tuple[str, ...]] = {}
    try:
        kwargs: dict[str, Any] = {"rollback": True, "rollback_steps": 1} if rollback else {"target": target}
        outcome = migrate(settings, on_event=recorder, **kwargs)
        if outcome.report:
            async_jobs = {a.script.name: tuple(a.async_jobs) for a in outcome.report.applied}
        for note in outcome.plan.notes:
            if target is None:  # `--target` runs leave the R scripts for the last run, and say so
                result.notes.append(f"{phase}: {note}")
    except (DatabaseUnavailable, Interrupted):
        raise
    except RockwayError as exc:
        failure = _text(exc)
    for script, seconds, total in recorder.done:
        result.applied.append(Applied(phase, script.name, seconds, total, async_jobs.get(script.name, ())))
        if cases:
            result.add(Case(model.MIGRATIONS, script.name, seconds=seconds))
    if failure is not None:
        where = recorder.current.name if recorder.current is not None else phase
        if cases:
            result.add(Case(model.MIGRATIONS, where, failure=failure.splitlines()[0], detail=failure))
        return f"{where}: {failure}" if recorder.current is not None else failure
    return None


def _snapshot(settings: Settings) -> snapshot.Snapshot:
    with open_session(settings) as session:
        return snapshot.take(session.adapter, settings, session.project)


def _project(settings: Settings) -> Project:
    with open_session(settings) as session:
        session.project.use_scripts(session.project.scripts)
        return session.project


def rehearse(settings: Settings, options: Options = Options(), *, progress: Progress = lambda _: None) -> Rehearsal:
    """Rehearse the release on the server of settings; see the module docstring."""
    start = time.perf_counter()
    Project(settings).scripts  # a missing migrations folder is bad input (exit 2) before anything is created
    if options.schema_dir is not None and not Path(options.schema_dir).is_dir():
        raise ConfigError(f"--schema-dir {options.schema_dir}: no such folder",
                          hint="Write the schema files with `rockway schema dump --out DIR` and commit them.")
    if options.pending:
        result = Rehearsal("pending", server=redact_dsn(settings.dsn or ""))
        try:
            _pending(settings, result, progress, options.schema_dir)
        finally:
            result.seconds = time.perf_counter() - start
        return result
    prefix = options.prefix or new_prefix()
    validate_identifier(prefix.rstrip("_") or "x", "rehearsal prefix")
    rehearsed, names = prefixed_settings(settings, prefix)
    # the round trip makes MVs inactive on purpose (a U script drops their base); the probes judge MVs at the end
    rehearsed = replace(rehearsed, mv_health="warn")
    result = Rehearsal("from-empty", server=redact_dsn(rehearsed.dsn or ""), prefix=prefix, kept=options.keep)
    progress(f"every database and role of this rehearsal is named {prefix}*")
    try:
        _from_empty(rehearsed, names, result, progress, options.schema_dir)
    finally:
        if not options.keep:
            progress(f"dropping everything named {prefix}*")
            result.dropped, problem = drop_prefixed(rehearsed, names)
            if problem:
                result.notes.append(problem)
        result.seconds = time.perf_counter() - start
    return result


def _from_empty(settings: Settings, names: Names, result: Rehearsal, progress: Progress,
                schema_dir: Path | None = None) -> None:
    """First up one version at a time (a snapshot after each), then the R scripts; the schema files (schema_dir);
    the round trip; the probes."""
    with open_session(settings) as session:
        result.engine = session.adapter.engine
    project = _project(settings)
    versions = sorted({s.version for s in project.scripts if s.kind is Kind.VERSIONED and s.version is not None})
    before = {0: _snapshot(settings)}  # index in `versions` (0: nothing applied) -> the schema then
    for index, version in enumerate(versions, start=1):
        if _migrate(settings, result, "first up", progress, cases=True, target=str(version)) is not None:
            return
        before[index] = _snapshot(settings)
    if _migrate(settings, result, "first up", progress, cases=True) is not None:  # the R scripts
        return
    _note_unprefixed(settings, names, result)
    if schema_dir is not None:
        _schema_files(settings, Path(schema_dir), schema_aliases(settings, names, result.engine), result, progress)
    if _round_trip(settings, project, versions, before, result, progress):
        _probes(settings, result, names.databases, progress, writes=True)


def schema_aliases(settings: Settings, names: Names, engine: str) -> dict[str, str]:
    """prefixed name -> the project's own, for every database and role of the rehearsal: the schema files name the
    project's databases (and a secure view its roles), the rehearsed schema the prefixed ones."""
    aliases = {new: old for key, (old, new) in names.variables.items() if key != ROLE_PREFIX_VAR}
    if names.history_database:
        aliases[names.history_database[1]] = names.history_database[0]
    role_prefix = names.role_prefix
    if role_prefix and role_prefix.startswith(names.prefix):
        own = names.variables[ROLE_PREFIX_VAR][0]
        for role in role_names(settings, engine, names.databases[0], role_prefix):
            aliases[role] = own + role[len(role_prefix):]
    return aliases


def _schema_files(settings: Settings, directory: Path, aliases: dict[str, str], result: Rehearsal,
                  progress: Progress) -> None:
    """The live schema against the files of `directory` (`rockway schema diff` with the prefixed names read as the
    project's own): one case; a difference fails it, and the unified diff goes to the report."""
    progress(f"schema files: comparing with {directory}")
    result.schema_dir = str(directory)
    begin = time.perf_counter()
    case = result.add(Case(model.SCHEMA_FILES, "schema files"))
    try:
        found = diff(settings, directory, aliases=aliases)
    except (DatabaseUnavailable, Interrupted):
        raise
    except RockwayError as exc:
        case.failure, case.detail = _text(exc).splitlines()[0], _text(exc)
    else:
        if found.differences:
            result.schema_files_diff = "".join(d.diff for d in found.differences)
            case.failure = (f"{len(found.differences)} schema file(s) of {directory} differ from the migrated schema: "
                            + ", ".join(f"{d.path} ({d.status})" for d in found.differences)
                            + f"; run `rockway schema dump --out {directory}` and commit the files")
            case.detail = result.schema_files_diff
        else:
            case.detail = f"{found.files} object(s) of {', '.join(found.databases)} match the files of {directory}"
    case.seconds = time.perf_counter() - begin


def _note_unprefixed(settings: Settings, names: Names, result: Rehearsal) -> None:
    """Databases the scripts name literally (not through a `*_db` variable) are shared and never dropped: say so."""
    with open_session(settings) as session:
        databases = schema_scope(settings, session.project, session.adapter.database).databases
    for database in databases:
        if not database.startswith(names.prefix):
            result.notes.append(f"database {database} is not named through a `*_db` variable of rockway.toml: the "
                                "rehearsal used it without its prefix and does not drop it")


def _round_trip(settings: Settings, project: Project, versions: list[Version], before: dict[int, snapshot.Snapshot],
                result: Rehearsal, progress: Progress) -> bool:
    """Roll back one version at a time (each U script must restore the schema its V found), `migrate up` again,
    and the same schema as after the first up. False when the schema is not whole afterwards."""
    first = _snapshot(settings)
    undo = {s.version: s.name for s in project.scripts if s.kind is Kind.UNDO}
    _, by_repeatable = snapshot.blame_map(project)
    for index in range(len(versions), 0, -1):
        version = versions[index - 1]
        name = undo.get(version, f"U{version}")
        begin = time.perf_counter()
        failure = _migrate(settings, result, "rollback", progress, rollback=True)
        case = result.add(Case(model.ROUND_TRIP, f"{name} undoes V{version}", seconds=time.perf_counter() - begin))
        if failure is not None:
            case.failure, case.detail = failure.splitlines()[0], failure
            return False
        found = snapshot.undo_differences(before[index - 1], _snapshot(settings), name, str(version),
                                          set(by_repeatable))
        if found:
            result.schema_diff += found
            case.failure = "; ".join(d.describe() for d in found)
            case.detail = "".join(d.diff for d in found)
    begin = time.perf_counter()
    failure = _migrate(settings, result, "second up", progress)
    result.add(Case(model.ROUND_TRIP, "migrate up again", seconds=time.perf_counter() - begin,
                    failure=failure.splitlines()[0] if failure else None, detail=failure or ""))
    if failure is not None:
        return False
    differences = snapshot.compare(first, _snapshot(settings), project)
    result.schema_diff += differences
    case = result.add(Case(model.ROUND_TRIP, "same schema after the second up"))
    if differences:
        case.failure = "; ".join(d.describe() for d in differences)
        case.detail = "".join(d.diff for d in differences)
    return True


def _pending(settings: Settings, result: Rehearsal, progress: Progress, schema_dir: Path | None = None) -> None:
    with open_session(settings) as session:
        result.engine = session.adapter.engine
    before = _snapshot(settings)
    failure = _migrate(settings, result, "pending", progress, cases=True)
    if not any(c.suite == model.MIGRATIONS for c in result.cases):
        result.add(Case(model.MIGRATIONS, "migrate up", detail="nothing pending"))
    if failure is not None:
        return
    project = _project(settings)
    after = _snapshot(settings)
    result.schema_diff += snapshot.compare(before, after, project, sides=("before", "release"), blame=False)
    if schema_dir is not None:  # the server's own names: nothing to read back
        _schema_files(settings, Path(schema_dir), {}, result, progress)
    with open_session(settings) as session:
        databases = list(schema_scope(settings, session.project, session.adapter.database).databases)
    _probes(settings, result, databases, progress, writes=False)


def _probes(settings: Settings, result: Rehearsal, databases: list[str], progress: Progress, *, writes: bool) -> None:
    progress("validate")
    result.add(probes.validate_case(settings))
    progress("lint")
    cases, result.lint_findings = probes.lint_cases(settings, result.engine)
    result.cases += cases
    adapter = connect(settings)
    try:
        progress("materialized views")
        result.cases += probes.mv_cases(adapter, databases)
        progress("checks")
        result.cases += probes.check_cases(settings, adapter)
    finally:
        adapter.close()
    progress("jobs")
    result.cases += probes.job_cases(settings, writes=writes)


def role_names(settings: Settings, engine: str, database: str | None, role_prefix: str) -> list[str]:
    """Roles the project's V and R scripts create whose names start with role_prefix (rendered for engine)."""
    project = Project(settings, engine=engine, database=database)
    found: list[str] = []
    for script in project.scripts:
        if script.kind is Kind.UNDO:
            continue
        try:
            statements = project.statements(script)
        except RockwayError:
            continue
        for stmt in statements:
            match = _CREATE_ROLE.match(stmt.sql)
            if match and match.group(1).startswith(role_prefix) and match.group(1) not in found:
                found.append(match.group(1))
    return found


def drop_prefixed(settings: Settings, names: Names) -> tuple[list[str], str | None]:
    """Drop every database and role of the rehearsal (only names that start with its prefix).
    (what was dropped, the problem when clean-up failed)."""
    dropped: list[str] = []
    try:
        adapter = connect(server_settings(settings))
    except RockwayError as exc:
        return dropped, f"clean-up: could not connect to drop {names.prefix}*: {_text(exc).splitlines()[0]}"
    try:
        for database in names.databases:
            if not database.startswith(names.prefix):  # never: naming.py prefixes every one
                raise ConfigError(f"refusing to drop {database}: it does not carry the prefix {names.prefix}")
            adapter.execute(adapter.drop_throwaway_database_sql(database))  # StarRocks: FORCE, no recycle bin
            dropped.append(f"database {database}")
        role_prefix = names.role_prefix
        if role_prefix and role_prefix.startswith(names.prefix):
            for role in role_names(settings, adapter.engine, names.databases[0], role_prefix):
                # the project's own form (macros/warehouse.sql drop_role): a validated, unquoted name
                adapter.execute(f"DROP ROLE IF EXISTS {validate_identifier(role, 'role')}")
                dropped.append(f"role {role}")
    except RockwayError as exc:
        return dropped, f"clean-up stopped: {_text(exc).splitlines()[0]}; drop what is left of {names.prefix}* by hand"
    finally:
        adapter.close()
    return dropped, None
