"""Planning: scripts on disk + history rows -> states and the steps to run, in the order they run, and the checks
that refuse a plan before anything is written."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from rockway.errors import InputError, UsageError
from rockway.extensions import handler_for, is_rockway_statement
from rockway.migrate.dependencies import created_objects, referenced_tables
from rockway.model import (Action, AppliedRow, Kind, MigrationInfo, Plan, RowStatus, RowType, Script, State, Statement,
                           Step, Version)


class ScriptSource(Protocol):
    """A project's scripts and their rendered statements (project.Project)."""

    @property
    def scripts(self) -> list[Script]: ...

    def statements(self, script: Script) -> list[Statement]: ...

    def has_sql(self, script: Script) -> bool: ...


@dataclass(frozen=True)
class Options:
    """What the user asked for."""

    target: Version | None = None
    out_of_order: bool = False
    resume: bool = False


def _latest_by_version(rows: Iterable[AppliedRow]) -> dict[Version, AppliedRow]:
    latest: dict[Version, AppliedRow] = {}
    for row in rows:
        if row.version is not None and row.type in (RowType.SQL, RowType.UNDO_SQL, RowType.DELETE, RowType.BASELINE):
            latest[row.version] = row  # rows arrive in installed_rank order
    return latest


def _latest_repeatables(rows: Iterable[AppliedRow]) -> dict[str, AppliedRow]:
    latest: dict[str, AppliedRow] = {}
    for row in rows:
        if row.version is None and row.type in (RowType.SQL, RowType.DELETE):
            latest[row.description] = row
    return latest


def _by_version(scripts: Iterable[Script], kind: Kind) -> dict[Version, Script]:
    return {s.version: s for s in scripts if s.kind is kind and s.version is not None}


def baseline_version(rows: Sequence[AppliedRow]) -> Version | None:
    """The newest baseline recorded in history."""
    versions = [r.version for r in rows if r.type is RowType.BASELINE and r.version is not None]
    return max(versions) if versions else None


def _row_state(row: AppliedRow) -> State:
    if row.type is RowType.BASELINE:
        return State.BASELINE
    if row.type is RowType.DELETE:
        return State.DELETED
    if row.status is RowStatus.RUNNING:
        return State.INTERRUPTED
    if row.status is RowStatus.FAILED or not row.success:
        return State.FAILED
    return State.UNDONE if row.type is RowType.UNDO_SQL else State.APPLIED



