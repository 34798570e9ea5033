"""Bad inputs of the job side: exit 2, a message naming the file (and line) or the setting, and nothing written.

Each case edits one file of a copy of the sales warehouse's project (jobs/, cron.d/, rockway.toml) or passes a
bad flag, runs the command a person or cron would run (mostly `rockway run morning`, which must check every
file the pipeline reads before it connects), and then checks the migrated MariaDB warehouse: no etl_job_run or
etl_watermark rows, no table added or dropped. The project uses rockway's own verifier (no `[jobs] verifier`),
so check references are resolved against jobs/checks/.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.jobs import JobsWarehouse, jobs_toml
from tests.support.cli import run_cli

RUN = ("run", "morning", "--as-of", "2026-03-02T05:00:00Z")
VALIDATE = ("job", "validate", "--offline")
SCHEDULE = ("schedule",)
CRON_EVENING = "30 19 *   *   1-5  rockway  cd /opt"


@dataclass(frozen=True)
class Bad:
    """Edits (file, old text, new text; old None: append new), the command, and what stderr must contain."""

    edits: tuple[tuple[str, str | None, str], ...]
    args: tuple[str, ...]
    expect: tuple[str, ...]  # all in stderr; the first names the file (and line) or the setting; AT_EDIT:
    # the first edited file and the line its new text starts on
    env: dict[str, str] = field(default_factory=dict)


def case(id: str, edits: list[tuple[str, str | None, str]], args: tuple[str, ...], *expect: str,
         env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return pytest.param(Bad(tuple(edits), args, expect, env or {}), id=id)


def spec(old: str | None, new: str) -> tuple[str, str | None, str]:
    return ("jobs/fact_sales.yaml", old, new)


def checks(old: str | None, new: str) -> tuple[str, str | None, str]:
    return ("jobs/checks/sales.yaml", old, new)


def pipelines(old: str | None, new: str) -> tuple[str, str | None, str]:
    return ("jobs/pipelines.yaml", old, new)


def toml(old: str | None, new: str) -> tuple[str, str | None, str]:
    return ("jobs/jobs.toml", old, new)


def cron(old: str, new: str) -> tuple[str, str | None, str]:
    return ("cron.d/rockway", old, new)


CASES = [
    # --- job specs and their SQL ------------------------------------------------------------------------------
    case("spec-unknown-field", [spec("owner: sales-data-engineering", "owner: x\nowner_team: y")], RUN,
         "jobs/fact_sales.yaml:", "owner_team", "unknown field"),
    case("spec-unknown-strategy", [spec("strategy: replace_window", "strategy: overwrite")], RUN,
         "jobs/fact_sales.yaml:", "load.strategy", "'overwrite'"),
    case("spec-watermark-unknown-column", [spec("  column: billing_date", "  column: billed_on")], RUN,
         "jobs/fact_sales.yaml:", "watermark.column", "billed_on"),
    case("spec-extract-file-missing", [spec("extract: fact_sales.sql", "extract: fact_sales_v2.sql")], RUN,
         "jobs/fact_sales.yaml:", "fact_sales_v2.sql", "not found"),
    case("spec-not-yaml", [spec(None, "load: [\n")], RUN, "jobs/fact_sales.yaml:", "not valid YAML"),
    case("spec-unknown-dependency", [spec("depends_on: [stg_billing_item, dim_customer]",
                                          "depends_on: [stg_billing_item, dim_cust]")], RUN,
         "jobs/fact_sales.yaml:", "depends_on[1]", "dim_cust"),
    case("spec-undeclared-column", [spec("  source_changed_at: DATETIME\n", "")], RUN,
         "jobs/fact_sales.yaml:", "source_changed_at"),
    case("spec-sql-undefined-variable", [("jobs/fact_sales.sql", None, "\n-- {{ no_such_var }}\n")], RUN,
         "jobs/fact_sales", "no_such_var"),
    case("spec-unknown-check", [spec("checks: [fact_sales_unique_items,", "checks: [fact_sales_unique_itemz,")], RUN,
         "jobs/fact_sales.yaml:", "checks[0]", "fact_sales_unique_itemz"),
    # --- check files ------------------------------------------------------------------------------------------
    case("checks-unknown-key", [checks("        severity: INFO\n", "        severity: INFO\n        severty: INFO\n")],
         RUN, "jobs/checks/sales.yaml:", "unknown key 'severty'"),
    case("checks-unknown-severity", [checks("        severity: CRITICAL\n", "        severity: FATAL\n")], RUN,
         "jobs/checks/sales.yaml:", "FATAL"),
    case("checks-not-yaml", [checks(None, "tables: [\n")], RUN, "jobs/checks/sales.yaml:", "not valid YAML"),
    case("checks-duplicate-name", [checks("name: fact_sales_rows_vs_staging", "name: fact_sales_rows")], RUN,
         "jobs/checks/sales.yaml:", "'fact_sales_rows' is used twice"),
    case("checks-undefined-variable", [checks('    where: "is_current = TRUE"',
                                              '    where: "is_current = {{ current_flag }}"')], RUN,
         "jobs/checks/sales.yaml:", "fact_sales_customer_known", "current_flag"),
    case("checks-unknown-anomaly-method", [checks("method: robust_z", "method: magic")], RUN,
         "jobs/checks/sales.yaml:", "magic"),
    case("checks-new-file-with-unknown-key", [("jobs/checks/extra.yaml", None,
                                               "version: 1\ntables:\n  - table: t\n    checks:\n"
                                               "      - row_count: {min: 1}\n        sevrity: INFO\n")], RUN,
         "jobs/checks/extra.yaml:6", "sevrity"),
    case("checks-bad-file-job-run", [checks("    scope: current_rows\n", "    scope: current_rows\n    filter: x\n")],
         ("job", "run", "fact_sales", "--as-of", "2026-03-02T05:00:00Z"), "jobs/checks/sales.yaml:", "'filter'"),
    case("checks-bad-file-backfill", [checks("    scope: current_rows\n", "    scope: current_rows\n    filter: x\n")],
         ("job", "backfill", "fact_sales", "--from", "2026-03-01", "--to", "2026-03-01"), "jobs/checks/sales.yaml:",
         "'filter'"),
    # --- pipelines.yaml ---------------------------------------------------------------------------------------
    case("pipeline-unknown-step", [pipelines("      - sql: sql/dim_sales_group.sql", "      - email: {}")], RUN,
         "AT_EDIT", "unknown step 'email'"),
    case("pipeline-unknown-job", [pipelines("jobs: [stg_billing_item, fact_sales]", "jobs: [stg_billing_item, fact_salez]")],
         RUN, "AT_EDIT", "fact_salez"),
    case("pipeline-sql-file-missing", [pipelines("sql: sql/dim_sales_group.sql", "sql: sql/nope.sql")], RUN,
         "AT_EDIT", "sql/nope.sql"),
    case("pipeline-refresh-undefined-variable", [pipelines('"{{ dw_db }}.mv_sales_daily"', '"{{ dwh_db }}.mv_sales_daily"')],
         RUN, "AT_EDIT", "dwh_db"),
    case("pipeline-sql-template-error", [("jobs/sql/dim_sales_group.sql", None, "\n{% if %}\n")], RUN,
         "jobs/sql/dim_sales_group.sql", "template syntax error"),
    case("pipeline-unknown-check", [pipelines("verify: [fact_sales_unique_items,", "verify: [fact_sales_uniqe,")], RUN,
         "AT_EDIT", "fact_sales_uniqe"),
    # --- jobs.toml --------------------------------------------------------------------------------------------
    case("toml-unknown-setting", [toml("concurrency = 2", "concurency = 2")], RUN, "jobs/jobs.toml:3 [jobs]",
         "concurency"),
    case("toml-not-toml", [toml("concurrency = 2", "concurrency = ")], RUN, "jobs/jobs.toml", "not valid TOML", "line"),
    case("toml-unknown-time-zone", [toml('business_time_zone = "UTC"', 'business_time_zone = "Europe/Berln"')], RUN,
         "jobs/jobs.toml", "business_time_zone", "Europe/Berln"),
    case("toml-source-unknown-key", [toml('kind = "dsn"', 'kind = "dsn"\npasswd = "x"')], RUN,
         "jobs/jobs.toml:", "jobs.sources.erp", "passwd"),
    case("toml-zero-concurrency", [toml("concurrency = 2", "concurrency = 0")], RUN, "jobs/jobs.toml", "concurrency"),
    # --- cron.d -----------------------------------------------------------------------------------------------
    case("cron-no-user-schedule", [cron(CRON_EVENING, "30 19 * * 1-5 cd /opt")], SCHEDULE,
         "cron.d/rockway:13:", "user", "m h dom mon dow user command"),
    case("cron-no-user-validate", [cron(CRON_EVENING, "30 19 * * 1-5 cd /opt")], VALIDATE,
         "cron.d/rockway:13:", "user"),
    case("cron-rockway-without-user", [cron("15 5  *   *   2-6  rockway  cd /opt/sales-warehouse && "
                                            "flock -n /run/lock/rockway-morning.lock rockway",
                                            "15 5 * * 2-6 rockway")], SCHEDULE, "cron.d/rockway:14:", "no user field"),
    case("cron-unknown-env-schedule", [cron("run morning --env prod", "run morning --env prd")], SCHEDULE,
         "cron.d/rockway:14:", "'prd'", "Defined: dev, prod"),
    case("cron-unknown-env-validate", [cron("run evening --env prod", "run evening --env=prd")], VALIDATE,
         "cron.d/rockway:13:", "'prd'", "Defined: dev, prod"),
    case("cron-bad-schedule", [cron("30 19 *   *   1-5", "30 25 *   *   1-5")], VALIDATE, "cron.d/rockway:13:",
         "schedule"),
    case("cron-unknown-pipeline", [cron("run evening --env prod", "run evenin --env prod")], VALIDATE,
         "cron.d/rockway:13:", "evenin"),
    # --- environment names ------------------------------------------------------------------------------------
    case("env-run", [], RUN + ("--env", "prd"), "environment 'prd'", "Defined: dev, prod"),
    case("env-job-validate", [], VALIDATE + ("--env", "prd"), "environment 'prd'", "Defined: dev, prod"),
    case("env-schedule", [], SCHEDULE + ("--env", "prd"), "environment 'prd'", "Defined: dev, prod"),
    case("env-verify", [], ("verify", "--explain", "--env", "prd"), "environment 'prd'", "Defined: dev, prod"),
    case("env-variable", [], VALIDATE, "environment 'prd'", "Defined: dev, prod", env={"ROCKWAY_ENV": "prd"}),
    # --- window flags -----------------------------------------------------------------------------------------
    case("render-from-without-to", [], ("job", "render", "fact_sales", "--from", "2026-11-01"), "--from", "--to"),
    case("render-bad-date", [], ("job", "render", "fact_sales", "--from", "2026-13-01", "--to", "2026-11-02"),
         "--from/--to", "date"),
    case("backfill-bad-date", [], ("job", "backfill", "fact_sales", "--from", "2026-02-30", "--to", "2026-03-01"),
         "--from", "2026-02-30"),
    case("backfill-to-before-from", [], ("job", "backfill", "fact_sales", "--from", "2026-03-05", "--to", "2026-03-01"),
         "--to is before --from"),
    case("backfill-unknown-job", [], ("job", "backfill", "fact_salez", "--from", "2026-03-01", "--to", "2026-03-02"),
         "no job named 'fact_salez'", "fact_sales"),
    case("reset-bad-to", [], ("job", "reset-watermark", "fact_sales", "--to", "yesterday", "--yes"), "--to",
         "'yesterday'"),
    case("run-bad-as-of", [], ("run", "morning", "--as-of", "tomorrow morning"), "--as-of"),
    case("verify-bad-scope", [], ("verify", "--explain", "--scope", "window_start"), "--scope"),
]


@pytest.fixture(scope="module")
def warehouse(mariadb_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobsWarehouse]:
    w = JobsWarehouse(mariadb_server, tmp_path_factory.mktemp("bad_jobs"))
    text = "\n".join(line for line in jobs_toml(w.erp_db).splitlines() if not line.startswith(("verifier", "notifier")))
    (w.root / "jobs" / "jobs.toml").write_text(text, encoding="utf-8")
    try:
        yield w.setup()
    finally:
        w.drop()


def _state(w: JobsWarehouse) -> tuple[object, ...]:
    etl = w.db("etl")
    tables = w.query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN (%s, %s, %s)"
                     " ORDER BY 1, 2", (w.db("raw"), w.db("dw"), etl))
    runs = w.query(f"SELECT COUNT(*) FROM `{etl}`.etl_job_run")[0][0]
    marks = w.query(f"SELECT COUNT(*) FROM `{etl}`.etl_watermark")[0][0]
    facts = w.query(f"SELECT COUNT(*) FROM `{w.db('dw')}`.fact_sales")[0][0]
    return tuple(tables), runs, marks, facts


def test_the_unchanged_project_passes(warehouse: JobsWarehouse) -> None:
    """The baseline: without the edits the same project validates, so each case fails for its own edit only."""
    result = warehouse.cli(*VALIDATE)
    assert result.code == 0, result.err
    result = warehouse.cli(*SCHEDULE)
    assert result.code == 0, result.err


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_exits_2_and_writes_nothing(bad: Bad, warehouse: JobsWarehouse, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(warehouse.root, root)
    for relative, old, new in bad.edits:
        path = root / relative
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if old is None:
            text += new
        else:
            assert old in text, f"{relative} no longer contains {old!r}: update the case"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    expect = list(bad.expect)
    if "AT_EDIT" in expect:
        relative, _, new = bad.edits[0]
        at_edit = f"{relative}:{_line_of(root / relative, new.strip().splitlines()[0])}"
        expect = [at_edit if text == "AT_EDIT" else text for text in expect]
    before = _state(warehouse)
    assert before[1:] == (0, 0, 0)
    result = run_cli(root, *bad.args, env=warehouse.env(**bad.env))
    after = _state(warehouse)
    if after != before:  # leave the shared warehouse clean for the next case, then fail this one
        _clean(warehouse, before[0])
    assert after == before, "the bad input led to writes"
    assert result.code == 2, f"exit {result.code}\nstdout: {result.out}\nstderr: {result.err}"
    for text in expect:
        assert text in result.err, f"{text!r} missing from stderr:\n{result.err}"
    assert "━" not in result.err, f"a progress bar was drawn for input refused:\n{result.err}"


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def _clean(w: JobsWarehouse, tables: tuple[tuple[str, str], ...]) -> None:
    for schema, table in {tuple(t) for t in _state(w)[0]} - {tuple(t) for t in tables}:
        w.query(f"DROP TABLE IF EXISTS `{schema}`.`{table}`")
    for table in ("etl_job_run", "etl_watermark"):
        w.query(f"DELETE FROM `{w.db('etl')}`.{table}")
    w.query(f"DELETE FROM `{w.db('dw')}`.fact_sales")
