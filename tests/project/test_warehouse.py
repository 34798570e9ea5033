"""The sales warehouse of this repository: it lints clean for both engines and applies, rolls back and
re-applies on a real MariaDB (the dev rehearsal of the StarRocks production schema)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT
from tests.support.warehouse import ROLES, TABLES, VIEWS, Warehouse, admin_connection, copy_project

MIGRATIONS = REPO_ROOT / "migrations"
REPEATABLE = REPO_ROOT / "repeatable"


def _lint(env: str) -> dict:
    r = run_cli(REPO_ROOT, "lint", "--env", env, "--json", env={"ROCKWAY_ENV": env})
    assert r.code in (0, 1), r.err
    return json.loads(r.out)


def _findings(report: dict) -> list[tuple[str, int, dict]]:
    return [(s["path"], st["index"], f) for s in report["scripts"] for st in s["statements"] for f in st["findings"]] \
        + [(s["path"], 0, f) for s in report["scripts"] for f in s["findings"]]


def test_every_migration_and_repeatable_script_is_linted() -> None:
    report = _lint("prod")
    linted = {s["path"] for s in report["scripts"]}
    on_disk = {f"migrations/{p.name}" for p in MIGRATIONS.glob("*.sql")} | \
              {f"repeatable/{p.name}" for p in REPEATABLE.glob("*.sql")}
    assert on_disk and linted == on_disk
    assert report["summary"]["statements"] > 100


def test_prod_rendering_lints_without_errors_or_warnings() -> None:
    report = _lint("prod")
    assert report["summary"]["errors"] == 0, _findings(report)
    assert report["summary"]["warnings"] == 0, _findings(report)
    # StarRocks syntax the scripts rely on is really there, rendered for StarRocks
    sql = run_cli(REPO_ROOT, "migrate", "render", "--env", "prod", env={"ROCKWAY_ENV": "prod"})
    assert sql.code == 0, sql.err
    assert "PRIMARY KEY (billing_date, billing_document, billing_item)" in sql.out
    assert "PARTITION BY date_trunc('day', billing_date)" in sql.out
    # prod's replication matches the one-backend compose deployment (tests/project/test_replication.py)
    assert 'PROPERTIES ("replication_num" = "1")' in sql.out
    assert "GRANT SELECT ON ALL VIEWS IN DATABASE sales_secure TO ROLE sales_analyst" in sql.out
    assert "ALTER MATERIALIZED VIEW `sales_dw`.`mv_sales_daily` SWAP WITH `mv_sales_daily__new`" in sql.out
    assert "SECURITY NONE" in sql.out and "/*!" not in sql.out


def test_dev_rendering_lints_without_errors_or_warnings() -> None:
    report = _lint("dev")
    assert report["summary"]["errors"] == 0, _findings(report)
    # MariaDB tables keep no replicas: SR017 (no "replication_num") does not apply to the MariaDB rendering, whose
    # CREATE TABLEs (every wh.table() call of the V scripts) carry no PROPERTIES
    assert report["summary"]["warnings"] == 0, _findings(report)
    tables = sum(p.read_text(encoding="utf-8").count("wh.table(") for p in MIGRATIONS.glob("V*.sql"))
    assert tables == sum(len(t) for t in TABLES.values())
    rendered = run_cli(REPO_ROOT, "migrate", "render", "--env", "dev", env={"ROCKWAY_ENV": "dev"})
    assert rendered.code == 0, rendered.err
    assert rendered.out.count("CREATE TABLE") >= tables and "replication_num" not in rendered.out


# V17: MariaDB-only secondary indexes for the jobs' joins and window filters (index -> columns, per database part)
JOIN_INDEXES = {
    ("dw", "dim_customer", "ix_dim_customer_id_valid_from"): ["customer_id", "valid_from"],
    ("raw", "stg_billing_item", "ix_stg_billing_item_version"): ["vbeln", "posnr", "changed_at"],
    ("raw", "stg_billing_item", "ix_stg_billing_item_fkdat"): ["fkdat"],
}


def _rendered_statements(env: str, script: str) -> list[str]:
    from rockway.sqlsplit import split

    r = run_cli(REPO_ROOT, "migrate", "render", "--env", env, script, env={"ROCKWAY_ENV": env})
    assert r.code == 0, r.err
    return [s.sql for s in split(r.out)]


@pytest.mark.parametrize("script", ["V17", "U17"])
def test_join_indexes_render_no_statement_for_starrocks(script: str) -> None:
    """StarRocks joins by hash and has no secondary B-tree indexes: V17/U17 are empty for prod."""
    assert _rendered_statements("prod", script) == []


def test_join_indexes_render_for_mariadb() -> None:
    created = _rendered_statements("dev", "V17")
    dropped = _rendered_statements("dev", "U17")
    assert created == [f"/*! CREATE INDEX IF NOT EXISTS {name} ON sales_{part}.{table} ({', '.join(cols)}) */"
                       for (part, table, name), cols in JOIN_INDEXES.items()]
    assert dropped == [f"/*! DROP INDEX IF EXISTS {name} ON sales_{part}.{table} */"
                       for (part, table, name) in reversed(list(JOIN_INDEXES))]


def test_replication_num_comes_from_the_environment_variable() -> None:
    r = run_cli(REPO_ROOT, "migrate", "render", "--env", "prod", "V9",
                env={"ROCKWAY_ENV": "prod", "ROCKWAY_VAR_REPLICATION_NUM": "2"})  # prod itself says 1
    assert r.code == 0, r.err
    assert 'PROPERTIES ("replication_num" = "2")' in r.out


def test_every_table_script_has_the_header_block() -> None:
    header = re.compile(r"^-- Table: \{\{ (\w+) \}\}\.(\w+)\n-- Purpose: \S.*(?:\n--  +\S.*)*\n-- Source: \S.*"
                        r"(?:\n--  +\S.*)*\n-- Refresh: \S.*(?:\n--  +\S.*)*\n-- Owner: \S.*$", re.M)
    call = re.compile(r"wh\.table\((\w+) ~ '\.(\w+)'")
    seen = 0
    for path in sorted(MIGRATIONS.glob("V*.sql")):
        text = path.read_text(encoding="utf-8")
        created = call.findall(text)
        headers = [(m.group(1), m.group(2)) for m in header.finditer(text)]
        assert headers == created, f"{path.name}: header blocks {headers} do not match created tables {created}"
        seen += len(created)
    assert seen == sum(len(t) for t in TABLES.values())


@pytest.fixture
def warehouse(mariadb_server: str, tmp_path: Path) -> Iterator[tuple[Warehouse, Path]]:
    wh = Warehouse(mariadb_server)
    wh.create_meta()
    project = copy_project(tmp_path / "project")
    try:
        yield wh, project
    finally:
        wh.drop()


def _assert_complete(wh: Warehouse, *, views: bool = True) -> None:
    for part, names in TABLES.items():
        assert wh.objects(part, "BASE TABLE") == names, part
        assert wh.objects(part, "VIEW") == (VIEWS[part] if views else set()), part
    assert wh.roles() == {wh.role(r) for r in ROLES}
    assert _secondary_indexes(wh) == {(wh.db(part), table, name): cols
                                      for (part, table, name), cols in JOIN_INDEXES.items()}


def _secondary_indexes(wh: Warehouse) -> dict[tuple[str, str, str], list[str]]:
    """(database, table, index) -> columns of every index but the primary keys, in the warehouse's databases."""
    conn = admin_connection(wh.server_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_schema, table_name, index_name, column_name FROM information_schema.statistics"
                        " WHERE table_schema IN (%s, %s, %s, %s) AND index_name <> 'PRIMARY'"
                        " ORDER BY table_schema, table_name, index_name, seq_in_index",
                        tuple(wh.db(part) for part in TABLES))
            found: dict[tuple[str, str, str], list[str]] = {}
            for db, table, index, column in cur.fetchall():
                found.setdefault((db, table, index), []).append(column)
            return found
    finally:
        conn.close()