def describe(scripts: Sequence[Script], rows: Sequence[AppliedRow], options: Options = Options()) -> list[MigrationInfo]:
    """Every script and history entry with its state, in display order."""
    versioned = _by_version(scripts, Kind.VERSIONED)
    undo = _by_version(scripts, Kind.UNDO)
    repeatable = {s.description: s for s in scripts if s.kind is Kind.REPEATABLE}
    latest = _latest_by_version(rows)
    baseline = baseline_version(rows)
    done = [v for v, r in latest.items() if _row_state(r) in (State.APPLIED, State.BASELINE, State.FAILED, State.INTERRUPTED)
            and r.type is not RowType.UNDO_SQL]
    top_applied = max(done, default=None)
    top_script = max(versioned, default=None)
    infos: list[MigrationInfo] = []

    for version in sorted(set(versioned) | set(latest)):
        script = versioned.get(version)
        row = latest.get(version)
        state: State
        note = ""
        mismatch = False
        if row is not None and row.type is RowType.BASELINE:
            infos.append(MigrationInfo(Kind.VERSIONED, version, row.description, State.BASELINE, script, row))
            continue
        row_state = _row_state(row) if row is not None else None
        if row is not None and row_state in (State.APPLIED, State.FAILED, State.INTERRUPTED) and row.type is RowType.SQL:
            state = row_state
            if script is None:
                if state is State.APPLIED:
                    state = State.FUTURE if top_script is None or version > top_script else State.MISSING
                else:
                    note = "script file is missing"
            elif state is State.APPLIED and row.checksum != script.checksum:
                mismatch = True
                note = "checksum differs from the applied script"
        elif row is not None and row.type is RowType.UNDO_SQL and row_state is not State.UNDONE:
            state = _row_state(row)  # an undo that failed or was interrupted
            note = "undo did not finish"
        elif script is None:
            if row is None or row.type is RowType.DELETE:
                if row is not None:
                    infos.append(MigrationInfo(Kind.VERSIONED, version, row.description, State.DELETED, None, row))
                continue
            infos.append(MigrationInfo(Kind.VERSIONED, version, row.description, State.UNDONE, None, row))
            continue
        else:
            if options.target is not None and version > options.target:
                state = State.ABOVE_TARGET
            elif baseline is not None and version <= baseline:
                state = State.BELOW_BASELINE
            elif top_applied is not None and version < top_applied:
                state = State.PENDING if options.out_of_order else State.IGNORED
                note = "out of order" if options.out_of_order else "lower than the newest applied version; use --out-of-order"
            else:
                state = State.PENDING
            if row is not None and row.type is RowType.UNDO_SQL:
                note = (note + "; " if note else "") + "undone"
        description = script.description if script else (row.description if row else "")
        infos.append(MigrationInfo(Kind.VERSIONED, version, description, state, script, row, mismatch, note))

    for version in sorted(undo):
        infos.append(MigrationInfo(Kind.UNDO, version, undo[version].description, State.AVAILABLE, undo[version]))

    latest_r = _latest_repeatables(rows)
    for description in sorted(set(repeatable) | set(latest_r)):
        script = repeatable.get(description)
        row = latest_r.get(description)
        if row is not None and row.type is RowType.DELETE:
            row = None if script is not None else row
            if script is None:
                infos.append(MigrationInfo(Kind.REPEATABLE, None, description, State.DELETED, None, row))
                continue
        if row is None:
            infos.append(MigrationInfo(Kind.REPEATABLE, None, description, State.PENDING, script))
            continue
        state = _row_state(row)
        if script is None:
            infos.append(MigrationInfo(Kind.REPEATABLE, None, description,
                                       State.MISSING if state is State.APPLIED else state, None, row, note="script file is missing"))
            continue
        if state is State.APPLIED and row.checksum != script.checksum:
            state = State.OUTDATED
        infos.append(MigrationInfo(Kind.REPEATABLE, None, description, state, script, row))
    return infos


def _unfinished_step(info: MigrationInfo, options: Options) -> tuple[Step | None, str | None]:
    """A CONTINUE step for a failed/interrupted row, or the reason `migrate up` must refuse."""
    row = info.row
    assert row is not None
    if info.script is None:
        return None, (f"{info.label} {info.description} did not finish (statement {row.error_statement or row.pending_statement})"
                      " and its script file is gone: restore the file, or run `migrate repair` to remove the row")
    start = row.statements_applied + 1
    if options.resume:
        return Step(Action.CONTINUE, info.script, row, start), None
    if info.state is State.INTERRUPTED and row.pending_statement is None:
        return Step(Action.CONTINUE, info.script, row, start), None
    return None, blocker_message(info)


def first_statements(n: int) -> str:
    """`statement 1` or `statements 1..n` (n >= 1): never an empty range such as 1..0."""
    return "statement 1" if n == 1 else f"statements 1..{n}"


