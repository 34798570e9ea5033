"""The sales warehouse applied to a real StarRocks with `migrate up --env prod` (allin1 container; conftest.py).

Everything is named from one prefix (databases, roles, users) so the session's server is left as found.
The prod environment of rockway.toml is used with the DSN pointed at the container, one replica, and
`starrocks_version` set to the server's version (the SECURITY clause of CREATE VIEW needs 3.4.1).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.docker import require_docker  # noqa: E402

require_docker()

import pymysql  # noqa: E402

from tests.support.cli import run_cli  # noqa: E402
from tests.support.warehouse import TABLES, copy_project  # noqa: E402

pytestmark = pytest.mark.starrocks
PASSWORD = "Warehouse-live-1"


class Live:
    def __init__(self, server: Any, dsn: str, project: Path) -> None:
        self.server, self.dsn, self.project = server, dsn, project
        self.prefix = f"rwl{uuid.uuid4().hex[:6]}"
        self.users: list[str] = []

    def db(self, part: str) -> str:
        return f"{self.prefix}_{part}"

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def env(self) -> dict[str, str]:
        return {"ROCKWAY_ENV": "prod", "ROCKWAY_DSN": self.dsn, "ROCKWAY_REPLICATION_NUM": "1",
                "ROCKWAY_VAR_REPLICATION_NUM": "1", "ROCKWAY_VAR_STARROCKS_VERSION": self.server.version,
                "ROCKWAY_VAR_RAW_DB": self.db("raw"), "ROCKWAY_VAR_DW_DB": self.db("dw"),
                "ROCKWAY_VAR_ETL_DB": self.db("etl"), "ROCKWAY_VAR_SECURE_DB": self.db("secure"),
                "ROCKWAY_VAR_ROLE_PREFIX": f"{self.prefix}_", "ROCKWAY_VAR_RLS_ROLES": self.role("region_at"),
                "ROCKWAY_HISTORY_TABLE": f"{self.prefix}_history", "ROCKWAY_ASYNC_TIMEOUT": "600",
                "ROCKWAY_POLL_INTERVAL": "1"}

    def cli(self, *args: str) -> Any:
        return run_cli(self.project, *args, env=self.env(), timeout=900)

    def sql(self, statement: str, *, user: str = "root", password: str = "") -> list[tuple]:
        conn = pymysql.connect(host=self.server.host, port=self.server.port, user=user, password=password,
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def objects(self, part: str, kind: str) -> set[str]:
        return {r[0] for r in self.sql(f"SELECT TABLE_NAME FROM information_schema.tables WHERE TABLE_SCHEMA = "
                                       f"'{self.db(part)}' AND TABLE_TYPE = '{kind}'")}

    def cleanup(self) -> None:
        for part in ("secure", "etl", "dw", "raw"):
            self.sql(f"DROP DATABASE IF EXISTS `{self.db(part)}` FORCE")
        for role in ("reader", "analyst", "etl_writer", "admin", "region_at"):
            self.sql(f"DROP ROLE IF EXISTS `{self.role(role)}`")
        for user in self.users:
            self.sql(f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.fixture
def live(starrocks_server: Any, starrocks_dsn: str, tmp_path: Path) -> Iterator[Live]:
    lv = Live(starrocks_server, starrocks_dsn, copy_project(tmp_path / "project"))
    try:
        yield lv
    finally:
        lv.cleanup()


def test_warehouse_applies_to_starrocks_and_rolls_back(live: Live) -> None:
    r = live.cli("migrate", "up")
    assert r.code == 0, r.err + r.out
    for part, names in TABLES.items():
        assert live.objects(part, "BASE TABLE") >= names, part
    mvs = {r[0] for r in live.sql("SELECT TABLE_NAME FROM information_schema.materialized_views WHERE TABLE_SCHEMA = "
                                  f"'{live.db('dw')}'")}
    assert mvs == {"mv_sales_daily", "mv_material_group_monthly"}  # the __new twins are gone
    create = live.sql(f"SHOW CREATE TABLE `{live.db('dw')}`.`fact_sales`")[0][1]
    assert "PRIMARY KEY(`billing_date`, `billing_document`, `billing_item`)" in create
    assert "date_trunc('day', billing_date)" in create.replace("`", "")

    status = live.cli("mv", "status", "--json", "-d", live.db("dw"))
    assert status.code == 0, status.err + status.out
    views = {v["name"]: v for v in json.loads(status.out)["materialized_views"]}
    assert set(views) == mvs and all(v["active"] for v in views.values())
    assert views["mv_sales_daily"]["max_staleness_seconds"] == 7200.0

    # a second `up` with a changed MV script rebuilds it through SWAP; the secure view over it keeps working
    script = live.project / "repeatable" / "R__mv_sales_daily.sql"
    script.write_text(script.read_text(encoding="utf-8") + "\n-- redeploy\n", encoding="utf-8")
    r = live.cli("migrate", "up")
    assert r.code == 0, r.err + r.out
    assert live.cli("mv", "activate", "-d", live.db("dw")).code == 0
    drift = live.cli("drift")  # the rebuild re-recorded what it changed (schema/drift.py RunChanges)
    assert drift.code == 0, drift.err + drift.out

    # a change by hand stays drift through a run with nothing pending, until accepted
    live.sql(f"ALTER TABLE `{live.db('dw')}`.`dim_material` ADD COLUMN by_hand INT NULL")
    for _ in range(120):  # a schema change job unless fast schema evolution applies: wait until it shows
        if "by_hand" in live.sql(f"SHOW CREATE TABLE `{live.db('dw')}`.`dim_material`")[0][1]:
            break
        time.sleep(0.5)
    assert live.cli("migrate", "up").code == 0
    drift = live.cli("drift", "--json")
    assert drift.code == 1 and [o["object"] for o in json.loads(drift.out)["objects"]] == [
        f"{live.db('dw')}.dim_material"], drift.out
    assert live.cli("drift", "--accept").code == 0 and live.cli("drift").code == 0

    r = live.cli("migrate", "rollback", "--to", "0")
    assert r.code == 0, r.err + r.out
    assert not live.sql(f"SHOW DATABASES LIKE '{live.prefix}%'")
    r = live.cli("migrate", "up")
    assert r.code == 0, r.err + r.out
    assert live.objects("dw", "BASE TABLE") >= TABLES["dw"]


def test_secure_views_filter_rows_per_user_and_role_on_starrocks(live: Live) -> None:
    r = live.cli("migrate", "up")
    assert r.code == 0, r.err + r.out
    dw, secure = live.db("dw"), live.db("secure")
    live.sql(f"INSERT INTO `{dw}`.fact_sales (billing_date, billing_document, billing_item, sales_org, "
             "distribution_channel, division, sales_group_code, region_code, customer_id, material_number, quantity, "
             "net_amount, document_currency, is_cancelled) VALUES "
             "('2025-01-02', '9000000001', 10, '1000', '10', '10', '111', 'DE-BY', 'C1', 'M1', 1, 100.00, 'EUR', false),"
             "('2025-01-02', '9000000002', 10, '1000', '10', '10', '113', 'DE-BW', 'C1', 'M1', 1, 50.00, 'EUR', false),"
             "('2025-01-03', '9000000003', 10, '1000', '10', '10', '211', 'AT-9', 'C1', 'M1', 1, 70.00, 'EUR', false)")
    alice, erin = live.role("alice"), live.role("erin")
    live.sql(f"CREATE ROLE IF NOT EXISTS `{live.role('region_at')}`")
    for user in (alice, erin):
        live.users.append(user)
        live.sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'")
        live.sql(f"GRANT `{live.role('analyst')}` TO USER '{user}'@'%'")
    live.sql(f"GRANT `{live.role('region_at')}` TO USER '{erin}'@'%'")
    live.sql(f"SET DEFAULT ROLE `{live.role('analyst')}` TO '{alice}'@'%'")
    live.sql(f"SET DEFAULT ROLE `{live.role('analyst')}`, `{live.role('region_at')}` TO '{erin}'@'%'")
    live.sql(f"INSERT INTO `{dw}`.rls_entitlement (principal_type, principal_name, scope, scope_value) VALUES "
             f"('USER', '{alice}', 'region', 'DE-BY'), ('ROLE', '{live.role('region_at')}', 'region', 'AT-9')")

    def regions(user: str) -> list[str]:
        rows = live.sql(f"SELECT region_code FROM `{secure}`.v_sales ORDER BY region_code", user=user, password=PASSWORD)
        return [r[0] for r in rows]

    assert regions(alice) == ["DE-BY"]  # current_user() is 'alice'@'%': matched by name
    assert regions(erin) == ["AT-9"]  # is_role_in_session('<prefix>_region_at')
    assert live.sql(f"SELECT region_code FROM `{secure}`.v_sales", user="root") == []  # root has no entitlement
    with pytest.raises(pymysql.err.MySQLError) as err:
        live.sql(f"SELECT * FROM `{dw}`.fact_sales", user=alice, password=PASSWORD)
    assert "Access denied" in str(err.value)
