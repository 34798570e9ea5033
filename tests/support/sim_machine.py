"""The generated-scenario state machine shared by the simulation suites (StarRocks model and MariaDB).

A World is the database the runs work on: it builds adapters whose connections carry a FaultPlan,
reports the schema a person would see, and keeps history across "crashes" as a server does. The
machine writes a project (tests/support/sim_engine.py SimProject), runs rockway through its CLI in-process
(rockway.cli.main._run, the code path users run), injects faults, follows rockway's own recovery
messages deciding "did it take effect?" from the world's truth, and checks after every step that
the history agrees with the world and that no statement ran twice.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import note, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.support.sim_engine import (FAULT_KINDS, FaultPlan, Op, RScript, SimCrash, SimProject, VScript, apply_ops, op_in_effect,
                        parse_recovery, tables_of)

LEASE = 900.0


# --- generated scripts -------------------------------------------------------------------------

@st.composite
def v_scripts(draw: Any, version: int) -> VScript:
    """0..4 statements: tables t<v>_<i>, columns added and dropped on them; maybe rendered away; maybe an undo."""
    n = draw(st.integers(0, 4))
    ops: list[Op] = []
    tables: list[str] = []
    columns: dict[str, list[str]] = {}
    for i in range(n):
        choice = draw(st.sampled_from(("create", "add", "add", "drop_column"))) if tables else "create"
        if choice == "drop_column" and not any(columns.values()):
            choice = "add"
        if choice == "create":
            table = f"t{version}_{len(tables)}"
            tables.append(table)
            columns[table] = []
            ops.append(Op("create", table))
        elif choice == "add":
            table = draw(st.sampled_from(tables))
            column = f"c{i}"
            columns[table].append(column)
            ops.append(Op("add", table, column))
        else:
            table = draw(st.sampled_from([t for t in tables if columns[t]]))
            column = draw(st.sampled_from(columns[table]))
            columns[table].remove(column)
            ops.append(Op("drop_column", table, column))
    hidden = bool(ops) and draw(st.integers(0, 5)) == 0
    return VScript(version, ops, hidden=hidden, undo=draw(st.booleans()))


# most runs meet one fault, at any statement of the run (a run sends about 10..50)
fault_points = st.one_of(st.just({}), st.dictionaries(st.integers(1, 40), st.sampled_from(FAULT_KINDS), min_size=1,
                                                      max_size=1))
fault_plans = st.builds(FaultPlan, at=fault_points, busy_attempts=st.sampled_from([0, 0, 1, 2]),
                        cancel_next_job=st.sampled_from([False, False, True]))
plain_faults = st.builds(FaultPlan, at=fault_points)


class World:
    """The database under test; subclasses: the StarRocks model, a real MariaDB database."""

    dialect = "starrocks"
    dsn = ""
    patches: dict[str, Any] = {}  # features outside the migration engine that this world cannot answer

    def adapter(self, settings: Any) -> Any:
        raise NotImplementedError

    def arm(self, plan: FaultPlan) -> None:
        raise NotImplementedError

    def after_run(self) -> None:
        """What the server does after a run ended (jobs finish; a dead run's lease runs out)."""

    def schema(self) -> dict[str, frozenset[str]]:
        raise NotImplementedError

    def views(self) -> dict[str, str]:
        raise NotImplementedError

    def history_rows(self) -> list[Any]:
        raise NotImplementedError

    def violations(self) -> list[str]:
        return []

    def apply_direct(self, sql: list[str]) -> None:
        """Run statements outside rockway (a database that existed before rockway)."""
        raise NotImplementedError

    def close(self) -> None:
        return None


class MigrationMachine(RuleBasedStateMachine):
    """Generated projects and operations against one World; invariants after every step."""

    world_factory: Any = None
    fault_strategy: Any = fault_plans

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="rockway-sim-"))
        self.world: World = self.world_factory()
        self.project = SimProject(self.tmp / "project", self.world.dialect)
        self.next_version = 1
        self.baseline: int | None = None

    # running rockway ---------------------------------------------------------------------------
    def cli(self, *args: str, plan: FaultPlan | None = None) -> tuple[int | None, str]:
        """Run `migrate <args>` in-process; None as the code when the process "crashed"."""
        from rockway.cli.main import _run, cli

        self.world.arm(plan or FaultPlan())
        out = io.StringIO()
        argv = ["migrate", *args, "--dsn", self.world.dsn, "-C", str(self.project.root), "--lock-timeout", "1"]
        code: int | None
        with ExitStack() as stack:
            stack.enter_context(redirect_stdout(out))
            stack.enter_context(redirect_stderr(out))
            stack.enter_context(mock.patch("rockway.migrate.project.connect", self.world.adapter))
            for target, value in self.world.patches.items():
                stack.enter_context(mock.patch(target, value))
            try:
                code = _run(cli, argv)
            except SimCrash:
                code = None
        self.world.after_run()
        text = out.getvalue()
        fired = (plan.fired if plan else [])
        try:
            note(f"$ migrate {' '.join(args)} -> {code} faults={fired}\n{text.strip()[:1500]}")
        except Exception:  # noqa: BLE001 - outside a Hypothesis test (a fixed scenario) there is nowhere to note
            pass
        return code, text

    # setup -------------------------------------------------------------------------------------
    @initialize(data=st.data(), count=st.integers(1, 3), baseline=st.integers(0, 3))
    def start(self, data: Any, count: int, baseline: int) -> None:
        for _ in range(count):
            self._add_version(data)
        if baseline and baseline <= count:
            # the database already holds versions 1..baseline; rockway is introduced with `migrate baseline`
            from tests.support.sim_engine import op_sql

            for v in range(1, baseline + 1):
                self.world.apply_direct([op_sql(op, self.world.dialect) for op in self.project.versions[v].effective_ops])
            code, out = self.cli("baseline", "--version", str(baseline))
            assert code == 0, out
            self.baseline = baseline

    def _add_version(self, data: Any) -> None:
        script = data.draw(v_scripts(self.next_version))
        self.project.write(script)
        self.next_version += 1

    # rules -------------------------------------------------------------------------------------
    @rule(data=st.data())
    def add_version(self, data: Any) -> None:
        self._add_version(data)

    @rule(data=st.data())
    def add_or_change_repeatable(self, data: Any) -> None:
        sources = [f"t{v}_0" for v, s in self.project.versions.items()
                   if s.effective_ops and s.effective_ops[0].action == "create"
                   and (self.baseline is None or v > self.baseline or True)]
        names = sorted(self.project.repeatables)
        name = data.draw(st.sampled_from(names + [f"view_{len(names)}"]))
        # a view reads a table, or an older view (never itself or one that reads it: no cycles)
        older = [n for n in names if n < name and self._reads(n) != name]
        choices = sources + older
        if not choices:
            return
        self.project.write_repeatable(RScript(name, data.draw(st.sampled_from(choices))))

    def _reads(self, view: str) -> str:
        return self.project.repeatables[view].source

    @rule(data=st.data())
    def up(self, data: Any) -> None:
        plan = data.draw(self.fault_strategy)
        edited = self._edited()
        code, out = self.cli("up", plan=plan)
        if code == 0 and edited:
            raise AssertionError(f"`migrate up` exited 0 although applied script(s) {[v for v, _ in edited]} were edited"
                                 f" since:\n{out}")
        if code == 2 and edited:
            assert any(self.project.v_path(v).name in out for v, _ in edited), out
        if code == 0:
            self._assert_all_applied(out)

    def _assert_all_applied(self, out: str) -> None:
        """After `migrate up` exits 0, every script is recorded as applied and nothing is left unfinished."""
        from rockway.model import RowStatus, RowType

        latest: dict[int, Any] = {}
        for row in self.world.history_rows():
            assert row.status is RowStatus.SUCCESS, (f"`migrate up` exited 0 but the history row of"
                                                     f" {row.script} is {row.status.value}:\n{out}")
            if row.version is not None:
                latest[int(str(row.version))] = row
        for v in self.project.versions:
            if self.baseline is not None and v <= self.baseline:
                continue
            row = latest.get(v)
            assert row is not None and row.type is RowType.SQL, f"`migrate up` exited 0 but V{v} is not applied:\n{out}"

    @rule(data=st.data())
    def rollback(self, data: Any) -> None:
        self.cli("rollback", plan=data.draw(self.fault_strategy))

    @rule(data=st.data())
    def follow_advice(self, data: Any) -> None:
        """Do what rockway's last message says (one step), with faults in that step too."""
        self._recover_once(data.draw(self.fault_strategy), auto=data.draw(st.booleans()))

    @rule(data=st.data())
    def edit_applied(self, data: Any) -> None:
        applied = [v for v in self._applied_versions() if v in self.project.versions]
        if not applied:
            return
        v = data.draw(st.sampled_from(sorted(applied)))
        script = self.project.versions[v]
        script.note += 1
        self.project.write(script)

    @rule(data=st.data())
    def rename_script(self, data: Any) -> None:
        """Rename a V file (applied or not): only its description changes, so nothing may run again."""
        v = data.draw(st.sampled_from(sorted(self.project.versions)))
        self.project.rename(v, data.draw(st.sampled_from(["renamed", "step_%d" % v, "other_name"])))

    # recovery ----------------------------------------------------------------------------------
    def _applied_versions(self) -> set[int]:
        from rockway.model import RowStatus, RowType

        latest: dict[int, Any] = {}
        for row in self.world.history_rows():
            if row.version is not None and row.type in (RowType.SQL, RowType.UNDO_SQL, RowType.BASELINE, RowType.DELETE):
                latest[int(str(row.version))] = row
        return {v for v, r in latest.items() if r.type is RowType.SQL and r.status is RowStatus.SUCCESS}

    def _edited(self) -> list[tuple[int, str]]:
        """Applied versions whose file changed since (checksum in history differs from the file's)."""
        from rockway.migrate.discovery import checksum_bytes
        from rockway.model import RowStatus, RowType

        latest: dict[int, Any] = {}
        for row in self.world.history_rows():
            if row.version is not None and row.type in (RowType.SQL, RowType.UNDO_SQL, RowType.BASELINE, RowType.DELETE):
                latest[int(str(row.version))] = row
        return sorted((v, r.checksum) for v, r in latest.items() if r.type is RowType.SQL and r.status is RowStatus.SUCCESS
                      and self.project.v_path(v).exists()
                      and r.checksum != checksum_bytes(self.project.v_path(v).read_bytes()))

    def _took_effect(self, label: str, k: int, description: str = "", undo: bool = False) -> bool:
        """The user's check of the database: did statement k of that script take effect?"""
        schema = self.world.schema()
        if label.startswith("R"):
            view = description.replace(" ", "_")[::-1]
            return self.world.views().get(view) == self.project.repeatables[view].source
        version = int(label[1:])
        script = self.project.versions[version]
        # an interrupted undo is labelled with its version (V9) but names `migrate rollback` and the U statement
        ops = script.undo_ops() if undo or label.startswith("U") else script.effective_ops
        return op_in_effect(schema, ops[k - 1])

    def _recover_once(self, plan: FaultPlan | None = None, auto: bool = False) -> bool:
        """Run `migrate up`; if it does not succeed, do the one next thing its message says. True when settled."""
        code, out = self.cli("up")
        if code == 0:
            return True
        edited = self._edited()
        if code == 2 and edited:
            from rockway.model import RowStatus

            if any(r.status is not RowStatus.SUCCESS for r in self.world.history_rows()):
                for v, checksum in edited:  # `repair` would also drop unfinished rows: put the applied text back
                    self.project.revert(v, checksum)
            else:
                self.cli("repair", plan=plan)  # the user reviewed the edits and accepts them: realign checksums
            return False
        rec = parse_recovery(out)
        if rec.kind == "unknown":
            description = ""
            import re

            m = re.search(r"\(([^)]*)\) was interrupted", out)
            if m:
                description = m.group(1)
            undo = any(c.startswith("migrate rollback") for c in rec.commands)
            done = self._took_effect(rec.label, rec.statement, description, undo)
            resume = [c for c in rec.commands if c.endswith("--resume")]
            mark = [c for c in rec.commands if "--statement-done" in c]
            if auto and "migrate up --auto-resolve" in rec.commands:
                assert (mark if done else resume), f"rockway's verdict contradicts the database (took effect: {done}):\n{out}"
                self._run_command("migrate up --auto-resolve", plan)
            elif done:
                assert mark, f"statement {rec.statement} of {rec.label} took effect, but rockway offers no way to mark it:\n{out}"
                self._run_command(mark[0], plan)
            else:
                assert resume, f"statement {rec.statement} of {rec.label} did not take effect, but rockway offers no resume:\n{out}"
                self._run_command(resume[0], plan)
            return False
        if rec.kind == "failed":
            resume = [c for c in rec.commands if c.endswith("--resume")]
            assert resume, f"no `--resume` in the failure message:\n{out}"
            self._run_command(resume[0], plan)
            return False
        runnable = [c for c in rec.commands if c.split()[:2] in (["migrate", "up"], ["migrate", "rollback"])]
        if code == 1 and runnable:  # e.g. "Next: `migrate rollback` finishes it"
            self._run_command(runnable[0], plan)
            return False
        raise AssertionError(f"`migrate up` failed (exit {code}) without a recovery rockway's message names:\n{out}")

    def _run_command(self, command: str, plan: FaultPlan | None) -> None:
        """Run a command exactly as rockway printed it (shell words), as a user pastes it."""
        import shlex

        words = shlex.split(command)
        assert words[0] == "migrate", command
        code, out = self.cli(*words[1:], plan=plan)
        assert code != 2, f"rockway's advice `{command}` is not a valid command:\n{out}"

    def settle(self) -> None:
        for _ in range(20):
            if self._recover_once():
                return
        code, out = self.cli("up")
        raise AssertionError(f"following rockway's recovery messages did not converge in 20 steps; now (exit {code}):\n{out}")

    # invariants --------------------------------------------------------------------------------
    @invariant()
    def nothing_ran_twice(self) -> None:
        assert not self.world.violations(), self.world.violations()

    @invariant()
    def history_agrees_with_the_database(self) -> None:
        from rockway.model import RowStatus, RowType

        rows = self.world.history_rows()
        schema = self.world.schema()
        latest: dict[int, Any] = {}
        applied_ops: dict[int, list[Op]] = {}
        for row in rows:
            if row.version is None:
                continue
            v = int(str(row.version))
            if row.type is RowType.SQL and row.status is RowStatus.SUCCESS and row.checksum in self.project.ops_by_checksum:
                applied_ops[v] = self.project.ops_by_checksum[row.checksum]
            if row.type in (RowType.SQL, RowType.UNDO_SQL, RowType.BASELINE, RowType.DELETE):
                latest[v] = row
        for v in self.project.versions:
            row = latest.get(v)
            candidates = self._expected(v, row, applied_ops.get(v))
            actual = tables_of(schema, v)
            assert actual in candidates, (f"V{v}: the database holds {actual} but its history row"
                                          f" ({row and (row.type.value, row.status.value, row.statements_applied, row.pending_statement)})"
                                          f" allows only {candidates}")
        views = self.world.views()
        for row in rows:
            if row.version is None and row.type is RowType.SQL and row.status is RowStatus.SUCCESS:
                view = row.description.replace(" ", "_")[::-1]
                assert view in views, f"R {row.description} is recorded as applied but view {view} does not exist"

    def _expected(self, v: int, row: Any, applied: list[Op] | None) -> list[dict[str, frozenset[str]]]:
        from rockway.model import RowStatus, RowType

        full_pre = apply_ops({}, self.project.versions[v].effective_ops)
        if row is None:
            return [full_pre] if self.baseline is not None and v <= self.baseline else [{}]
        if row.type is RowType.BASELINE:
            return [full_pre]
        if row.type is RowType.SQL:
            ops = self.project.ops_by_checksum.get(row.checksum or "")
            assert ops is not None, f"V{v}: history checksum {row.checksum} matches no version of the script"
            return self._prefixes({}, ops, row)
        if row.type is RowType.UNDO_SQL:
            base = apply_ops({}, applied or [])
            undo = [Op("drop_table", t) for t in reversed([op.table for op in (applied or []) if op.action == "create"])]
            if row.status is RowStatus.SUCCESS:
                return [apply_ops(base, undo)]
            return self._prefixes(base, undo, row)
        return [{}]

    @staticmethod
    def _prefixes(base: dict[str, frozenset[str]], ops: list[Op], row: Any) -> list[dict[str, frozenset[str]]]:
        from rockway.model import RowStatus

        if row.status is RowStatus.SUCCESS:
            return [apply_ops(base, ops)]
        a = row.statements_applied
        out = [apply_ops(base, ops[:a])]
        if row.status is RowStatus.RUNNING and row.pending_statement is not None and a < len(ops):
            out.append(apply_ops(base, ops[: a + 1]))
        return out

    # convergence -------------------------------------------------------------------------------
    def teardown(self) -> None:
        import sys

        try:
            if sys.exc_info()[0] is not None:
                return  # a step already failed: report that, not a convergence failure that follows from it
            self.settle()
            code, out = self.cli("up")
            assert code == 0, out
            expected = self.project.expected_schema()
            assert self.world.schema() == expected, f"converged to {self.world.schema()}, a crash-free run gives {expected}"
            views = {name: r.source for name, r in self.project.repeatables.items()}
            assert self.world.views() == views, f"views {self.world.views()} differ from the project's {views}"
            assert not self.world.violations(), self.world.violations()
        finally:
            self.world.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