def blocker_message(info: MigrationInfo) -> str:
    """The recovery message for a failed or interrupted migration."""
    row = info.row
    assert row is not None
    undo = row.type is RowType.UNDO_SQL
    # an unfinished undo belongs to its U script: name that label and file, not the V script the info row carries
    name = f"U{info.version}" if undo and info.version is not None else info.label
    label = f"{name} ({info.description})"
    file = row.script if undo else (info.script.name if info.script else row.script)
    up = "migrate rollback" if undo else "migrate up"
    what = f" ({row.statement_sql})" if row.statement_sql else ""
    if info.state is State.FAILED:
        k = row.error_statement or row.statements_applied + 1
        done = f"{first_statements(k - 1)} {'was' if k == 2 else 'were'} applied and {'stays' if k == 2 else 'stay'}" \
               " applied (DDL is not transactional)" if k > 1 else "no statement of it was applied"
        keep = f"; {first_statements(k - 1)} must stay unchanged" if k > 1 else ""
        return (f"{label} failed at statement {k} of {row.statements_total}{what}: {row.error or 'unknown error'}\n"
                f"  {done}.\n"
                f"  Next: fix statement {k} in {file}, then run `{up} --resume` (continues at statement {k}{keep}),\n"
                f"  or undo the applied statements by hand and run `migrate repair` (removes the failed row;"
                f" the next `{up}` starts it from statement 1).")
    if row.pending_statement is None:  # stopped between statements: nothing has an unknown outcome
        count = row.statements_applied
        left = (f"continues at statement {count + 1} of {row.statements_total}" if count < row.statements_total
                else "records it as finished (every statement is applied)")
        return (f"{label} stopped after {first_statements(count) if count else 'no statement'} of {row.statements_total};"
                f" no statement's outcome is unknown.\n  Next: `{up}` {left}.")
    k = row.pending_statement or row.statements_applied + 1
    # a repeatable is named by its description, which may hold spaces: quote it so the command runs as printed
    ref = info.version if info.version is not None else shlex.quote(info.description)
    applied = (f"{first_statements(k - 1).capitalize()} {'is' if k == 2 else 'are'} recorded as applied." if k > 1
               else "No statement of it is recorded as applied.")
    return (f"{label} was interrupted while statement {k} of {row.statements_total}{what} was running;"
            f" whether it took effect is unknown.\n"
            f"  {applied}\n"
            f"  Check the database (e.g. SHOW CREATE TABLE …). If statement {k} did NOT take effect: `{up} --resume`"
            f" (re-runs statement {k}).\n"
            f"  If it DID take effect: `migrate repair --statement-done {ref}`, then `{up}` (continues after statement {k}).")


def plan_up(scripts: Sequence[Script], rows: Sequence[AppliedRow], options: Options = Options()) -> Plan:
    """Steps for `migrate up`: unfinished work first, then pending versions, then changed repeatables."""
    infos = describe(scripts, rows, options)
    steps: list[Step] = []
    blockers: list[str] = []
    notes: list[str] = []
    for info in infos:
        if info.kind is Kind.UNDO:
            continue
        if info.state in (State.FAILED, State.INTERRUPTED):
            if info.row is not None and info.row.type is RowType.UNDO_SQL:
                blockers.append(blocker_message(info))
                continue
            step, reason = _unfinished_step(info, options)
            if reason:
                blockers.append(reason)
            elif step is not None:
                steps.append(step)
                if not options.resume:
                    notes.append(f"continuing interrupted {info.label} ({info.description}) at statement {step.start_at}")
    for info in infos:
        if info.kind is Kind.VERSIONED and info.state is State.PENDING and info.script is not None:
            steps.append(Step(Action.APPLY, info.script))
    above = [i for i in infos if i.state is State.ABOVE_TARGET]
    repeatables = [i for i in infos if i.kind is Kind.REPEATABLE and i.state in (State.PENDING, State.OUTDATED)
                   and i.script is not None]
    if above and repeatables:  # they may read objects the skipped versions create
        notes.append(f"{len(repeatables)} repeatable script(s) not run: versions above --target are still pending")
    else:
        steps.extend(Step(Action.APPLY, i.script) for i in repeatables if i.script is not None)
    ignored = [i for i in infos if i.state is State.IGNORED]
    for info in ignored:
        notes.append(f"{info.label} ({info.description}) is ignored: {info.note}")
    if blockers:
        steps = []  # nothing runs while history needs a person
    return Plan(tuple(steps), tuple(infos), tuple(blockers), tuple(notes))


def undo_name(versioned_name: str) -> str:
    """The U script's path for a V script's path: `migrations/V2__x.sql` -> `migrations/U2__x.sql`."""
    folder, _, file = versioned_name.rpartition("/")
    return f"{folder}/U{file[1:]}" if folder else f"U{file[1:]}"


def _version(info: MigrationInfo) -> Version:
    assert info.version is not None
    return info.version


