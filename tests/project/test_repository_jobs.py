"""This repository's jobs and cron.d: cron.d/rockway is valid and calls real commands, and the jobs validate
offline and render for both engines and both environments."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT as REPO
from tests.support.warehouse import copy_project_with_jobs


def test_repository_cron_file_is_valid_and_calls_existing_commands() -> None:
    from rockway.cli.cron_commands import resolve_command
    from rockway.cli.main import cli
    from rockway.cron import next_runs
    from rockway.jobs.schedule import load_cron

    cron = load_cron(REPO)
    assert cron.problems == []
    assert cron.env["CRON_TZ"] == "Europe/Berlin" and len(cron.entries) == 2
    pipelines = set()
    locks = set()
    for entry in cron.entries:
        assert entry.user == "rockway" and entry.log_file and entry.log_file.startswith("/var/log/")
        assert entry.lock_file and entry.lock_file not in locks
        locks.add(entry.lock_file)
        for argv in entry.rockway_commands:
            assert resolve_command(cli, argv) is None, argv
            assert argv[0] == "run"
            pipelines.add(argv[1])
        runs = next_runs(entry, 3, start=datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc))
        assert len(runs) == 3 and all(r.tzinfo is not None for r in runs) and runs == sorted(runs)
    assert pipelines == {"evening", "morning"}
    import yaml

    assert pipelines <= set(yaml.safe_load((REPO / "jobs" / "pipelines.yaml").read_text())["pipelines"])
    # the evening run: 19:30 Berlin on weekdays; in March 2026 Berlin is UTC+1 until the 29th
    evening = next(e for e in cron.entries if "evening" in e.command)
    first = next_runs(evening, 1, start=datetime(2026, 3, 6, 20, 0, tzinfo=timezone.utc))[0]
    assert first.isoformat() == "2026-03-09T19:30:00+01:00"
    assert resolve_command(cli, ("job", "runn")) is not None
    assert resolve_command(cli, ("run",)) is not None  # missing PIPELINE


def test_repository_jobs_validate_offline() -> None:
    result = run_cli(REPO, "job", "validate", "--offline", env={"ROCKWAY_DSN": ""})
    assert result.code == 0, result.err


@pytest.mark.parametrize("engine", ["starrocks", "mysql"])
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_repository_jobs_render_for_both_engines(engine: str, env: str) -> None:
    windows = {"fact_sales": ("2026-03-06", "2026-03-09"), "stg_billing_item": ("2026-03-09 04:00:00", "2026-03-10 06:00:00"),
               "dim_customer": ("2026-03-09 00:00:00", "2026-03-10 00:00:00"),
               "dim_material": ("2026-03-09 00:00:00", "2026-03-10 00:00:00")}
    for job, (lo, hi) in windows.items():
        result = run_cli(REPO, "--env", env, "job", "render", job, "--engine", engine, "--from", lo, "--to", hi,
                         env={"ROCKWAY_DSN": ""})
        assert result.code == 0, result.err
        from rockway import sqlsplit

        statements = sqlsplit.split(result.out, hash_comments=engine == "mysql")
        body = [line for line in result.out.splitlines() if line and not line.startswith("--")]
        assert body[-1].endswith(";")
        assert statements and all(s.sql.strip() for s in statements)
        text = result.out
        if engine == "starrocks":
            assert "START TRANSACTION" not in text and "ON DUPLICATE KEY" not in text
            assert "WITH LABEL `rw_" + job in text
            if env == "prod" and job != "fact_sales":
                assert "`erp_jdbc`.`erp`." in text  # the JDBC catalog
        else:
            assert "WITH LABEL" not in text
        if job == "fact_sales":
            if engine == "starrocks":
                assert text.count("INSERT OVERWRITE `sales_dw`.`fact_sales` PARTITION (`billing_date` = ") == 3
                assert "PARTITION (`billing_date` = '2026-03-07') WITH LABEL `rw_fact_sales_20260306_20260309_d20260307_" in text
            else:
                assert "START TRANSACTION;" in text and "COMMIT;" in text
                assert "DELETE FROM `sales_dw`.`fact_sales` WHERE `billing_date` > '2026-03-06' AND `billing_date` <= " \
                       "'2026-03-09';" in text


def test_the_repository_project_validates(tmp_path: Path) -> None:
    """The shipped jobs, checks, pipelines and cron.d file pass the stricter validation."""
    project = copy_project_with_jobs(tmp_path / "project")
    result = run_cli(project, "job", "validate", "--offline", env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 0, result.err
