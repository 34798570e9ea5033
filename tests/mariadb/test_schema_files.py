"""`rockway schema dump` / `schema diff` on the real MariaDB: the migrated sales warehouse dumped to one file per
object, compared with itself (exit 0) and with edited files (exit 1 and a unified diff); bad input exits 2. The
MySQL normalisation on its own: tests/unit/test_schema_mysql_normalize.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.jobs import JobsWarehouse
from tests.support.cli import Project
from tests.support.warehouse import TABLES, VIEWS

pytestmark = pytest.mark.mariadb


def _ok(result, what: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 0, f"{what} exited {result.code}\nstdout:\n{result.out}\nstderr:\n{result.err}"


def _expected_files(jw: JobsWarehouse) -> set[str]:
    return {f"{jw.db(part)}/{name}.sql" for part in TABLES for name in TABLES[part] | VIEWS[part]}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*.sql")}


def test_dump_writes_one_headed_file_per_object_and_diff_against_it_is_clean(jw: JobsWarehouse, tmp_path: Path) -> None:
    out = tmp_path / "schema"
    _ok(jw.cli("schema", "dump", "--out", str(out)), "dump")
    # every table, view and (on MariaDB, view-backed) MV of the four databases; nothing of rockway's own
    assert _files(out) == _expected_files(jw)
    dw, secure = jw.db("dw"), jw.db("secure")

    customer = (out / dw / "dim_customer.sql").read_text(encoding="utf-8")
    assert customer.startswith(f"-- Table: {dw}.dim_customer\n"
                               "-- Purpose: Customers with history (SCD2), one row per customer version\n"
                               "-- History:\n--   migrations/V4__dim_customer.sql: created\n")
    assert "--   job dim_customer (jobs/dim_customer.yaml): pipeline evening, cron \"30 19 * * 1-5\"" in customer
    assert f"--   view {dw}.v_customer_current\n" in customer
    assert "\nCREATE TABLE `dim_customer` (\n" in customer and customer.endswith(";\n")
    # the secure view says what it is, and its base view names it as a reader
    assert (out / secure / "v_sales.sql").read_text(encoding="utf-8").startswith(f"-- Secure view: {secure}.v_sales\n")
    enriched = (out / dw / "v_sales_enriched.sql").read_text(encoding="utf-8")
    assert f"--   secure view {secure}.v_sales\n" in enriched
    assert "DEFINER=" not in enriched  # the migrating account is not part of the schema

    same = jw.cli("schema", "diff", str(out))
    _ok(same, "diff")
    assert f"same: {len(_expected_files(jw))} object(s)" in same.out

    again = jw.cli("schema", "dump", "--out", str(out), "--json")
    _ok(again, "dump again")
    assert json.loads(again.out)["written"] == []  # stable: a second dump changes no file


def test_diff_reports_an_edited_a_missing_and_an_extra_file_as_unified_diffs(jw: JobsWarehouse, tmp_path: Path) -> None:
    out = tmp_path / "schema"
    _ok(jw.cli("schema", "dump", "--out", str(out)), "dump")
    dw = jw.db("dw")
    edited = out / dw / "dim_material.sql"
    edited.write_text(edited.read_text(encoding="utf-8").replace("  `brand` varchar(40) DEFAULT NULL,\n", ""),
                      encoding="utf-8")
    (out / dw / "dim_date.sql").unlink()
    (out / dw / "dim_retired.sql").write_text("CREATE TABLE `dim_retired` (`k` int);\n", encoding="utf-8")

    result = jw.cli("schema", "diff", str(out))
    assert result.code == 1, result.err + result.out
    assert f"--- files/{dw}/dim_material.sql\n+++ live/{dw}/dim_material.sql\n" in result.out
    assert "\n+  `brand` varchar(40) DEFAULT NULL,\n" in result.out
    assert f"+++ live/{dw}/dim_date.sql" in result.out and "-CREATE TABLE `dim_retired`" in result.out
    assert "3 file(s) differ" in result.err

    as_json = jw.cli("schema", "diff", str(out), "--json")
    assert as_json.code == 1
    data = json.loads(as_json.out)
    assert data["same"] is False
    assert {(d["path"], d["status"]) for d in data["differences"]} == {
        (f"{dw}/dim_date.sql", "missing"), (f"{dw}/dim_material.sql", "changed"), (f"{dw}/dim_retired.sql", "extra")}

    # a new dump brings the folder back in line, removing the file of the object that does not exist
    dumped = jw.cli("schema", "dump", "--out", str(out), "--json")
    _ok(dumped, "dump over the edited folder")
    report = json.loads(dumped.out)
    assert report["removed"] == [f"{dw}/dim_retired.sql"]
    assert set(report["written"]) == {f"{dw}/dim_material.sql", f"{dw}/dim_date.sql"}
    _ok(jw.cli("schema", "diff", str(out)), "diff after dump")


def test_live_row_counts_are_written_and_ignored_by_diff(jw: JobsWarehouse, tmp_path: Path) -> None:
    out = tmp_path / "schema"
    _ok(jw.cli("schema", "dump", "--out", str(out), "--live"), "dump --live")
    dw = jw.db("dw")
    mapper = (out / dw / "dim_material_mapper.sql").read_text(encoding="utf-8")
    rows = jw.query(f"SELECT COUNT(*) FROM {dw}.dim_material_mapper")[0][0]
    assert rows > 0 and f"\n-- Rows: {rows}\n" in mapper
    _ok(jw.cli("schema", "diff", str(out)), "diff against a --live dump")
    plain = jw.cli("schema", "dump", "--out", str(tmp_path / "plain"))
    _ok(plain, "dump")
    assert "-- Rows:" not in (tmp_path / "plain" / dw / "dim_material_mapper.sql").read_text(encoding="utf-8")


def test_a_column_added_by_hand_makes_diff_fail(jw: JobsWarehouse, tmp_path: Path) -> None:
    out = tmp_path / "schema"
    _ok(jw.cli("schema", "dump", "--out", str(out)), "dump")
    jw.query(f"ALTER TABLE {jw.db('raw')}.stg_billing_item ADD COLUMN note VARCHAR(20) NULL")
    result = jw.cli("schema", "diff", str(out))
    assert result.code == 1
    assert "+  `note` varchar(20) DEFAULT NULL," in result.out


def test_bad_inputs_exit_2_and_write_nothing(project: Project, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
    _ok(cli("migrate", "up"), "migrate up")
    missing = cli("schema", "diff", str(tmp_path / "nowhere"))
    assert missing.code == 2 and "nowhere" in missing.err
    a_file = project.write("schema_file", "not a folder\n")
    clash = cli("schema", "dump", "--out", str(a_file))
    assert clash.code == 2 and "schema_file" in clash.err
    assert a_file.read_text(encoding="utf-8") == "not a folder\n"
    project.write("rockway.toml", "[schema]\ndatabases = \"not a list\"\n")
    bad = cli("schema", "dump", "--out", str(tmp_path / "out"))
    assert bad.code == 2 and "rockway.toml" in bad.err and "[schema] databases" in bad.err
    assert not (tmp_path / "out").exists()


def test_a_small_project_round_trips_with_history_and_readers(project: Project, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__things.sql", "CREATE TABLE things (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10))"
                                        " COMMENT 'things we sell';\nINSERT INTO things (name) VALUES ('a'), ('b');\n")
    project.migration("V2__things_price.sql", "ALTER TABLE things ADD COLUMN price DECIMAL(10,2) NULL;\n")
    project.repeatable("R__v_things.sql", "CREATE OR REPLACE VIEW v_things AS SELECT id, name FROM things;\n")
    _ok(cli("migrate", "up"), "migrate up")
    out = tmp_path / "schema"
    _ok(cli("schema", "dump", "--out", str(out)), "dump")
    database = project.dsn.rsplit("/", 1)[1]
    things = (out / database / "things.sql").read_text(encoding="utf-8")
    assert ("-- History:\n--   migrations/V1__things.sql: created\n--   migrations/V2__things_price.sql: altered\n"
            f"-- Read by:\n--   view {database}.v_things\n") in things
    assert "AUTO_INCREMENT=" not in things  # the counter moved with the inserts; the file does not
    assert _files(out) == {f"{database}/things.sql", f"{database}/v_things.sql"}  # no rockway_* table
    _ok(cli("schema", "diff", str(out)), "diff")


def test_secrets_in_ddl_are_masked_in_files_and_the_snapshot(project: Project, cli, sql, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY)"
                                   " COMMENT 'copied from mysql://etl:hunter2@erp:3306/db';\n")
    _ok(cli("migrate", "up"), "migrate up")
    out = tmp_path / "schema"
    _ok(cli("schema", "dump", "--out", str(out)), "dump")
    text = next(out.rglob("t.sql")).read_text(encoding="utf-8")
    assert "hunter2" not in text and "mysql://etl:***@erp:3306/db" in text
    assert [r for r in sql("SELECT ddl FROM rockway_schema_snapshot") if "hunter2" in r[0]] == []


def test_aliases_write_the_files_of_the_real_databases_from_prefixed_ones(jw: JobsWarehouse, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A rehearsal on prefixed databases compares with the repository's files through aliases."""
    from rockway.schema.api import diff, dump

    jw.apply_env(monkeypatch)
    aliases = {jw.db(part): f"sales_{part}" for part in TABLES}
    out = tmp_path / "schema"
    result = dump(jw.settings(), out, aliases=aliases)
    assert _files(out) == {f"sales_{part}/{name}.sql" for part in TABLES for name in TABLES[part] | VIEWS[part]}
    text = (out / "sales_secure" / "v_sales.sql").read_text(encoding="utf-8")
    assert text.startswith("-- Secure view: sales_secure.v_sales\n") and "`sales_dw`.`v_sales_enriched`" in text
    dumped = "".join(f.text for f in result.files)
    assert not [part for part in TABLES if jw.db(part) in dumped]  # roles keep their own prefix: not databases
    assert diff(jw.settings(), out, aliases=aliases).differences == []
    assert {d.status for d in diff(jw.settings(), out).differences} == {"missing"}  # without them: other names
