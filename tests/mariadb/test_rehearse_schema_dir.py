"""`rockway rehearse --schema-dir DIR` on the real MariaDB: the warehouse's schema files, dumped after a normal
`migrate up`, match the rehearsed (prefixed) schema; one edited file fails the rehearsal naming its object, with the
JUnit case `schema files` and the unified diff in the Markdown summary; a missing DIR is bad input (exit 2) and
creates nothing (the API refuses it before connecting: tests/unit/test_rehearse.py). The rehearsal's lint of
the MariaDB rendering lists no StarRocks replica warnings (SR017).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.cli import run_cli
from tests.support.rehearse import failed, junit_cases, leftovers, prefix_of, rehearse
from tests.support.paths import REPO_ROOT
from tests.support.warehouse import Warehouse, copy_project

pytestmark = pytest.mark.mariadb


@pytest.fixture
def dumped(mariadb_server: str, tmp_path: Path) -> Iterator[tuple[Path, Warehouse, Path]]:
    """(the project, its warehouse, the schema files `rockway schema dump` wrote after a normal migrate up)."""
    root = copy_project(tmp_path / "project")
    shutil.copytree(REPO_ROOT / "jobs", root / "jobs")
    wh = Warehouse(mariadb_server)
    try:
        wh.create_meta()
        up = run_cli(root, "migrate", "up", env=wh.env(), timeout=600)
        assert up.code == 0, up.out + up.err
        schema = tmp_path / "schema"
        dump = run_cli(root, "schema", "dump", "--out", str(schema), env=wh.env())
        assert dump.code == 0, dump.out + dump.err
        assert (schema / wh.db("dw") / "dim_customer.sql").is_file()
        wh.drop()  # the rehearsal creates its own, prefixed copy
        yield root, wh, schema
    finally:
        wh.drop()


def test_the_schema_files_of_a_normal_migrate_match_the_rehearsal(dumped: tuple[Path, Warehouse, Path],
                                                                 mariadb_server: str, tmp_path: Path) -> None:
    root, wh, schema = dumped
    result = rehearse(root, "--schema-dir", str(schema), "--junit", str(tmp_path / "r.xml"), "--markdown",
                      str(tmp_path / "r.md"), env=wh.env())
    assert result.code == 0, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    cases = junit_cases(tmp_path / "r.xml")
    assert failed(cases) == {}
    assert "object(s)" in cases[("schema files", "schema files")].findtext("system-out", "")
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert f"### Schema files\n\n`{schema}` matches the migrated schema" in markdown
    # lint of the MariaDB rendering: no warning about StarRocks' replicas
    assert "### Lint findings\n\nnone\n" in markdown
    assert "SR017" not in result.out + result.err + markdown


def test_an_edited_schema_file_fails_the_rehearsal_naming_its_object(dumped: tuple[Path, Warehouse, Path],
                                                                    mariadb_server: str, tmp_path: Path) -> None:
    root, wh, schema = dumped
    target = schema / wh.db("dw") / "dim_customer.sql"
    text = target.read_text(encoding="utf-8")
    edited = text.replace("`customer_id`", "`customer_no`", 1)
    assert edited != text
    target.write_text(edited, encoding="utf-8")
    result = rehearse(root, "--schema-dir", str(schema), "--junit", str(tmp_path / "r.xml"), "--markdown",
                      str(tmp_path / "r.md"), env=wh.env())
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    path = f"{wh.db('dw')}/dim_customer.sql"
    bad = failed(junit_cases(tmp_path / "r.xml"))
    assert list(bad) == [("schema files", "schema files")]
    assert f"{path} (changed)" in bad[("schema files", "schema files")]
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    section = markdown.split("### Schema files", 1)[1].split("\n### ", 1)[0]
    assert f"--- files/{path}" in section and f"+++ live/{path}" in section
    assert "-  `customer_no`" in section and "+  `customer_id`" in section
    assert "rh_" not in section  # the prefixed names read as the project's own
    assert "FAILED schema files: schema files: 1 schema file(s)" in result.err


def test_a_missing_schema_dir_is_bad_input_and_creates_nothing(mariadb_server: str, tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    wh = Warehouse(mariadb_server)
    result = rehearse(root, "--schema-dir", str(tmp_path / "no-such-folder"), env=wh.env())
    assert result.code == 2, result.out + result.err
    assert "--schema-dir" in result.err and "no-such-folder" in result.err
    assert "rehearse:" not in result.err  # no progress line: no prefix chosen, nothing created
    assert leftovers(mariadb_server, wh.prefix) == []
    assert not any(wh.prefix in item for item in leftovers(mariadb_server, "rh_"))


def test_pending_compares_the_released_schema_with_the_files(mariadb_server: str, tmp_path: Path, db_dsn: str) -> None:
    """--pending: the server's own names, the files after the release (the files still show V1's schema: fails)."""
    from tests.support.rehearse import shop
    from tests.support.warehouse import admin_connection

    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    app_db = f"{db_dsn.rsplit('/', 1)[1]}_app"
    env = {"ROCKWAY_DSN": db_dsn, "ROCKWAY_VAR_APP_DB": app_db}
    schema = tmp_path / "schema"
    try:
        assert run_cli(root, "migrate", "up", "--target", "1", env=env).code == 0  # the server before the release
        assert run_cli(root, "schema", "dump", "--out", str(schema), env=env).code == 0
        result = rehearse(root, "--pending", "--schema-dir", str(schema), "--junit", str(tmp_path / "r.xml"), env=env)
        assert result.code == 1, result.out + result.err
        bad = failed(junit_cases(tmp_path / "r.xml"))
        assert list(bad) == [("schema files", "schema files")]
        assert f"{app_db}/customers.sql (missing)" in bad[("schema files", "schema files")]
        assert f"{app_db}/orders.sql (changed)" in bad[("schema files", "schema files")]
        assert run_cli(root, "schema", "dump", "--out", str(schema), env=env).code == 0  # the release's files
        again = rehearse(root, "--pending", "--schema-dir", str(schema), env=env)
        assert again.code == 0, again.out + again.err
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{app_db}`")
        conn.close()
