"""What every project `rockway init` writes must do right away, against the real MariaDB: its commands succeed,
lint is clean for prod, and the daily pipeline loads the dev source (what init writes: tests/unit/test_scaffold.py).
"""

from __future__ import annotations

import pytest

from tests.support.scaffold import (drop_databases, init, lint_summary, project_env, query, run_after_init, runner,
                                    unique_name)


@pytest.mark.mariadb
@pytest.mark.parametrize("args", [(), ("--no-jobs", "--no-compose")])
def test_commands_succeed_right_after_init(tmp_path, mariadb_server, args):
    name = unique_name()
    assert init(tmp_path, "wh", "--name", name, *args).code == 0
    project = tmp_path / "wh"
    run = runner(["python3", "-c", "from rockway.cli.main import main; main()"], project,
                 project_env(mariadb_server, name))
    try:
        steps = run_after_init(run, jobs="--no-jobs" not in args)
        summary = lint_summary(steps[("lint", "--env", "prod")])
        assert summary["errors"] == 0 and summary["unverified"] == 0 and summary["statements"] > 0
        tables = {row[0] for row in query(mariadb_server, "SELECT table_name FROM information_schema.tables "
                                                         f"WHERE table_schema = '{name}_dw'")}
        assert {"orders", "currency", "v_daily_revenue"} <= tables
        if "--no-jobs" in args:
            return
        # The job is real: the daily pipeline loads the dev source's orders and its checks pass.
        pipeline = run("run", "daily", "--env", "dev")
        assert pipeline.code == 0, pipeline.explain()
        loaded = query(mariadb_server, f"SELECT COUNT(*), COUNT(etl_run_id) FROM `{name}_dw`.orders")
        assert loaded == [(4, 4)]
    finally:
        drop_databases(mariadb_server, name)
