"""`migrate` validation and outputs on a real MariaDB: validate on migrate, empty scripts, JSON/CSV versions,
`migrate render`'s order, and the exit code of a rollback without its U script."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from rockway.sqlsplit import split
from tests.support.cli import Project

V1 = "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY);\n"
V1_EDITED = "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, note VARCHAR(20));\n"
U1 = "DROP TABLE IF EXISTS orders;\n"
V1_2 = "CREATE TABLE customers (id INT NOT NULL PRIMARY KEY);\n"
U1_2 = "DROP TABLE IF EXISTS customers;\n"
SCAFFOLD = "-- add things\n-- Purpose: \n-- Owner: \n\n"  # what `migrate new` writes (commands.new)


def tables(sql) -> set[str]:  # type: ignore[no-untyped-def]
    return {r[0] for r in sql("SHOW TABLES")}


def history(sql) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return sql("SELECT installed_rank, version, type, checksum, status, statements_total FROM rockway_schema_history"
               " ORDER BY installed_rank")


def two_versions(project: Project, cli) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__orders.sql", V1)
    project.migration("U1__orders.sql", U1)
    project.migration("V1.2__customers.sql", V1_2)
    project.migration("U1.2__customers.sql", U1_2)
    r = cli("migrate", "up")
    assert r.code == 0, r.err


# ------------------------------------------------------------------------------------ validate on migrate


def test_up_refuses_an_edited_applied_script_and_names_it(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    project.migration("V1__orders.sql", V1_EDITED)
    project.migration("V2__later.sql", "CREATE TABLE later (id INT);\n")
    before = history(sql)
    r = cli("migrate", "up")
    assert r.code == 2, (r.out, r.err)
    assert "migrations/V1__orders.sql" in r.err and "V1.2" not in r.err
    assert "`migrate validate`" in r.err and "`migrate repair`" in r.err and "--no-validate" in r.err
    assert "Nothing to do" not in r.out
    assert history(sql) == before and "later" not in tables(sql)  # the pending V2 did not run either


def test_repair_accepts_the_new_checksum_as_the_refusal_says(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    path = project.migration("V1__orders.sql", V1_EDITED)
    project.migration("V2__later.sql", "CREATE TABLE later (id INT);\n")
    assert cli("migrate", "validate").code == 1
    r = cli("migrate", "repair")
    assert r.code == 0 and "realigned: V1 orders" in r.out, r.err
    from rockway.migrate.discovery import discover

    checksum = next(s.checksum for s in discover(path.parent, project.root / "repeatable", project.root)
                    if s.name == "migrations/V1__orders.sql")
    assert history(sql)[0][3] == checksum
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert "later" in tables(sql)
    assert cli("migrate", "validate").code == 0


@pytest.mark.parametrize("how", ["flag", "toml", "env", "env-over-toml"])
def test_validation_can_be_turned_off(project, cli, sql, how):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    project.migration("V1__orders.sql", V1_EDITED)
    project.migration("V2__later.sql", "CREATE TABLE later (id INT);\n")
    args: tuple[str, ...] = ()
    env: dict[str, str] = {}
    if how == "flag":
        args = ("--no-validate",)
    if how in ("toml", "env-over-toml"):
        project.write("rockway.toml", "[rockway]\nvalidate_on_migrate = true\n" if how == "env-over-toml"
                      else "[rockway]\nvalidate_on_migrate = false\n")
    if how in ("env", "env-over-toml"):
        env = {"ROCKWAY_VALIDATE_ON_MIGRATE": "false"}
    r = cli("migrate", "up", *args, env=env)
    assert r.code == 0, r.err
    assert "later" in tables(sql)


def test_the_cli_flag_wins_over_a_toml_that_turns_validation_on(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    project.migration("V1__orders.sql", V1_EDITED)
    project.write("rockway.toml", "[rockway]\nvalidate_on_migrate = true\n")
    assert cli("migrate", "up").code == 2
    assert cli("migrate", "up", env={"ROCKWAY_VALIDATE_ON_MIGRATE": "true"}).code == 2
    assert cli("migrate", "up", "--no-validate", env={"ROCKWAY_VALIDATE_ON_MIGRATE": "true"}).code == 0


def test_an_edited_repeatable_is_rerun_not_refused(project, cli, sql):  # type: ignore[no-untyped-def]
    project.migration("V1__orders.sql", V1)
    project.repeatable("R__orders_view.sql", "CREATE OR REPLACE VIEW orders_view AS SELECT id FROM orders;\n")
    assert cli("migrate", "up").code == 0
    project.repeatable("R__orders_view.sql", "CREATE OR REPLACE VIEW orders_view AS SELECT id, 1 AS one FROM orders;\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert [c[0] for c in sql("SHOW COLUMNS FROM orders_view")] == ["id", "one"]


def test_rollback_refuses_while_an_applied_script_was_edited(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    project.migration("V1.2__customers.sql", "CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, x INT);\n")
    before = history(sql)
    r = cli("migrate", "rollback")
    assert r.code == 2 and "migrations/V1.2__customers.sql" in r.err, (r.out, r.err)
    assert history(sql) == before and "customers" in tables(sql)
    r = cli("migrate", "rollback", "--no-validate")
    assert r.code == 0, r.err
    assert "customers" not in tables(sql)


# ------------------------------------------------------------------------------------ scripts without statements


@pytest.mark.parametrize("text", [SCAFFOLD, "", "\n\n", "{# to do #}\n/* nothing yet */\n-- rockway:wait=false\n"])
def test_up_refuses_a_versioned_script_without_statements(project, cli, sql, text):  # type: ignore[no-untyped-def]
    project.migration("V1__orders.sql", V1)
    project.migration("V2__empty.sql", text)
    r = cli("migrate", "up")
    assert r.code == 2, (r.out, r.err)
    assert "migrations/V2__empty.sql" in r.err and "no statements" in r.err
    assert tables(sql) == set()  # not even V1 or the history table


def test_migrate_new_scaffold_is_refused_until_filled_in(project, cli, sql):  # type: ignore[no-untyped-def]
    r = cli("migrate", "new", "add orders")
    assert r.code == 0, r.err
    r = cli("migrate", "up")
    assert r.code == 2 and "migrations/V1__add_orders.sql" in r.err and "no statements" in r.err
    lint = json.loads(cli("lint", "--json").out)
    flagged = {s["path"] for s in lint["scripts"] for f in s["findings"] if f["rule"] == "SR021"}
    assert flagged == {"migrations/V1__add_orders.sql", "migrations/U1__add_orders.sql"}
    project.migration("V1__add_orders.sql", (project.root / "migrations/V1__add_orders.sql").read_text() + V1)
    project.migration("U1__add_orders.sql", U1)
    assert cli("migrate", "up").code == 0
    assert "orders" in tables(sql)


def test_a_script_that_renders_to_no_statement_is_applied(project, cli, sql):  # type: ignore[no-untyped-def]
    """Like migrations/V17__dev_join_indexes.sql: SQL only for one engine; on the other it is recorded with 0 statements."""
    project.migration("V1__orders.sql", V1)
    project.migration("V2__starrocks_only.sql", "-- StarRocks only\n{% if engine == 'starrocks' %}\n"
                                                "CREATE INDEX ix_orders ON orders (id) USING BITMAP;\n{% endif %}\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    rows = history(sql)
    assert [(row[1], row[4], row[5]) for row in rows] == [("1", "success", 1), ("2", "success", 0)]
    lint = json.loads(cli("lint", "--json").out)
    assert not [f for s in lint["scripts"] for f in s["findings"] if f["rule"] == "SR021"]


def test_rollback_refuses_an_undo_script_without_statements(project, cli, sql):  # type: ignore[no-untyped-def]
    project.migration("V1__orders.sql", V1)
    project.migration("U1__orders.sql", SCAFFOLD)
    assert cli("migrate", "up").code == 0
    before = history(sql)
    r = cli("migrate", "rollback")
    assert r.code == 2 and "migrations/U1__orders.sql" in r.err and "no statements" in r.err, r.err
    assert history(sql) == before and "orders" in tables(sql)


def test_rollback_without_its_undo_script_exits_2_naming_the_file(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    (project.root / "migrations/U1.2__customers.sql").unlink()
    before = history(sql)
    r = cli("migrate", "rollback")
    assert r.code == 2, (r.out, r.err)
    assert "migrations/U1.2__customers.sql" in r.err and "nothing was changed" in r.err
    assert history(sql) == before and {"orders", "customers"} <= tables(sql)


# ------------------------------------------------------------------------------------ JSON and CSV outputs


def _no_version_objects(value: Any, where: str) -> None:
    """Versions print as text: no {"parts": […]} anywhere."""
    if isinstance(value, dict):
        assert "parts" not in value, f"{where}: {value}"
        for k, v in value.items():
            _no_version_objects(v, f"{where}.{k}")
    elif isinstance(value, list):
        for k, v in enumerate(value):
            _no_version_objects(v, f"{where}[{k}]")


def test_history_json_and_csv_print_version_text(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    rows = json.loads(cli("migrate", "history", "--json").out)
    assert [r["version"] for r in rows] == ["1", "1.2"]
    _no_version_objects(rows, "history")
    r = cli("migrate", "history", "--csv")
    assert r.code == 0, r.err
    assert [row["version"] for row in csv.DictReader(io.StringIO(r.out))] == ["1", "1.2"]


def test_history_since_until_and_last_select_rows_for_an_audit(project, cli, sql):  # type: ignore[no-untyped-def]
    two_versions(project, cli)
    sql("UPDATE rockway_schema_history SET installed_on = '2026-01-05 10:00:00' WHERE installed_rank = 1")

    def versions(*args: str) -> list[str]:
        r = cli("migrate", "history", "--json", *args)
        assert r.code == 0, r.err
        return [row["version"] for row in json.loads(r.out)]

    assert versions("--since", "2026-01-01", "--until", "2026-02-01") == ["1"]
    assert versions("--since", "2026-01-05 10:00:00") == ["1", "1.2"]  # at the bound: included
    assert versions("--until", "2026-01-05T10:00:00") == []  # before the bound: excluded
    assert versions("--since", "2026-02-01") == ["1.2"]
    assert versions("--last", "1") == ["1.2"]
    assert versions("--until", "2026-02-01", "--last", "5") == ["1"]
    none = cli("migrate", "history", "--since", "2030-01-01")
    assert none.code == 0 and none.out == "no history rows installed since 2030-01-01 00:00:00\n"
    backwards = cli("migrate", "history", "--since", "2026-02-01", "--until", "2026-01-01")
    assert backwards.code == 2 and "--since" in backwards.err and "--until" in backwards.err
    assert cli("migrate", "history", "--last", "0").code == 2


def test_every_json_output_of_migrate_prints_versions_as_text(project, cli, sql):  # type: ignore[no-untyped-def]
    project.migration("V1__orders.sql", V1)
    project.migration("U1__orders.sql", U1)
    up = cli("migrate", "up", "--json")
    assert up.code == 0, up.err
    project.migration("V1__orders.sql", V1_EDITED)
    project.migration("V1.2__customers.sql", V1_2)
    project.migration("U1.2__customers.sql", U1_2)
    outputs = {
        "info": cli("migrate", "info", "--json"),
        "validate": cli("migrate", "validate", "--json"),
        "dry-run": cli("migrate", "up", "--json", "--dry-run", "--no-validate"),
        "repair": cli("migrate", "repair", "--json"),
        "up": cli("migrate", "up", "--json"),
        "history": cli("migrate", "history", "--json"),
        "rollback": cli("migrate", "rollback", "--json"),
    }
    outputs["first up"] = up
    for name, r in outputs.items():
        assert r.code in (0, 1), (name, r.err)
        _no_version_objects(json.loads(r.out), name)
    info = json.loads(outputs["info"].out)
    assert {i["version"] for i in info} == {"1", "1.2"}
    assert json.loads(outputs["repair"].out)["realigned"] == ["V1 orders"]
    assert [r["version"] for r in json.loads(outputs["history"].out)] == ["1", "1.2"]
    assert [a["label"] for a in json.loads(outputs["rollback"].out)["applied"]] == ["U1.2 customers"]


def test_history_refuses_json_and_csv_together(project, cli, sql):  # type: ignore[no-untyped-def]
    r = cli("migrate", "history", "--json", "--csv")
    assert r.code == 2 and "--json" in r.err and "--csv" in r.err


# ------------------------------------------------------------------------------------ render


def _rendered_scripts(out: str) -> list[str]:
    return [line[3:] for line in out.splitlines() if line.startswith("-- ") and line.endswith(".sql")]


def _render_project(project: Project) -> None:
    project.migration("V10__ten.sql", "CREATE TABLE ten (id INT);\n")
    project.migration("U10__ten.sql", "DROP TABLE IF EXISTS ten;\n")
    project.migration("V2__two.sql", "CREATE TABLE two (id INT);\n")
    project.migration("U2__two.sql", "DROP TABLE IF EXISTS two;\n")
    project.migration("V1.5__one_five.sql", "CREATE TABLE one_five (id INT);\n")
    # names sort against the dependency order: a_top reads b_middle, which reads c_base
    project.repeatable("R__a_top.sql", "CREATE OR REPLACE VIEW top_view AS SELECT id FROM middle_view;\n")
    project.repeatable("R__b_middle.sql", "CREATE OR REPLACE VIEW middle_view AS SELECT id FROM base_view;\n")
    project.repeatable("R__c_base.sql", "CREATE OR REPLACE VIEW base_view AS SELECT id FROM two;\n")


def test_render_prints_what_up_runs_in_run_order(project, cli, sql):  # type: ignore[no-untyped-def]
    _render_project(project)
    r = cli("migrate", "render")
    assert r.code == 0, r.err
    assert _rendered_scripts(r.out) == ["migrations/V1.5__one_five.sql", "migrations/V2__two.sql", "migrations/V10__ten.sql",
                                        "repeatable/R__c_base.sql", "repeatable/R__b_middle.sql", "repeatable/R__a_top.sql"]


def test_render_output_piped_into_the_database_builds_what_up_builds(project, cli, sql):  # type: ignore[no-untyped-def]
    _render_project(project)
    r = cli("migrate", "render")
    for stmt in split(r.out):
        sql(stmt.sql)
    assert tables(sql) == {"one_five", "two", "ten", "base_view", "middle_view", "top_view"}


def test_render_undo_prints_undo_scripts_newest_first(project, cli, sql):  # type: ignore[no-untyped-def]
    _render_project(project)
    r = cli("migrate", "render", "--undo")
    assert r.code == 0, r.err
    assert _rendered_scripts(r.out) == ["migrations/U10__ten.sql", "migrations/U2__two.sql"]


def test_render_named_scripts_keeps_their_order(project, cli, sql):  # type: ignore[no-untyped-def]
    _render_project(project)
    r = cli("migrate", "render", "U2", "R__a_top.sql", "V10")
    assert r.code == 0, r.err
    assert _rendered_scripts(r.out) == ["migrations/U2__two.sql", "repeatable/R__a_top.sql", "migrations/V10__ten.sql"]


ENGINE_DEPENDENT = ("CREATE TABLE t (id INT NOT NULL){% if engine == 'starrocks' %} DISTRIBUTED BY HASH(id){% endif %};\n"
                    "ALTER TABLE t ADD COLUMN c INT{% if engine == 'starrocks' %} AFTER id{% endif %};\n"
                    "CREATE TABLE after_t (id INT);\n")


def test_dry_run_and_repair_render_for_the_connected_engine(project, cli, sql):  # type: ignore[no-untyped-def]
    """`up --dry-run` shows, and `repair --statement-done` records, the statements as this server runs them (they
    once rendered for StarRocks whatever the server: a MariaDB dry run printed DISTRIBUTED BY, a repair recorded
    the hash of a statement that never ran)."""
    project.migration("V1__t.sql", ENGINE_DEPENDENT)
    for flags in ((), ("--json",)):
        r = cli("migrate", "up", "--dry-run", *flags)
        assert r.code == 0, r.err
        assert "CREATE TABLE t (id INT NOT NULL)" in r.out and "DISTRIBUTED" not in r.out and "AFTER id" not in r.out
    assert cli("migrate", "up").code == 0
    (clean,) = sql("SELECT statement_hashes FROM rockway_schema_history")[0]
    sql("DROP TABLE after_t")  # interrupted after statement 2 took effect
    sql("UPDATE rockway_schema_history SET status = 'running', success = 0, statements_applied = 1,"
        " statement_hashes = %s, pending_statement = 2", (json.dumps(json.loads(clean)[:1]),))
    assert cli("migrate", "repair", "--statement-done", "1").code == 0
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert sql("SELECT statement_hashes FROM rockway_schema_history") == [(clean,)]
    assert cli("migrate", "validate").code == 0


def test_validate_renders_for_the_connected_engine(project, cli, sql):  # type: ignore[no-untyped-def]
    """A script that renders only for MariaDB is valid on MariaDB (validate once rendered every script for
    StarRocks whatever the server, and reported this one as not rendering)."""
    project.migration("V1__t.sql", "CREATE TABLE t (id INT){% if engine == 'starrocks' %}{{ starrocks_only }}{% endif %};\n")
    assert cli("migrate", "up").code == 0
    for flags in ((), ("--json",)):
        r = cli("migrate", "validate", *flags)
        assert r.code == 0, r.out + r.err
        assert "starrocks_only" not in r.out + r.err