def plan_rollback(scripts: Sequence[Script], rows: Sequence[AppliedRow], *, steps: int | None = None,
                  to: Version | None = None, resume: bool = False) -> Plan:
    """Steps for `migrate rollback`: U scripts of the newest applied versions, newest first."""
    infos = describe(scripts, rows)
    undo = _by_version(scripts, Kind.UNDO)
    blockers: list[str] = []
    plan_steps: list[Step] = []
    unfinished = [i for i in infos if i.kind is Kind.VERSIONED and i.state in (State.FAILED, State.INTERRUPTED)]
    for info in unfinished:
        # as in `migrate up`: an interrupted undo with no statement pending (e.g. after `repair --statement-done`)
        # continues by itself; anything else needs --resume
        settled = info.state is State.INTERRUPTED and info.row is not None and info.row.pending_statement is None
        if info.row is not None and info.row.type is RowType.UNDO_SQL and (resume or settled) and info.version in undo:
            plan_steps.append(Step(Action.CONTINUE, undo[info.version], info.row, info.row.statements_applied + 1))
        else:
            blockers.append(blocker_message(info))
    if blockers:
        return Plan((), tuple(infos), tuple(blockers))
    applied = sorted((i for i in infos if i.kind is Kind.VERSIONED and i.state is State.APPLIED and i.version is not None),
                     key=_version, reverse=True)
    if to is not None:
        chosen = [i for i in applied if _version(i) > to]
    else:
        chosen = applied[: (1 if steps is None else steps)]
    if plan_steps:  # finishing an interrupted undo counts as the first step
        chosen = [i for i in chosen if i.version not in {s.script.version for s in plan_steps}]
        if steps is not None and to is None:
            chosen = chosen[: max(0, steps - len(plan_steps))]
        elif to is None:
            chosen = []
    missing = [i for i in chosen if i.version not in undo]
    if missing:
        names = tuple(undo_name(i.script.name) if i.script else f"U{i.version}__{i.description.replace(' ', '_')}.sql"
                      for i in missing)
        blockers.append(f"cannot roll back: no undo script for {', '.join(f'V{i.version}' for i in missing)}"
                        f" (expected {', '.join(names)}); nothing was changed")
        return Plan((), tuple(infos), tuple(blockers), missing_files=names)
    plan_steps.extend(Step(Action.UNDO, undo[_version(i)]) for i in chosen)
    return Plan(tuple(plan_steps), tuple(infos), ())


# --- the order steps run in ----------------------------------------------------------------------------------


def order_repeatables(items: Sequence[tuple[Script, Sequence[Statement]]]) -> list[Script]:
    """Topologically sort scripts so that an object is created before the scripts that read it (stable by
    description); a cycle is an InputError naming the scripts."""
    creates = {script.name: created_objects(stmts) for script, stmts in items}
    producer: dict[str, str] = {}
    for name, objs in creates.items():
        for obj in objs:
            producer.setdefault(obj, name)
    by_name = {script.name: script for script, _ in items}
    deps: dict[str, set[str]] = {}
    for script, stmts in items:
        reads: set[str] = set()
        for stmt in stmts:
            reads |= referenced_tables(stmt.sql)
        deps[script.name] = {producer[r] for r in reads if r in producer and producer[r] != script.name}
    ordered: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise InputError(by_name[name].name, "repeatable scripts depend on each other in a cycle: "
                             + " -> ".join(cycle), hint="Break the cycle: no view may (indirectly) read itself.")
        state[name] = 1
        for dep in sorted(deps[name], key=lambda n: by_name[n].description):
            visit(dep, path + [name])
        state[name] = 2
        ordered.append(name)

    for script, _ in sorted(items, key=lambda it: it[0].description):
        visit(script.name, [])
    return [by_name[n] for n in ordered]


def order_steps(project: ScriptSource, steps: Sequence[Step]) -> list[Step]:
    """Keep versioned steps first, then repeatables in dependency order."""
    repeat = [s for s in steps if s.script.kind is Kind.REPEATABLE]
    if len(repeat) < 2:
        return list(steps)
    everything = [s for s in project.scripts if s.kind is Kind.REPEATABLE]
    order = order_repeatables([(s, project.statements(s)) for s in everything])
    rank = {s.name: i for i, s in enumerate(order)}
    versioned = [s for s in steps if s.script.kind is not Kind.REPEATABLE]
    return versioned + sorted(repeat, key=lambda s: rank[s.script.name])


def release_order(project: ScriptSource) -> list[Script]:
    """What `migrate up` runs on an empty database, in its order: V by version, then R in dependency order."""
    return [step.script for step in order_steps(project, plan_up(project.scripts, ()).steps)]


