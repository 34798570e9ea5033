"""`rockway rehearse` on the real MariaDB: the warehouse of this repository from empty, a broken U script, a job
that reads a dropped column, `--pending`, Ctrl-C, a shared database and a `rockway init` project; the JUnit report
against tests/data/junit-10.xsd and its structure. Bad input, an unreachable server, the prefix rule and the
readiness logic of the StarRocks container, without a server: tests/unit/test_rehearse.py.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.rehearse import (PASSWORD, failed, junit_cases, leftovers, prefix_of, rehearse, server_dsn, shop,
                                     warehouse)
from tests.support.warehouse import admin_connection

@pytest.fixture
def privileged_user(mariadb_server: str) -> Any:
    """A user with a password and every privilege (creates databases and roles), dropped afterwards."""
    name = f"rhu{uuid.uuid4().hex[:8]}"
    conn = admin_connection(mariadb_server)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE USER `{name}`@'%%' IDENTIFIED BY %s", (PASSWORD,))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO `{name}`@'%' WITH GRANT OPTION")
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS `{name}`@'%'")
        conn.close()


# --- the warehouse of this repository ---------------------------------------------------------------------


@pytest.mark.mariadb
def test_the_warehouse_rehearses_from_empty_and_leaves_nothing(mariadb_server: str, tmp_path: Path,
                                                               privileged_user: str) -> None:
    root = warehouse(tmp_path)
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    dsn = server_dsn(mariadb_server, "warehouse", user=privileged_user, password=PASSWORD)
    result = rehearse(root, "--dsn", dsn, "--junit", str(tmp_path / "rehearse.xml"), "--markdown",
                      str(tmp_path / "rehearse.md"), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 0, result.out + result.err
    prefix = prefix_of(result)
    assert leftovers(mariadb_server, prefix) == []
    cases = junit_cases(tmp_path / "rehearse.xml")
    assert failed(cases) == {}
    names = {name for _, name in cases}
    scripts = sorted(p.name for p in (root / "migrations").glob("V*.sql"))
    for script in scripts:
        assert f"migrations/{script}" in names
        assert f"migrations/U{script[1:]} undoes {script.split('__')[0]}" in names
    assert {"migrate up again", "same schema after the second up", "migrate validate", "jobs/checks/sales.yaml",
            "fact_sales", "stg_billing_item", "dim_customer", "dim_material"} <= names
    assert ("materialized views", "materialized views") in cases  # skipped on MariaDB, with its reason
    markdown = (tmp_path / "rehearse.md").read_text(encoding="utf-8")
    assert markdown.startswith("## rockway rehearse: passed")
    assert "| first up | migrations/V9__fact_sales.sql |" in markdown
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + markdown
    for text in (markdown, (tmp_path / "rehearse.xml").read_text(encoding="utf-8"), result.out, result.err):
        assert PASSWORD not in text


# --- failures, each named ---------------------------------------------------------------------------------

@pytest.mark.mariadb
def test_a_u_script_that_does_not_undo_its_v_fails_naming_it(mariadb_server: str, tmp_path: Path) -> None:
    root = shop(tmp_path, mariadb_server, "-- forgets orders.customer_id\nDROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    result = rehearse(root, "--junit", str(tmp_path / "r.xml"), "--markdown", str(tmp_path / "r.md"))
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    bad = failed(junit_cases(tmp_path / "r.xml"))
    assert list(bad) == [("round trip", "migrations/U2__customers.sql undoes V2")]
    assert "shop_app.orders: not restored by migrations/U2__customers.sql" in bad[("round trip", "migrations/U2__customers.sql undoes V2")]
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "+  `customer_id` int(11) DEFAULT NULL" in markdown  # the schema diff
    assert "FAILED round trip: migrations/U2__customers.sql undoes V2" in result.err


@pytest.mark.mariadb
def test_the_same_project_with_a_correct_u_script_passes(mariadb_server: str, tmp_path: Path) -> None:
    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    result = rehearse(root, "--keep")
    assert result.code == 0, result.out + result.err
    prefix = prefix_of(result)
    try:
        assert f"kept everything named {prefix}*" in result.out
        assert sorted(leftovers(mariadb_server, prefix)) == [f"database {prefix}shop_app", f"database {prefix}shop_meta"]
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            for name in ("shop_app", "shop_meta"):
                cur.execute(f"DROP DATABASE IF EXISTS `{prefix}{name}`")
        conn.close()


@pytest.mark.mariadb
def test_a_job_that_reads_a_dropped_column_fails_naming_the_job(mariadb_server: str, tmp_path: Path) -> None:
    root = warehouse(tmp_path)
    (root / "migrations" / "V18__drop_tax_amount.sql").write_text(
        "ALTER TABLE {{ raw_db }}.stg_billing_item DROP COLUMN mwsbp;\n", encoding="utf-8")
    (root / "migrations" / "U18__drop_tax_amount.sql").write_text(
        "ALTER TABLE {{ raw_db }}.stg_billing_item ADD COLUMN mwsbp DECIMAL(18,2) NULL"
        " COMMENT 'tax amount, document currency' AFTER netwr;\n", encoding="utf-8")
    result = rehearse(root, "--dsn", server_dsn(mariadb_server, "warehouse"), "--junit", str(tmp_path / "r.xml"))
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    bad = failed(junit_cases(tmp_path / "r.xml"))
    assert set(bad) == {("jobs", "fact_sales"), ("jobs", "stg_billing_item")}  # reads it / writes it
    assert bad[("jobs", "fact_sales")].startswith("job fact_sales (jobs/fact_sales.yaml): statement")
    assert "mwsbp" in bad[("jobs", "fact_sales")]
    assert "rockway job render fact_sales --from 2000-01-01 --to 2000-01-02" in result.err


@pytest.mark.mariadb
def test_pending_applies_only_the_release_and_shows_what_it_changes(mariadb_server: str, tmp_path: Path,
                                                                    db_dsn: str) -> None:
    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    app_db = f"{db_dsn.rsplit('/', 1)[1]}_app"
    env = {"ROCKWAY_DSN": db_dsn, "ROCKWAY_VAR_APP_DB": app_db}
    try:
        assert run_cli(root, "migrate", "up", "--target", "1", env=env).code == 0  # the server before the release
        result = rehearse(root, "--pending", "--markdown", str(tmp_path / "r.md"), "--junit", str(tmp_path / "r.xml"),
                          env=env)
        assert result.code == 0, result.out + result.err
        cases = junit_cases(tmp_path / "r.xml")
        assert [name for suite, name in cases if suite == "migrations"] == ["migrations/V2__customers.sql"]
        assert not any(suite == "round trip" for suite, _ in cases)
        markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
        assert f"- {app_db}.customers: new after the release" in markdown
        assert f"- {app_db}.orders: changed" in markdown
        assert "pending migrations only" in markdown
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{app_db}`")
        conn.close()


@pytest.mark.mariadb
def test_ctrl_c_drops_everything_the_rehearsal_created(mariadb_server: str, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    root = warehouse(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env["ROCKWAY_DSN"] = server_dsn(mariadb_server, "warehouse")
    proc = subprocess.Popen([sys.executable, "-c", "from rockway.cli.main import main; main()", "rehearse"], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prefix = None
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "is named rh_" in line:
                prefix = line.rsplit(" ", 1)[1].strip().rstrip("*")
            if "rehearse: rollback:" in line:  # in the middle of the round trip
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert prefix and leftovers(mariadb_server, prefix) == []
    assert f"dropping everything named {prefix}*" in err


# --- shared databases, failing migrations, a new project --------------------------------------------------


@pytest.mark.mariadb
def test_a_database_named_literally_is_reported_as_shared(mariadb_server: str, tmp_path: Path) -> None:
    literal = f"shared_{uuid.uuid4().hex[:8]}"
    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    with (root / "migrations" / "V1__orders.sql").open("a", encoding="utf-8") as fh:
        fh.write(f"CREATE TABLE {literal}.notes (id INT NOT NULL);\n")
    (root / "migrations" / "V0_9__shared.sql").write_text(f"CREATE DATABASE {literal};\n", encoding="utf-8")
    (root / "migrations" / "U0_9__shared.sql").write_text(f"DROP DATABASE {literal};\n", encoding="utf-8")
    with (root / "migrations" / "U1__orders.sql").open("a", encoding="utf-8") as fh:
        fh.write(f"DROP TABLE {literal}.notes;\n")
    try:
        result = rehearse(root)
        assert result.code == 0, result.out + result.err
        assert (f"warning: database {literal} is not named through a `*_db` variable of rockway.toml: the rehearsal "
                "used it without its prefix and does not drop it") in result.err
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{literal}`")
        conn.close()


@pytest.mark.mariadb
def test_a_failing_migration_names_script_statement_and_next_command(mariadb_server: str, tmp_path: Path) -> None:
    root = shop(tmp_path, mariadb_server, "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    (root / "migrations" / "V2__customers.sql").write_text(
        "CREATE TABLE {{ app_db }}.customers (id INT NOT NULL);\n"
        "ALTER TABLE {{ app_db }}.orders ADD COLUMN customer_id INTEGRE NULL;\n", encoding="utf-8")
    result = rehearse(root, "--junit", str(tmp_path / "r.xml"))
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    cases = junit_cases(tmp_path / "r.xml")
    assert list(failed(cases)) == [("migrations", "migrations/V2__customers.sql")]
    text = cases[("migrations", "migrations/V2__customers.sql")].find("failure").text or ""  # type: ignore[union-attr]
    assert "V2 (customers) failed at statement 2 of 2" in text and "INTEGRE" in text
    assert "Next: fix statement 2 in migrations/V2__customers.sql, then run `migrate up --resume`" in text
    assert not any(suite == "round trip" for suite, _ in cases)  # nothing to round-trip after a failed up


@pytest.mark.mariadb
def test_a_project_from_rockway_init_rehearses_under_the_prefix(mariadb_server: str, tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init", "shop").code == 0
    root = tmp_path / "shop"
    result = rehearse(root, "--dsn", server_dsn(mariadb_server, "shop_rockway"), "--junit", str(tmp_path / "r.xml"))
    assert result.code == 0, result.out + result.err
    prefix = prefix_of(result)
    assert leftovers(mariadb_server, prefix) == []
    assert "warning: database" not in result.err  # every database it creates is named through a `*_db` variable
    cases = junit_cases(tmp_path / "r.xml")
    assert failed(cases) == {} and any(suite == "jobs" for suite, _ in cases)