def test_warehouse_applies_rolls_back_and_applies_again(warehouse: tuple[Warehouse, Path]) -> None:
    wh, project = warehouse
    env = wh.env()
    r = run_cli(project, "migrate", "up", env=env)
    assert r.code == 0, r.err + r.out
    _assert_complete(wh)
    conn = admin_connection(wh.server_dsn)
    try:
        with conn.cursor() as cur:
            # primary keys exist on MariaDB too (rendered as MySQL executable comments)
            cur.execute("SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = %s"
                        " AND table_name = 'fact_sales' AND constraint_name = 'PRIMARY' ORDER BY ordinal_position",
                        (wh.db("dw"),))
            assert [x[0] for x in cur.fetchall()] == ["billing_date", "billing_document", "billing_item"]
            cur.execute("SELECT COUNT(*) FROM information_schema.key_column_usage WHERE table_schema = %s"
                        " AND table_name = 'etl_check_result' AND constraint_name = 'PRIMARY'", (wh.db("etl"),))
            assert cur.fetchone()[0] == 0  # append-only: a sort key on StarRocks, no constraint
            cur.execute("SELECT table_name, security_type FROM information_schema.views WHERE table_schema = %s",
                        (wh.db("secure"),))
            assert dict(cur.fetchall()) == {"v_sales": "DEFINER", "v_sales_daily": "DEFINER"}
            cur.execute(f"SHOW GRANTS FOR `{wh.role('analyst')}`")
            grants = " ".join(row[0] for row in cur.fetchall())
            assert f"`{wh.db('secure')}`.*" in grants and f"`{wh.db('dw')}`" not in grants
            cur.execute("SELECT default_collation_name FROM information_schema.schemata WHERE schema_name = %s",
                        (wh.db("dw"),))
            assert cur.fetchone()[0] == "utf8mb4_bin"
    finally:
        conn.close()

    again = run_cli(project, "migrate", "up", env=env)
    assert again.code == 0 and "Nothing to do" in again.out, again.err + again.out

    # U17 drops the join indexes and nothing else; V17 creates them again
    r = run_cli(project, "migrate", "rollback", "--to", "16", env=env)
    assert r.code == 0, r.err + r.out
    assert _secondary_indexes(wh) == {}
    for part, names in TABLES.items():
        assert wh.objects(part, "BASE TABLE") == names, part
    r = run_cli(project, "migrate", "up", env=env)
    assert r.code == 0, r.err + r.out
    _assert_complete(wh)

    r = run_cli(project, "migrate", "rollback", "--to", "0", env=env)
    assert r.code == 0, r.err + r.out
    for part in TABLES:
        assert wh.objects(part, "BASE TABLE") == set() and wh.objects(part, "VIEW") == set()
    assert wh.roles() == set()
    info = json.loads(run_cli(project, "migrate", "info", "--json", env=env).out)
    assert {i["state"] for i in info if i["category"] == "V"} == {"pending"}

    r = run_cli(project, "migrate", "up", env=env)
    assert r.code == 0, r.err + r.out
    # the views U1 dropped with their databases come back: their checksums did not change, but this run
    # re-created the tables they read
    _assert_complete(wh)
    assert "re-running R" in r.err


