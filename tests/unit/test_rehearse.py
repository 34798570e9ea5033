"""`rockway rehearse` without a server: bad options, a missing --schema-dir and an unreachable server, the prefix
rule, the reports' masking and XML validity (tests/data/junit-10.xsd), the readiness logic of the StarRocks container,
MV cases and the clean-up's `DROP DATABASE … FORCE` on recorded StarRocks answers (the rehearsal on MariaDB:
tests/mariadb/test_rehearse.py, test_rehearse_schema_dir.py, test_rehearse_cleanup.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import DATA_DIR
from tests.support.rehearse import CLEANUP_PREFIX, cleanup_names, rehearse, shop
from tests.support.warehouse import copy_project


# --- bad input and an unreachable server ------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (("--junit", "missing-folder/r.xml"), "--junit"),
    (("--markdown", "."), "--markdown"),
    (("--start-starrocks", "--dsn", "mysql://root@127.0.0.1:3306/x"), "--start-starrocks or --dsn"),
    (("--pending", "--keep"), "--keep"),
    (("--start-starrocks", "--pending"), "--pending"),
])
def test_bad_options_exit_2_naming_the_option_and_write_nothing(tmp_path: Path, args: tuple[str, ...],
                                                                 needle: str) -> None:
    root = shop(tmp_path, "mysql://root@127.0.0.1:1", "SELECT 1;\n")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = rehearse(root, *args)
    assert result.code == 2, result.out + result.err
    assert needle in result.err
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_without_testcontainers_start_starrocks_exits_2_naming_the_extra(tmp_path: Path, monkeypatch: Any,
                                                                       capsys: Any) -> None:
    import sys

    from rockway.cli.main import _run, cli

    root = shop(tmp_path, "mysql://root@127.0.0.1:1", "SELECT 1;\n")
    monkeypatch.setitem(sys.modules, "testcontainers.core.container", None)  # the import fails as if not installed
    monkeypatch.chdir(root)
    assert _run(cli, ["rehearse", "--start-starrocks"]) == 2
    assert "pip install 'rockway[rehearse]'" in capsys.readouterr().err


def test_an_unreachable_server_exits_3(tmp_path: Path) -> None:
    root = shop(tmp_path, "mysql://root@127.0.0.1:1", "SELECT 1;\n")
    result = rehearse(root, "--junit", str(tmp_path / "r.xml"), env={"ROCKWAY_CONNECT_TIMEOUT": "3"})
    assert result.code == 3, result.out + result.err
    assert not (tmp_path / "r.xml").exists()


def test_the_api_refuses_a_missing_schema_dir_before_connecting(tmp_path: Path) -> None:
    from rockway.config import Settings
    from rockway.errors import ConfigError
    from rockway.rehearse.api import Options, rehearse as run

    root = copy_project(tmp_path / "project")
    settings = Settings(dsn="mysql://nobody@127.0.0.1:1/warehouse", project_dir=root)
    with pytest.raises(ConfigError, match="no-such-folder"):
        run(settings, Options(schema_dir=tmp_path / "no-such-folder"))


# --- the prefix rule, the reports, the container's readiness ----------------------------------------------


def test_the_prefix_covers_every_db_variable_role_prefix_and_the_history_database() -> None:
    from rockway.config import Settings, parse_dsn
    from rockway.rehearse.naming import prefixed_settings

    settings = Settings(dsn="starrocks://deployer:pw%2F1@fe:9030/warehouse?http_port=8030&ssl_mode=required",
                        vars={"raw_db": "sales_raw", "dw_db": "sales_dw", "role_prefix": "sales_", "rls_roles": ["a"],
                              "replication_num": 1})
    rehearsed, names = prefixed_settings(settings, "rh_0123abcd_")
    assert rehearsed.vars == {"raw_db": "rh_0123abcd_sales_raw", "dw_db": "rh_0123abcd_sales_dw",
                              "role_prefix": "rh_0123abcd_sales_", "rls_roles": ["a"], "replication_num": 1}
    dsn = parse_dsn(rehearsed.dsn or "")
    assert (dsn.database, dsn.http_port, dsn.ssl_mode, dsn.password) == ("rh_0123abcd_warehouse", 8030, "required", None)
    assert rehearsed.password == "pw/1" and "pw" not in (rehearsed.dsn or "")
    assert rehearsed.create_database
    assert names.databases == ["rh_0123abcd_warehouse", "rh_0123abcd_sales_raw", "rh_0123abcd_sales_dw"]
    assert names.role_prefix == "rh_0123abcd_sales_"


def test_a_name_too_long_with_the_prefix_is_bad_input() -> None:
    from rockway.config import Settings
    from rockway.errors import ConfigError
    from rockway.rehearse.naming import prefixed_settings

    with pytest.raises(ConfigError, match="dw_db"):
        prefixed_settings(Settings(dsn="mysql://root@h/w", vars={"dw_db": "d" * 60}), "rh_0123abcd_")


def test_reports_mask_secrets_and_keep_xml_valid() -> None:
    import xmlschema

    from rockway.rehearse.model import Case, Rehearsal
    from rockway.rehearse.report import junit_xml, markdown

    result = Rehearsal("from-empty", engine="mysql", server="mysql://u@h:3306/rh_x_w", prefix="rh_x_")
    result.add(Case("migrations", "migrations/V3__users.sql", failure="V3 users: statement 1 failed",
                    detail="CREATE USER app IDENTIFIED BY 'Very-secret-1'\x01 failed"))
    result.add(Case("materialized views", "materialized views", skipped="mysql has no materialized views"))
    xml_text, md = junit_xml(result), markdown(result)
    for text in (xml_text, md):
        assert "Very-secret-1" not in text
    xmlschema.XMLSchema(str(DATA_DIR / "junit-10.xsd")).validate(xml_text)
    assert "FAILED (1 failure(s))" in md and "| migrations | 0 | 1 | 0 |" in md


def test_readiness_waits_for_a_backend_with_capacity() -> None:
    from rockway.errors import DatabaseUnavailable
    from rockway.rehearse.container import backends_ready, wait_backends

    assert backends_ready([]) == (False, "no backend registered yet")
    assert not backends_ready([{"Alive": "true", "AvailCapacity": "1.000 B"}])[0]
    assert backends_ready([{"Alive": "true", "AvailCapacity": "12.3 GB", "IP": "be"}])[0]
    answers = iter([(False, "FE not accepting connections"), (False, "no backend"), (True, "backend be alive")])
    assert wait_backends("h", 1, timeout=5, probe=lambda h, p: next(answers), interval=0) == "backend be alive"
    with pytest.raises(DatabaseUnavailable, match="not ready after 0 s: no backend"):
        wait_backends("h", 1, timeout=0, probe=lambda h, p: (False, "no backend"), interval=0)


def test_the_suite_and_the_command_start_the_same_image() -> None:
    from tests.support.docker import STARROCKS_IMAGE
    from rockway.rehearse.container import DEFAULT_IMAGE

    assert STARROCKS_IMAGE == os.environ.get("ROCKWAY_STARROCKS_IMAGE", DEFAULT_IMAGE)


def test_mv_cases_on_recorded_starrocks_answers() -> None:
    """StarRocks' MV catalog (recorded rows, tests/support/mv_catalog.py): active with a successful refresh passes, an
    inactive MV and a FAILED first refresh fail, each named."""
    from rockway.adapters.starrocks.mv import WANTED_COLUMNS
    from rockway.rehearse.probes import mv_cases
    from tests.support.starrocks_replay import q
    from tests.support.mv_catalog import COLUMNS_4X, ROW_4X, SCHEMA_CHANGED, adapter_for, probe, project, varied

    db = "rh_0123abcd_sales_dw"
    rows = [varied(ROW_4X, COLUMNS_4X, table_schema=db, table_name="mv_ok"),
            varied(ROW_4X, COLUMNS_4X, table_schema=db, table_name="mv_inactive", is_active="false",
                   inactive_reason=SCHEMA_CHANGED),
            varied(ROW_4X, COLUMNS_4X, table_schema=db, table_name="mv_failed", last_refresh_state="FAILED",
                   last_refresh_error_message="Memory of process exceed limit")]
    wanted = list(WANTED_COLUMNS)
    sql = ("SELECT " + ", ".join(wanted) + " FROM information_schema.materialized_views WHERE TABLE_SCHEMA IN "
           f"('{db}') ORDER BY TABLE_SCHEMA, TABLE_NAME")
    adapter, conn = adapter_for([probe(COLUMNS_4X), q(sql, wanted, [project(COLUMNS_4X, r, wanted) for r in rows]),
                                 q("SELECT now()", ("now()",), [("2025-11-14 19:38:46",)])])
    cases = {c.name: c for c in mv_cases(adapter, [db])}
    conn.assert_done()
    assert cases[f"{db}.mv_ok"].status == "passed"
    assert cases[f"{db}.mv_inactive"].failure == f"inactive: {SCHEMA_CHANGED}"
    assert cases[f"{db}.mv_failed"].failure == "refresh FAILED: Memory of process exceed limit"


def test_an_empty_role_prefix_becomes_the_rehearsal_prefix() -> None:
    from rockway.config import Settings
    from rockway.rehearse.naming import prefixed_settings

    rehearsed, names = prefixed_settings(Settings(dsn="mysql://root@h/w", vars={"role_prefix": ""}), "rh_0123abcd_")
    assert rehearsed.vars["role_prefix"] == "rh_0123abcd_" and names.role_prefix == "rh_0123abcd_"


# --- the clean-up: each engine's DROP DATABASE ----------------------------------------------------------
# StarRocks keeps a plain `DROP DATABASE` in its recycle bin (recoverable, still holding storage), so there the
# statement carries FORCE; MySQL/MariaDB have no FORCE and drop at once (tests/mariadb/test_rehearse_cleanup.py).


def test_starrocks_drops_the_rehearsal_databases_with_force(monkeypatch: pytest.MonkeyPatch) -> None:
    import rockway.rehearse.api
    from rockway.rehearse.api import drop_prefixed
    from tests.support.starrocks_replay import q
    from tests.support.mv_catalog import adapter_for

    rehearsed, names = cleanup_names("starrocks://root@fe:9030/warehouse")
    adapter, conn = adapter_for([q(f"DROP DATABASE IF EXISTS `{CLEANUP_PREFIX}warehouse` FORCE"),
                                 q(f"DROP DATABASE IF EXISTS `{CLEANUP_PREFIX}sales_dw` FORCE"),
                                 q(f"DROP DATABASE IF EXISTS `{CLEANUP_PREFIX}sales_etl` FORCE")])
    seen: list[Any] = []
    monkeypatch.setattr(rockway.rehearse.api, "connect", lambda settings: seen.append(settings) or adapter)
    dropped, problem = drop_prefixed(rehearsed, names)
    conn.assert_done()
    assert problem is None
    assert dropped == [f"database {CLEANUP_PREFIX}warehouse", f"database {CLEANUP_PREFIX}sales_dw",
                       f"database {CLEANUP_PREFIX}sales_etl"]
    assert seen[0].dsn == "starrocks://root@fe:9030"  # connected to no database: the history one is dropped too
    assert conn.closed


def test_the_adapters_say_how_a_throwaway_database_is_dropped() -> None:
    from rockway.adapters.mysql.base import MySQLAdapter
    from rockway.adapters.starrocks.base import StarRocksAdapter

    # the method reads no connection state: called unbound on a bare instance of each class
    mysql = MySQLAdapter.__new__(MySQLAdapter)
    starrocks = StarRocksAdapter.__new__(StarRocksAdapter)
    assert mysql.drop_throwaway_database_sql("rh_x_a`b") == "DROP DATABASE IF EXISTS `rh_x_a``b`"
    assert starrocks.drop_throwaway_database_sql("rh_x_db") == "DROP DATABASE IF EXISTS `rh_x_db` FORCE"
