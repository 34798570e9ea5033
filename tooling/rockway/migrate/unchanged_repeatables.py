"""Repeatables whose file changed but whose rendered SQL did not: not re-run, their new checksum recorded.

A repeatable's checksum covers the files it includes (discovery.py), so editing a macro file makes every
repeatable that includes it "outdated" even when it renders to the very same statements. Re-running such a
script is not free on StarRocks: `CREATE OR REPLACE VIEW` with an unchanged text still makes the MVs on that
view inactive ("base-view changed: …", mv/health.py) and re-running an MV script swaps in a new MV that is
refreshed in full. So before `migrate up` runs an outdated repeatable, it renders it and compares each
statement's hash with the hashes its last successful run journaled (history `statement_hashes`, executor.py's
`statement_hash`). Identical → the step is dropped and the row's checksum is realigned in place, as
`migrate repair` does for versioned scripts; `migrate info` shows the script as "unchanged after rendering".

Not for scripts with rockway statements (`ROCKWAY LOAD CSV 'x.csv' INTO t`, refdata/loader.py): their text names the
data without containing it, so a changed CSV renders the same statement and must still reload. A repeatable
that reads an object a versioned step of this run re-creates is still re-run (planner.add_dependent_repeatables
sees it as applied).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from rockway.errors import InputError
from rockway.migrate.executor import statement_hash
from rockway.migrate.history import HistoryStore, evolve
from rockway.extensions import is_rockway_statement
from rockway.model import Kind, MigrationInfo, Plan, Script, State, Statement

__all__ = ["UNCHANGED_NOTE", "renders_as_applied", "note_unchanged", "skip_unchanged", "record_unchanged"]

UNCHANGED_NOTE = "unchanged after rendering: not re-run, `migrate up` records the new checksum"
Render = Callable[[Script], Sequence[Statement]]


def renders_as_applied(info: MigrationInfo, render: Render) -> bool:
    """True when an outdated repeatable renders to exactly the statements its last successful run applied."""
    row, script = info.row, info.script
    if info.kind is not Kind.REPEATABLE or info.state is not State.OUTDATED or row is None or script is None:
        return False
    try:
        statements = render(script)
    except InputError:  # `migrate up` reports it before anything runs; `info` must still show the states
        return False
    if any(is_rockway_statement(s.sql) for s in statements):
        return False
    hashes = tuple(statement_hash(s.sql) for s in statements)
    return row.statements_applied == row.statements_total == len(hashes) and tuple(row.statement_hashes) == hashes


def note_unchanged(infos: Sequence[MigrationInfo], render: Render) -> list[MigrationInfo]:
    """`migrate info`: outdated repeatables that render as applied get UNCHANGED_NOTE (state stays outdated)."""
    return [replace(i, note=UNCHANGED_NOTE) if renders_as_applied(i, render) else i for i in infos]


def skip_unchanged(plan: Plan, render: Render) -> Plan:
    """The plan without the steps of outdated repeatables that render as applied; their infos become applied
    (so the dependency rule can still re-run one) with UNCHANGED_NOTE, and a note says so."""
    unchanged = {i.script.name for i in plan.infos if i.script is not None and renders_as_applied(i, render)}
    if not unchanged:
        return plan
    infos = tuple(replace(i, state=State.APPLIED, note=UNCHANGED_NOTE) if i.script and i.script.name in unchanged
                  else i for i in plan.infos)
    steps = tuple(s for s in plan.steps if s.script.name not in unchanged)
    notes = plan.notes + tuple(f"{name}: changed on disk but renders to the statements it last applied; not re-run"
                               for name in sorted(unchanged))
    return Plan(steps, infos, plan.blockers, notes, plan.missing_files)


def record_unchanged(history: HistoryStore, plan: Plan) -> list[str]:
    """Realign the checksum of every skipped repeatable the final plan does not run after all (history.py)."""
    running = {s.script.name for s in plan.steps}
    done: list[str] = []
    for i in plan.infos:
        if i.note == UNCHANGED_NOTE and i.script is not None and i.row is not None and i.script.name not in running:
            history.write(evolve(i.row, checksum=i.script.checksum))
            done.append(i.script.name)
    return done
