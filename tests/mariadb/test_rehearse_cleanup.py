"""The clean-up at the end of `rockway rehearse` on the real server: its prefixed databases are dropped for good.
MySQL/MariaDB have no FORCE and drop at once (StarRocks, whose plain `DROP DATABASE` goes to the recycle bin, gets
FORCE: recorded-answer replay in tests/unit/test_rehearse.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.rehearse import CLEANUP_PREFIX, cleanup_names
from tests.support.warehouse import admin_connection


@pytest.mark.mariadb
def test_mariadb_drops_the_rehearsal_databases_without_force(mariadb_server: str, tmp_path: Path) -> None:
    from rockway.config import parse_dsn
    from rockway.rehearse.api import drop_prefixed

    p = parse_dsn(mariadb_server)
    rehearsed, names = cleanup_names(
        f"mysql://{p.user}{':' + p.password if p.password else ''}@{p.host}:{p.port}/warehouse")
    conn = admin_connection(mariadb_server)
    try:
        with conn.cursor() as cur:
            for database in names.databases:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            cur.execute(f"CREATE TABLE `{CLEANUP_PREFIX}sales_dw`.t (id INT)")
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
