"""End-to-end `migrate` behaviour against a real MariaDB server."""

from __future__ import annotations

import json

import pytest

from tests.support.database import history, tables

V1 = """-- orders: business purpose
CREATE TABLE orders (id INT NOT NULL, amount DECIMAL(10,2), PRIMARY KEY (id));
INSERT INTO orders VALUES (1, 10.50), (2, 3.25);
"""
U1 = "DROP TABLE IF EXISTS orders;\n"
V2 = """CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, name VARCHAR(50));
ALTER TABLE orders ADD COLUMN customer_id INT;
"""
U2 = "ALTER TABLE orders DROP COLUMN customer_id;\nDROP TABLE IF EXISTS customers;\n"


def test_up_applies_versions_in_order_and_records_history(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    project.migration("V1.10__later.sql", "CREATE TABLE t110 (x INT);\n")
    project.migration("V1.9__earlier.sql", "CREATE TABLE t19 (x INT);\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    rows = history(sql)
    assert [row["version"] for row in rows] == ["1", "1.9", "1.10"]
    assert all(row["success"] == 1 and row["status"] == "success" for row in rows)
    assert rows[0]["statements_total"] == 2 and rows[0]["statements_applied"] == 2
    assert len(json.loads(rows[0]["statement_hashes"])) == 2
    assert len(rows[0]["checksum"]) == 64 and rows[0]["trace_id"] and len(rows[0]["trace_id"]) == 32
    assert rows[0]["run_id"] and rows[0]["host"] and rows[0]["tool_version"]
    assert {"orders", "t19", "t110"} <= tables(sql)
    again = cli("migrate", "up")
    assert again.code == 0 and "up to date" in again.out
    assert len(history(sql)) == 3


def test_failed_statement_keeps_earlier_statements_and_resume_continues(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    bad = project.migration("V2__customers.sql", "CREATE TABLE customers (id INT);\nALTER TABLE nope ADD COLUMN x INT;\n"
                            "CREATE TABLE after_fix (id INT);\n")
    r = cli("migrate", "up")
    assert r.code == 1
    assert "V2 (customers) failed at statement 2 of 3" in r.err
    assert "ALTER TABLE nope" in r.err and "--resume" in r.err and "migrate repair" in r.err
    assert "customers" in tables(sql)  # statement 1 stays applied
    row = history(sql)[-1]
    assert (row["status"], row["statements_applied"], row["error_statement"]) == ("failed", 1, 2)
    # plain `up` refuses and names the statement
    r = cli("migrate", "up")
    assert r.code == 1 and "failed at statement 2 of 3" in r.err and "line 2: ALTER TABLE nope" in r.err
    # fix statement 2 and resume: statement 1 is not re-run (it would fail: table exists)
    bad.write_text("CREATE TABLE customers (id INT);\nALTER TABLE orders ADD COLUMN x INT;\nCREATE TABLE after_fix (id INT);\n")
    r = cli("migrate", "up", "--resume")
    assert r.code == 0, r.err
    row = history(sql)[-1]
    assert (row["status"], row["statements_applied"], row["success"]) == ("success", 3, 1)
    assert "after_fix" in tables(sql)


def test_resume_refuses_when_an_applied_statement_changed(project, cli, sql):
    bad = project.migration("V1__x.sql", "CREATE TABLE a (id INT);\nCREATE TABLE a (id INT);\n")
    assert cli("migrate", "up").code == 1
    bad.write_text("CREATE TABLE a_renamed (id INT);\nCREATE TABLE b (id INT);\n")
    r = cli("migrate", "up", "--resume")
    assert r.code == 1 and "statement 1" in r.err and "has changed" in r.err
    assert "b" not in tables(sql)


def test_rollback_runs_undo_newest_first_and_info_shows_pending(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    project.migration("U1__create_orders.sql", U1)
    project.migration("V2__customers.sql", V2)
    project.migration("U2__customers.sql", U2)
    assert cli("migrate", "up").code == 0
    r = cli("migrate", "rollback", "--steps", "2")
    assert r.code == 0, r.err
    assert "orders" not in tables(sql) and "customers" not in tables(sql)
    rows = history(sql)
    assert [(r["version"], r["type"]) for r in rows][-2:] == [("2", "UNDO_SQL"), ("1", "UNDO_SQL")]
    info = json.loads(cli("migrate", "info", "--json").out)
    states = {(i["category"], i["version"]): i["state"] for i in info}
    assert states[("V", "1")] == "pending" and states[("V", "2")] == "pending"
    assert cli("migrate", "up").code == 0
    assert "customers" in tables(sql)


def test_rollback_refuses_without_undo_script(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    project.migration("V2__customers.sql", V2)
    project.migration("U1__create_orders.sql", U1)
    assert cli("migrate", "up").code == 0
    r = cli("migrate", "rollback", "--to", "0")
    assert r.code == 2 and "no undo script for V2" in r.err and "migrations/U2__customers.sql" in r.err
    assert {"orders", "customers"} <= tables(sql)


def test_repeatables_run_after_versions_in_dependency_order(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    # named so that alphabetical order would be wrong
    project.repeatable("R__a_top_view.sql", "CREATE OR REPLACE VIEW v_top AS SELECT id FROM v_base WHERE amount > 5;\n")
    project.repeatable("R__b_base_view.sql", "CREATE OR REPLACE VIEW v_base AS SELECT id, amount FROM orders;\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    order = [row["description"] for row in history(sql)]
    assert order == ["create orders", "b base view", "a top view"]
    assert sql("SELECT id FROM v_top") == [(1,)]
    # unchanged repeatables do not re-run; a changed one does
    assert cli("migrate", "up").out.strip().startswith("Nothing to do")
    project.repeatable("R__a_top_view.sql", "CREATE OR REPLACE VIEW v_top AS SELECT id FROM v_base WHERE amount > 1;\n")
    info = {i["description"]: i["state"] for i in json.loads(cli("migrate", "info", "--json").out)}
    assert info["a top view"] == "outdated"
    assert cli("migrate", "up").code == 0
    assert sorted(sql("SELECT id FROM v_top")) == [(1,), (2,)]


def test_repeatable_cycle_is_an_input_error(project, cli, sql):
    project.repeatable("R__x.sql", "CREATE OR REPLACE VIEW vx AS SELECT * FROM vy;\n")
    project.repeatable("R__y.sql", "CREATE OR REPLACE VIEW vy AS SELECT * FROM vx;\n")
    r = cli("migrate", "up")
    assert r.code == 2 and "cycle" in r.err and "R__x.sql" in r.err and "R__y.sql" in r.err
    assert tables(sql) <= {"rockway_schema_history", "rockway_lock_owner"}


def test_validate_detects_checksum_drift_and_repair_realigns(project, cli, sql):
    path = project.migration("V1__create_orders.sql", V1)
    assert cli("migrate", "up").code == 0
    assert cli("migrate", "validate").code == 0
    path.write_text(V1 + "-- an edit\n")
    r = cli("migrate", "validate")
    assert r.code == 1 and "checksum" in r.err
    assert cli("migrate", "repair").code == 0
    assert cli("migrate", "validate").code == 0


def test_missing_file_is_reported_and_repair_marks_deleted(project, cli, sql):
    path = project.migration("V1__create_orders.sql", V1)
    project.migration("V2__two.sql", "CREATE TABLE two (x INT);\n")
    assert cli("migrate", "up").code == 0
    path.unlink()
    info = {i["version"]: i["state"] for i in json.loads(cli("migrate", "info", "--json").out)}
    assert info["1"] == "missing"
    assert cli("migrate", "validate").code == 1
    assert cli("migrate", "repair").code == 0
    assert history(sql)[-1]["type"] == "DELETE"
    assert cli("migrate", "validate").code == 0


def test_baseline_skips_older_versions(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    project.migration("V2__two.sql", "CREATE TABLE two (x INT);\n")
    assert cli("migrate", "baseline", "--version", "1").code == 0
    assert cli("migrate", "up").code == 0
    assert "orders" not in tables(sql) and "two" in tables(sql)
    info = {i["version"]: i["state"] for i in json.loads(cli("migrate", "info", "--json").out)}
    assert info["1"] == "baseline"


def test_target_and_out_of_order(project, cli, sql):
    project.migration("V1__a.sql", "CREATE TABLE a (x INT);\n")
    project.migration("V3__c.sql", "CREATE TABLE c (x INT);\n")
    assert cli("migrate", "up", "--target", "1").code == 0
    assert "c" not in tables(sql)
    assert cli("migrate", "up").code == 0
    project.migration("V2__b.sql", "CREATE TABLE b (x INT);\n")
    info = {i["version"]: i["state"] for i in json.loads(cli("migrate", "info", "--json").out)}
    assert info["2"] == "ignored"
    assert cli("migrate", "up").code == 0 and "b" not in tables(sql)
    assert cli("migrate", "up", "--out-of-order").code == 0 and "b" in tables(sql)


def test_dry_run_changes_nothing_and_prints_bookkeeping(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    r = cli("migrate", "up", "--dry-run")
    assert r.code == 0, r.err
    assert "CREATE TABLE orders" in r.out and "INSERT INTO orders VALUES (1, 10.50), (2, 3.25);" in r.out
    assert "CREATE TABLE IF NOT EXISTS" in r.out and "rockway_schema_history" in r.out
    assert "history bookkeeping" in r.out
    assert tables(sql) == set()


def test_history_json_and_csv(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    assert cli("migrate", "up").code == 0
    rows = json.loads(cli("migrate", "history", "--json").out)
    assert rows[0]["description"] == "create orders" and rows[0]["git_sha"] is None or isinstance(rows[0]["git_sha"], str)
    csv_out = cli("migrate", "history", "--csv").out.splitlines()
    assert csv_out[0].startswith("installed_rank,version,description") and len(csv_out) == 2


def test_render_prints_statements_with_semicolons(project, cli):
    project.write("rockway.toml", '[rockway]\nenv = "dev"\n[env.dev.vars]\nreplication_num = 1\n[env.prod.vars]\nreplication_num = 3\n')
    project.migration("V1__t.sql", "CREATE TABLE t (x INT) COMMENT 'rn={{ replication_num }}';\nSELECT 1;\n")
    r = cli("migrate", "render", "--env", "prod", "V1")
    assert r.code == 0, r.err
    assert "rn=3" in r.out and r.out.rstrip().endswith("SELECT 1;")


def test_new_scaffolds_next_version(project, cli):
    project.migration("V7__x.sql", "SELECT 1;\n")
    r = cli("migrate", "new", "Add sales table")
    assert r.code == 0, r.err
    assert (project.root / "migrations/V8__add_sales_table.sql").exists()
    assert (project.root / "migrations/U8__add_sales_table.sql").exists()


def test_clean_refused_unless_enabled(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    assert cli("migrate", "up").code == 0
    r = cli("migrate", "clean", "--yes")
    assert r.code == 2 and "disabled" in r.err
    project.write("rockway.toml", "[env.ci]\nclean_enabled = true\n")
    r = cli("migrate", "clean", "--yes", "--env", "ci")
    assert r.code == 0, r.err
    assert "orders" not in tables(sql) and "rockway_schema_history" not in tables(sql)


def test_migrate_console_script_matches_rockway_migrate(project, sql):
    from tests.support.cli import run_cli

    project.migration("V1__create_orders.sql", V1)
    r = run_cli(project, "up", entry="migrate")
    assert r.code == 0, r.err
    assert "orders" in tables(sql)


def test_unreachable_database_is_exit_3(project):
    from tests.support.cli import run_cli

    r = run_cli(project.root, "migrate", "info", env={"ROCKWAY_DSN": "mysql://root@127.0.0.1:1/x",
                                                      "ROCKWAY_CONNECT_TIMEOUT": "2"})
    assert r.code == 3, r.err


def test_password_never_printed(project):
    from tests.support.cli import run_cli

    r = run_cli(project.root, "migrate", "info", env={"ROCKWAY_DSN": "mysql://nobody:s3cretpw@127.0.0.1:3306/x"})
    assert r.code == 3
    assert "s3cretpw" not in r.err + r.out


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_dsn_schemes(project, scheme, sql):
    from tests.support.cli import run_cli

    project.migration("V1__a.sql", "CREATE TABLE a (x INT);\n")
    r = run_cli(project.root, "migrate", "up", env={"ROCKWAY_DSN": project.dsn.replace("mysql://", f"{scheme}://")})
    assert r.code == 0, r.err


def test_up_after_rollback_recreates_views_over_recreated_tables(project, cli, sql):
    project.migration("V1__create_orders.sql", V1)
    project.migration("U1__create_orders.sql", "DROP VIEW IF EXISTS v_orders;\nDROP TABLE IF EXISTS orders;\n")
    project.repeatable("R__orders_view.sql", "CREATE OR REPLACE VIEW v_orders AS SELECT id FROM orders;\n")
    assert cli("migrate", "up").code == 0
    assert cli("migrate", "rollback").code == 0
    assert "v_orders" not in tables(sql)
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert "re-running R orders view: this run re-creates orders" in r.err
    assert sorted(sql("SELECT id FROM v_orders")) == [(1,), (2,)]