def add_dependent_repeatables(project: ScriptSource, plan: Plan) -> Plan:
    """Also re-run applied repeatables that read an object a versioned step of this run (re)creates.

    After `migrate rollback` dropped a table and `migrate up` re-created it, the views over it must come back
    too, though their checksums did not change. Repeatables are re-runnable by definition, so re-running one
    that did not need it costs time, never correctness.
    """
    versioned = [s for s in plan.steps if s.script.kind is Kind.VERSIONED]
    candidates = [i.script for i in plan.infos if i.kind is Kind.REPEATABLE and i.state is State.APPLIED and i.script]
    if not versioned or not candidates:
        return plan
    created: set[str] = set()
    for step in versioned:
        created |= created_objects(project.statements(step.script)[step.start_at - 1:])
    queued = {s.script.name for s in plan.steps}
    reads = {s.name: set().union(*(referenced_tables(st.sql) for st in project.statements(s))) for s in candidates}
    added: list[Step] = []
    notes = list(plan.notes)
    changed = True
    while changed:  # a re-run view re-creates what other views read
        changed = False
        for script in candidates:
            hit = reads[script.name] & created
            if script.name not in queued and hit:
                queued.add(script.name)
                added.append(Step(Action.APPLY, script))
                created |= created_objects(project.statements(script))
                notes.append(f"re-running {script.display}: this run re-creates {', '.join(sorted(hit))}")
                changed = True
    if not added:
        return plan
    return Plan(plan.steps + tuple(added), plan.infos, plan.blockers, tuple(notes))


# --- plans refused before anything is written ----------------------------------------------------------------


def refuse_changed_scripts(infos: Sequence[MigrationInfo], command: str) -> None:
    """Stop when an applied versioned script was edited since it ran (Flyway's validateOnMigrate).

    The database holds what the old text created; running on as if nothing changed would hide that the file no
    longer describes the schema. Repeatables are exempt: a changed checksum is what makes them re-run.
    """
    changed = [i for i in infos if i.kind is Kind.VERSIONED and i.checksum_mismatch and i.script and i.row]
    if not changed:
        return
    lines = "\n".join(f"  - {i.script.name} ({i.label} {i.description}): the history records checksum"  # type: ignore[union-attr]
                      f" {(i.row.checksum or '')[:12]}…, the file now has {i.script.checksum[:12]}…"  # type: ignore[union-attr]
                      for i in changed)
    raise UsageError(f"{command} refused: {len(changed)} applied script(s) changed since they were applied; nothing was"
                     f" changed\n{lines}",
                     hint="Restore the applied text, or run `migrate validate` to see every problem and then"
                          " `migrate repair` to record the files' current checksums as applied (once the database"
                          " matches them). --no-validate (validate_on_migrate = false) skips this check.")


def refuse_empty_scripts(project: ScriptSource, steps: Sequence[Step]) -> None:
    """A V or U script to run whose text holds no statement at all (say, an untouched `migrate new` scaffold).

    Recording it as applied with 0 statements would hide that its SQL was never written. A script with SQL
    that renders to nothing for this engine (migrations/V17__dev_join_indexes.sql on StarRocks) is fine.
    """
    for step in steps:
        script = step.script
        if step.action is not Action.CONTINUE and script.kind is not Kind.REPEATABLE and not project.has_sql(script):
            raise InputError(script.name, "has no statements (only comments and whitespace); nothing was changed",
                             hint="Write its SQL, or delete the file if the version is not needed.")


def prerender(project: ScriptSource, steps: Sequence[Step]) -> None:
    """Render every script of the plan before anything runs, so template errors write nothing."""
    refuse_empty_scripts(project, steps)
    undo = _by_version(project.scripts, Kind.UNDO)
    checked = [step.script for step in steps]
    # the undo script of every version being applied must render too, or a later rollback would fail
    checked += [undo[s.script.version] for s in steps if s.script.kind is Kind.VERSIONED and s.script.version in undo]
    for script in checked:
        for stmt in project.statements(script):
            if is_rockway_statement(stmt.sql):
                try:
                    handler_for(stmt.sql)
                except KeyError as exc:
                    raise InputError(script.name, f"unknown rockway statement {exc.args[0]!r}", line=stmt.line) from None