# DATETIME renders as DATETIME(6) on MariaDB: microseconds kept, as StarRocks keeps them (macros/warehouse.sql)
_MARIADB_TYPES = {"BOOLEAN": "tinyint(1)", "INT": "int(11)", "BIGINT": "bigint(20)", "DATE": "date",
                  "DATETIME": "datetime(6)"}


@pytest.mark.parametrize("table", ["dim_material_mapper", "dim_sales_group_code"])
def test_reference_tables_match_the_csv_manifests(warehouse: tuple[Warehouse, Path], table: str) -> None:
    """The reference-data loader requires the table's columns to be the manifest's, in order."""
    yaml = pytest.importorskip("yaml")
    manifest_path = REPO_ROOT / "reference-data" / f"{table}.yaml"
    if not manifest_path.is_file():
        pytest.skip(f"no manifest {manifest_path.name} in reference-data/")
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    wh, project = warehouse
    r = run_cli(project, "migrate", "up", env=wh.env())
    assert r.code == 0, r.err + r.out
    conn = admin_connection(wh.server_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT column_name, column_type, is_nullable FROM information_schema.columns"
                        " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (wh.db("dw"), table))
            live = [(name, ctype, nullable == "YES") for name, ctype, nullable in cur.fetchall()]
            cur.execute("SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = %s"
                        " AND table_name = %s AND constraint_name = 'PRIMARY' ORDER BY ordinal_position",
                        (wh.db("dw"), table))
            key = [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    expected = []
    for col in manifest["columns"]:
        declared = str(col["type"]).upper().replace(" ", "")
        ctype = _MARIADB_TYPES.get(declared, declared.lower())
        expected.append((col["name"], ctype, bool(col.get("nullable", True))))
    assert live == expected
    assert key == list(manifest["key"])


def test_mv_commands_on_mariadb_say_there_are_no_materialized_views(warehouse: tuple[Warehouse, Path]) -> None:
    wh, project = warehouse
    r = run_cli(project, "mv", "status", env=wh.env())
    assert r.code == 0, r.err
    assert "no materialized views" in r.out
    r = run_cli(project, "mv", "status", "--json", env=wh.env())
    assert r.code == 0 and json.loads(r.out) == {"engine": "mysql", "supported": False, "server_time": None,
                                                 "problems": 0, "materialized_views": [],
                                                 "declared_but_missing": []}
    r = run_cli(project, "mv", "activate", env=wh.env())
    assert r.code == 0 and "no materialized views" in r.out, r.err
