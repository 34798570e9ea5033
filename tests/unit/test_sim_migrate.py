"""Generated scenarios: the migration engine against the in-memory StarRocks model (tests/support/sim_engine.py).

Projects of V scripts with 0..4 statements (some rendered away by `{% if false %}`), undo scripts,
repeatable views reading tables and other views; operations up / rollback / following rockway's own
recovery advice (`--resume`, `repair --statement-done`, `repair`), edits of applied scripts, and
`migrate baseline`; faults: process crashes and dropped connections before or after any statement,
"schema change in progress" refusals (StarRocks fe/fe-core/src/main/java/com/starrocks/common/
InvalidOlapTableStateException.java) and CANCELLED column jobs (the rows of StarRocks issue #46534).
Invariants after every step (tests/support/sim_machine.py): no statement ran twice, the history agrees with
the model, and following the advice always converges to the state of a crash-free run.

CI runs the "ci" Hypothesis profile (tests/conftest.py); a long run: HYPOTHESIS_PROFILE=soak.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tests.support.sim_engine import FaultPlan, Op, StarRocksModel, VScript, model_adapter, SIM_DSN
from tests.support.sim_machine import LEASE, MigrationMachine, World


class ModelWorld(World):
    """The StarRocks model: history and lock tables live in it and survive crashes."""

    dialect = "starrocks"
    dsn = SIM_DSN
    # The schema snapshot around `migrate up` reads StarRocks introspection the model does not interpret; it never
    # fails a migration (tooling/rockway/schema/api.py before_migrate, record_after_migrate), so the simulation
    # leaves it out.
    patches = {"rockway.schema.api.before_migrate": lambda *args, **kwargs: None,
               "rockway.schema.api.record_after_migrate": lambda *args, **kwargs: None}

    def __init__(self) -> None:
        self.model = StarRocksModel()

    def adapter(self, settings: Any) -> Any:
        return model_adapter(self.model, settings)

    def arm(self, plan: FaultPlan) -> None:
        self.model.plan = plan

    def after_run(self) -> None:
        self.model.finish_jobs()  # the FE finishes accepted jobs whether or not the client waits
        if self.model.lock_present():
            self.model.pass_time(LEASE + 1)  # a dead run's lease runs out before the user tries again

    def schema(self) -> dict[str, frozenset[str]]:
        return self.model.schema()

    def views(self) -> dict[str, str]:
        return self.model.view_sources()

    def history_rows(self) -> list[Any]:
        from rockway.migrate.history import row_from_db

        meta = self.model.meta.get("rockway_schema_history")
        if meta is None:
            return []
        return [row_from_db({k.lower(): v for k, v in r.items()}) for _, r in sorted(meta.rows.items())]

    def violations(self) -> list[str]:
        return list(self.model.violations)

    def apply_direct(self, sql: list[str]) -> None:
        for statement in sql:
            self.model.handle(statement, None)
            self.model.finish_jobs()


class StarRocksModelMachine(MigrationMachine):
    world_factory = ModelWorld


def test_migration_engine_against_the_starrocks_model() -> None:
    run_state_machine_as_test(StarRocksModelMachine, settings=settings(stateful_step_count=20))


def test_a_rollback_interrupted_after_its_last_drop_finishes_after_statement_done() -> None:
    """Found by the simulation: the U statement marked done must be the U script's, and rollback must go on."""
    machine = StarRocksModelMachine()
    try:
        machine.project.write(VScript(1, [Op("create", "t1_0"), Op("create", "t1_1")], undo=True))
        assert machine.cli("up")[0] == 0
        # rollback sends: … W (U1 pending 1), DROP t1_1, W (pending 2), DROP t1_0 <- the process dies right after it
        code, out = machine.cli("rollback", plan=FaultPlan(at={n: "crash_after" for n in range(1, 60)
                                                               if n == _drop_index(machine, "t1_0")}))
        assert code is None and "t1_0" not in machine.world.schema()
        code, out = machine.cli("up")
        assert code == 1 and "`migrate repair --statement-done 1`" in out, out
        code, out = machine.cli("repair", "--statement-done", "1")
        assert code == 0 and "`migrate rollback`" in out, out
        code, out = machine.cli("rollback")
        assert code == 0, out
        assert machine.world.schema() == {} and machine.world.violations() == []
        rows = machine.world.history_rows()
        assert rows[-1].type.value == "UNDO_SQL" and rows[-1].status.value == "success"
    finally:
        machine.world.close()


def _drop_index(machine: StarRocksModelMachine, table: str) -> int:
    """The number of the statement `DROP TABLE <table>` would be in a fault-free `migrate rollback` (dry count)."""
    probe = ModelWorld()
    probe.model.meta = copy.deepcopy(machine.world.model.meta)
    probe.model.tables = copy.deepcopy(machine.world.model.tables)
    world, machine.world = machine.world, probe
    try:
        machine.cli("rollback")
    finally:
        machine.world = world
    return next(i for i, text in enumerate(probe.model.log, 1) if text == f"DROP TABLE {table}")


def test_statement_done_for_a_rollback_whose_undo_script_is_gone_is_refused_and_writes_nothing() -> None:
    machine = StarRocksModelMachine()
    try:
        machine.project.write(VScript(1, [Op("create", "t1_0")], undo=True))
        assert machine.cli("up")[0] == 0
        code, _ = machine.cli("rollback", plan=FaultPlan(at={_drop_index(machine, "t1_0"): "crash_after"}))
        assert code is None
        before = machine.world.history_rows()
        (machine.project.root / "migrations" / "U1__step_1.sql").unlink()
        code, out = machine.cli("repair", "--statement-done", "1")
        assert code == 2 and "U1" in out and "undo script" in out, out
        assert machine.world.history_rows() == before
    finally:
        machine.world.close()
