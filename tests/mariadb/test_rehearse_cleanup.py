"""The clean-up at the end of `rockway rehearse`: its prefixed databases are dropped for good. StarRocks keeps a plain
`DROP DATABASE` in its recycle bin (recoverable, still holding storage), so there the statement carries FORCE
(recorded-answer replay); MySQL/MariaDB have no FORCE and drop at once (the real server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.warehouse import admin_connection

PREFIX = "rh_0c1ea4ed_"


def _names(dsn: str) -> Any:
    from rockway.config import Settings
    from rockway.rehearse.naming import prefixed_settings

    return prefixed_settings(Settings(dsn=dsn, vars={"dw_db": "sales_dw", "etl_db": "sales_etl"}), PREFIX)


def test_starrocks_drops_the_rehearsal_databases_with_force(monkeypatch: pytest.MonkeyPatch) -> None:
    import rockway.rehearse.api
    from rockway.rehearse.api import drop_prefixed
    from tests.support.starrocks_replay import q
    from tests.support.mv_catalog import adapter_for

    rehearsed, names = _names("starrocks://root@fe:9030/warehouse")
    adapter, conn = adapter_for([q(f"DROP DATABASE IF EXISTS `{PREFIX}warehouse` FORCE"),
                                 q(f"DROP DATABASE IF EXISTS `{PREFIX}sales_dw` FORCE"),
                                 q(f"DROP DATABASE IF EXISTS `{PREFIX}sales_etl` FORCE")])
    seen: list[Any] = []
    monkeypatch.setattr(rockway.rehearse.api, "connect", lambda settings: seen.append(settings) or adapter)
    dropped, problem = drop_prefixed(rehearsed, names)
    conn.assert_done()
    assert problem is None
    assert dropped == [f"database {PREFIX}warehouse", f"database {PREFIX}sales_dw", f"database {PREFIX}sales_etl"]
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


@pytest.mark.mariadb
def test_mariadb_drops_the_rehearsal_databases_without_force(mariadb_server: str, tmp_path: Path) -> None:
    from rockway.config import parse_dsn
    from rockway.rehearse.api import drop_prefixed

    p = parse_dsn(mariadb_server)
    rehearsed, names = _names(f"mysql://{p.user}{':' + p.password if p.password else ''}@{p.host}:{p.port}/warehouse")
    conn = admin_connection(mariadb_server)
    try:
        with conn.cursor() as cur:
            for database in names.databases:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            cur.execute(f"CREATE TABLE `{PREFIX}sales_dw`.t (id INT)")
            cur.execute("CREATE DATABASE IF NOT EXISTS `rh_0c1ea4ee_sales_dw`")  # another rehearsal's: stays
        dropped, problem = drop_prefixed(rehearsed, names)
        assert problem is None, problem
        assert dropped == [f"database {d}" for d in names.databases]
        with conn.cursor() as cur:
            cur.execute("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'rh\\_0c1ea4e%%'")
            assert [r[0] for r in cur.fetchall()] == ["rh_0c1ea4ee_sales_dw"]
    finally:
        with conn.cursor() as cur:
            for database in [*names.databases, "rh_0c1ea4ee_sales_dw"]:
                cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        conn.close()
