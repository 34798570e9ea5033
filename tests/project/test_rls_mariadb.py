"""Row-level security of the warehouse on a real MariaDB, queried as real database users.

The warehouse (migrations + repeatables of this repository) is applied once for the module. Users are
created here, get the analyst role as their default role, and query the secure views over their own
connections; entitlements are rows of rls_entitlement.

Role-based entitlement on MariaDB: inside the SQL SECURITY DEFINER view CURRENT_USER() and CURRENT_ROLE()
describe the definer, so a ROLE row applies when the role is granted to the user (mysql.roles_mapping),
active or not, and only for roles the policy lists (`rls_roles`, as StarRocks needs them listed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterator

import pymysql
import pytest

from rockway.config import parse_dsn
from tests.support.cli import run_cli
from tests.support.warehouse import Warehouse, admin_connection, copy_project

PASSWORD = "rls-Test-pw-1"
FACTS = [  # billing_date, document, item, sales group, region, net amount
    ("2025-01-02", "9000000001", 10, "111", "DE-BY", Decimal("100.00")),
    ("2025-01-02", "9000000001", 20, "111", "DE-BY", Decimal("20.00")),
    ("2025-01-02", "9000000002", 10, "113", "DE-BW", Decimal("50.00")),
    ("2025-01-03", "9000000003", 10, "211", "AT-9", Decimal("70.00")),
    ("2025-01-03", "9000000004", 10, "311", "CH-ZH", Decimal("30.00")),
]


class Env:
    """The applied warehouse and helpers to act as its users."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.dw, self.secure = wh.db("dw"), wh.db("secure")

    def admin(self, sql: str, params: tuple | None = None) -> list[tuple]:
        conn = admin_connection(self.wh.server_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def add_user(self, name: str, *roles: str) -> str:
        user = self.wh.role(name)  # prefixed like everything else
        self.wh.users.append(user)
        self.admin(f"CREATE USER `{user}`@'%%' IDENTIFIED BY %s", (PASSWORD,))
        analyst = self.wh.role("analyst")
        for role in (analyst, *roles):
            self.admin(f"GRANT `{role}` TO `{user}`@'%'")
        self.admin(f"SET DEFAULT ROLE `{analyst}` FOR `{user}`@'%'")
        return user

    def add_role(self, name: str) -> str:
        role = self.wh.role(name)
        self.wh.extra_roles.append(role)
        self.admin(f"CREATE ROLE `{role}`")
        return role

    def entitle(self, principal_type: str, principal: str, region: str) -> None:
        self.admin(f"INSERT INTO `{self.dw}`.rls_entitlement (principal_type, principal_name, scope, scope_value,"
                   " granted_by, granted_at) VALUES (%s, %s, 'region', %s, 'test', NOW())",
                   (principal_type, principal, region))

    def as_user(self, user: str, sql: str) -> list[tuple]:
        p = parse_dsn(self.wh.server_dsn)
        conn = pymysql.connect(host=p.host, port=p.port, user=user, password=PASSWORD, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()

    def regions(self, user: str, view: str = "v_sales") -> list[tuple[str, Any]]:
        return sorted(self.as_user(user, f"SELECT region_code, net_amount FROM `{self.secure}`.`{view}`"))


@pytest.fixture(scope="module")
def rls(mariadb_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    wh = Warehouse(mariadb_server)
    env = Env(wh)
    try:
        wh.create_meta()
        project = copy_project(tmp_path_factory.mktemp("warehouse"))
        # the policy honours one region role; a second region role exists but is not listed
        r = run_cli(project, "migrate", "up", env=wh.env(rls_roles=[wh.role("region_at")]))
        assert r.code == 0, r.err + r.out
        env.add_role("region_at")
        env.add_role("region_ch_unlisted")
        for date, doc, item, group, region, amount in FACTS:
            env.admin(f"INSERT INTO `{env.dw}`.fact_sales (billing_date, billing_document, billing_item, sales_org,"
                      " distribution_channel, division, sales_group_code, region_code, customer_id, material_number,"
                      " quantity, net_amount, document_currency, is_cancelled)"
                      " VALUES (%s, %s, %s, '1000', '10', '10', %s, %s, '0000100001', '000000000010000004', 1, %s,"
                      " 'EUR', FALSE)", (date, doc, item, group, region, amount))
        yield env
    finally:
        wh.drop()


def test_users_see_only_the_regions_they_are_entitled_to(rls: Env) -> None:
    a, b = rls.add_user("alice"), rls.add_user("bob")
    rls.entitle("USER", a, "DE-BY")
    rls.entitle("USER", b, "DE-BW")
    assert rls.regions(a) == [("DE-BY", Decimal("20.00")), ("DE-BY", Decimal("100.00"))]
    assert rls.regions(b) == [("DE-BW", Decimal("50.00"))]
    # the secure view over the daily figures (a materialized view on StarRocks, a view here) filters alike
    daily = rls.as_user(a, f"SELECT region_code, net_amount, billing_items FROM `{rls.secure}`.v_sales_daily")
    assert daily == [("DE-BY", Decimal("120.00"), 2)]
    # a WHERE clause cannot widen the filter
    assert rls.as_user(a, f"SELECT COUNT(*) FROM `{rls.secure}`.v_sales WHERE region_code = 'DE-BW'") == [(0,)]


def test_a_user_without_entitlement_sees_nothing(rls: Env) -> None:
    carol = rls.add_user("carol")
    assert rls.regions(carol) == []
    assert rls.as_user(carol, f"SELECT COUNT(*) FROM `{rls.secure}`.v_sales_daily") == [(0,)]


@pytest.mark.parametrize("relation", ["fact_sales", "v_sales_enriched", "rls_entitlement", "mv_sales_daily"])
def test_analysts_cannot_read_the_warehouse_itself(rls: Env, relation: str) -> None:
    dave = rls.wh.role("dave")
    if dave not in rls.wh.users:
        rls.add_user("dave")
        rls.entitle("USER", dave, "DE-BY")
    with pytest.raises(pymysql.err.OperationalError) as err:
        rls.as_user(dave, f"SELECT * FROM `{rls.dw}`.`{relation}`")
    assert err.value.args[0] == 1142  # ER_TABLEACCESS_DENIED_ERROR: SELECT command denied
    assert rls.regions(dave)  # while the secure view works for the same user


def test_role_entitlement_applies_to_members_of_a_listed_role(rls: Env) -> None:
    erin = rls.add_user("erin", rls.wh.role("region_at"))
    frank = rls.add_user("frank", rls.wh.role("region_ch_unlisted"))
    rls.entitle("ROLE", rls.wh.role("region_at"), "AT-9")
    rls.entitle("ROLE", rls.wh.role("region_ch_unlisted"), "CH-ZH")
    assert rls.regions(erin) == [("AT-9", Decimal("70.00"))]  # role granted, not even active
    assert rls.regions(frank) == []  # the policy does not list this role
    # a user entitled to a region both directly and through a role sees each row once
    rls.entitle("USER", erin, "AT-9")
    assert rls.regions(erin) == [("AT-9", Decimal("70.00"))]


def test_entitlement_changes_apply_to_the_next_query(rls: Env) -> None:
    gina = rls.add_user("gina")
    assert rls.regions(gina) == []
    rls.entitle("USER", gina, "CH-ZH")
    assert rls.regions(gina) == [("CH-ZH", Decimal("30.00"))]
    rls.admin(f"DELETE FROM `{rls.dw}`.rls_entitlement WHERE principal_name = %s", (gina,))
    assert rls.regions(gina) == []


def test_users_are_matched_by_name_not_by_the_definer(rls: Env) -> None:
    # The view's definer (the migrating admin) has no entitlement rows, and an entitlement for the admin's
    # name must not leak to anybody else: each caller is matched by USER(), not CURRENT_USER().
    admin_user = parse_dsn(rls.wh.server_dsn).user
    rls.entitle("USER", admin_user, "DE-BW")
    try:
        hank = rls.add_user("hank")
        assert rls.regions(hank) == []
    finally:
        rls.admin(f"DELETE FROM `{rls.dw}`.rls_entitlement WHERE principal_name = %s", (admin_user,))
