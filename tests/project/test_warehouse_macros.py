"""The dialect macros (macros/warehouse.sql) and the `rls` / `mv` template globals, rendered for both engines."""

from __future__ import annotations

import re

import pytest

from rockway.config import Settings
from rockway.errors import InputError
from rockway.extensions import template_globals
from rockway.adapters.starrocks.sql import version_at_least
from rockway.macros.mv import materialized_view_sql
from rockway.macros.rls import parse_roles, secure_view_sql
from rockway.sqlsplit import split
from rockway.templating import Renderer
from tests.support.paths import REPO_ROOT

VARS = {"replication_num": 3, "rls_roles": ["r_de", "r_at"], "starrocks_version": "3.5.0"}


def render(text: str, engine: str, **variables: object) -> str:
    merged = {**VARS, **variables}
    renderer = Renderer(REPO_ROOT, merged, env_name="test", engine=engine)
    renderer.globals.update(template_globals(Settings(vars=merged, project_dir=REPO_ROOT), engine))
    return renderer.render_text(text, "test.sql")


TABLE = """{% import 'macros/warehouse.sql' as wh -%}
{% call wh.table('db.t', MODEL, ['k1', 'k2'], partition_by="date_trunc('day', k1)", comment="it's a test") %}
    k1 DATE NOT NULL,
    k2 INT NOT NULL,
    v VARCHAR(10) NULL
{% endcall %};
"""


def test_primary_key_table_for_starrocks() -> None:
    sql = render(TABLE.replace("MODEL", "'PRIMARY'"), "starrocks")
    assert sql.strip().endswith(')\nPRIMARY KEY (k1, k2)\nCOMMENT \'it\\\'s a test\'\n'
                                "PARTITION BY date_trunc('day', k1)\nDISTRIBUTED BY HASH (k1, k2)\n"
                                'PROPERTIES ("replication_num" = "3");')
    assert "/*!" not in sql


def test_primary_key_table_for_mariadb_keeps_the_key_in_executable_comment() -> None:
    sql = render(TABLE.replace("MODEL", "'PRIMARY'"), "mysql")
    assert "    v VARCHAR(10) NULL\n    /*!, PRIMARY KEY (k1, k2) */\n)\nCOMMENT 'it\\'s a test';" in sql
    assert "PARTITION" not in sql and "DISTRIBUTED" not in sql and "PROPERTIES" not in sql
    [stmt] = split(sql, hash_comments=True)  # the executable comment stays in the statement sent to MariaDB
    assert "/*!, PRIMARY KEY (k1, k2) */" in stmt.sql


def test_duplicate_key_table() -> None:
    assert "\nDUPLICATE KEY (k1, k2)\n" in render(TABLE.replace("MODEL", "'DUPLICATE'"), "starrocks")
    assert "KEY" not in render(TABLE.replace("MODEL", "'DUPLICATE'"), "mysql")


def test_an_unknown_key_model_stops_rendering() -> None:
    with pytest.raises(InputError) as err:
        render(TABLE.replace("MODEL", "'UNIQUE'"), "starrocks")
    assert "model must be 'PRIMARY' or 'DUPLICATE'" in str(err.value)


GRANTS = """{% import 'macros/warehouse.sql' as wh -%}
{{ wh.grant(LEVEL, 'db', 'r') }};
{{ wh.revoke(LEVEL, 'db', 'r') }};
"""


@pytest.mark.parametrize("level,starrocks,mysql", [
    ("read", ["GRANT SELECT ON ALL TABLES IN DATABASE db TO ROLE r", "GRANT SELECT ON ALL VIEWS IN DATABASE db TO ROLE r",
              "GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE db TO ROLE r"], ["GRANT SELECT ON db.* TO r"]),
    ("views", ["GRANT SELECT ON ALL VIEWS IN DATABASE db TO ROLE r"], ["GRANT SELECT ON db.* TO r"]),
    ("admin", ["GRANT ALL ON DATABASE db TO ROLE r", "GRANT ALL ON ALL TABLES IN DATABASE db TO ROLE r",
               "GRANT ALL ON ALL VIEWS IN DATABASE db TO ROLE r",
               "GRANT ALL ON ALL MATERIALIZED VIEWS IN DATABASE db TO ROLE r"], ["GRANT ALL PRIVILEGES ON db.* TO r"]),
])
def test_grants_and_revokes_per_engine(level: str, starrocks: list[str], mysql: list[str]) -> None:
    for engine, grants in (("starrocks", starrocks), ("mysql", mysql)):
        statements = [s.sql for s in split(render(GRANTS.replace("LEVEL", repr(level)), engine))]
        revokes = [g.replace("GRANT", "REVOKE").replace(" TO ", " FROM ") for g in grants]
        assert statements == grants + revokes


def test_databases_use_a_binary_collation_on_mariadb_only() -> None:
    text = "{% import 'macros/warehouse.sql' as wh %}{{ wh.create_database('x') }}"
    assert render(text, "starrocks") == "CREATE DATABASE IF NOT EXISTS x"
    assert render(text, "mysql") == "CREATE DATABASE IF NOT EXISTS x CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"


INDEXES = """{% import 'macros/warehouse.sql' as wh -%}
{{ wh.index('db.t', 'ix_t_a_b', ['a', 'b']) }};
{{ wh.drop_index('db.t', 'ix_t_a_b') }};
"""


def test_indexes_on_mariadb_are_executable_comments() -> None:
    # MariaDB runs the comment's code; StarRocks' rules (rockway lint) see only a comment, so no SR013
    statements = [s.sql for s in split(render(INDEXES, "mysql"))]
    assert statements == ["/*! CREATE INDEX IF NOT EXISTS ix_t_a_b ON db.t (a, b) */",
                          "/*! DROP INDEX IF EXISTS ix_t_a_b ON db.t */"]


@pytest.mark.parametrize("call", ["wh.index('db.t', 'ix', ['a'])", "wh.drop_index('db.t', 'ix')"])
def test_indexes_stop_rendering_for_starrocks(call: str) -> None:
    with pytest.raises(InputError) as err:
        render("{% import 'macros/warehouse.sql' as wh %}{{ " + call + " }}", "starrocks")
    assert "StarRocks has no secondary B-tree indexes" in str(err.value)
    guarded = "{% import 'macros/warehouse.sql' as wh %}{% if engine != 'starrocks' %}{{ " + call + " }};{% endif %}"
    assert split(render(guarded, "starrocks")) == []


@pytest.mark.parametrize("columns", ["[]", "'a'"])
def test_an_index_needs_a_list_of_columns(columns: str) -> None:
    with pytest.raises(InputError) as err:
        render("{% import 'macros/warehouse.sql' as wh %}{{ wh.index('db.t', 'ix', " + columns + ") }}", "mysql")
    assert "columns must be a non-empty list" in str(err.value)


# --- rls ------------------------------------------------------------------------------------------------

RLS = dict(name="sec.v", base="dw.fact", key="region_code", scope="region", entitlement="dw.ent")


def test_secure_view_for_starrocks() -> None:
    sql = secure_view_sql("starrocks", **RLS, roles=["r_de", "r_at"], grant_to=["analyst"], comment="x",
                          starrocks_version="3.4.1")
    statements = [s.sql for s in split(sql)]
    assert len(statements) == 2
    view, grant = statements
    assert view.startswith("CREATE OR REPLACE VIEW `sec`.`v`\nCOMMENT 'x'\nSECURITY NONE\nAS\nSELECT b.*\n")
    assert "WHERE b.`region_code` IN (\n    SELECT e.`scope_value`\n    FROM `dw`.`ent` AS e\n" in view
    # current_user() is 'alice'@'%' with the quotes: the name is the 2nd part split on the quote
    assert "e.`principal_name` = split_part(current_user(), '\\'', 2)" in view
    # is_role_in_session() takes literals only: one test per listed role
    assert ("(e.`principal_type` = 'ROLE' AND e.`principal_name` = 'r_at' AND is_role_in_session('r_at'))" in view)
    assert "is_role_in_session(e." not in view and "CURRENT_USER()" not in view
    assert grant == "GRANT SELECT ON VIEW `sec`.`v` TO ROLE `analyst`"


def test_security_clause_only_from_3_4_1() -> None:
    for version, expected in (("3.3.5", False), ("3.4.0", False), ("3.4.1", True), ("3.5.0-abc1234", True), (None, False)):
        assert ("SECURITY NONE" in secure_view_sql("starrocks", **RLS, starrocks_version=version)) is expected, version


def test_secure_view_for_mariadb() -> None:
    sql = secure_view_sql("mysql", **RLS, roles="r_de, r_at", grant_to="analyst", comment="ignored")
    view, grant = [s.sql for s in split(sql)]
    assert view.startswith("CREATE OR REPLACE SQL SECURITY DEFINER VIEW `sec`.`v` AS\nSELECT b.*\n")
    assert "COMMENT" not in view
    # USER() is the caller; CURRENT_USER()/CURRENT_ROLE() would be the definer inside a DEFINER view
    assert "e.`principal_name` = SUBSTRING_INDEX(USER(), '@', 1)" in view
    assert "CURRENT_USER" not in view and "CURRENT_ROLE" not in view
    assert "e.`principal_name` IN ('r_de', 'r_at')" in view and "mysql.roles_mapping" in view
    assert grant == "GRANT SELECT ON `sec`.`v` TO `analyst`"


def test_secure_view_without_roles_matches_users_only() -> None:
    for engine in ("starrocks", "mysql"):
        sql = secure_view_sql(engine, **RLS, columns=["region_code", "net_amount"])
        assert "'ROLE'" not in sql and "b.`region_code`, b.`net_amount`" in sql and ";" in sql


@pytest.mark.parametrize("field,value", [("name", "sec.v;DROP"), ("base", "a.b.c"), ("key", "region code"),
                                         ("entitlement", "dw.`ent`")])
def test_secure_view_rejects_names_that_are_not_plain(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        secure_view_sql("starrocks", **{**RLS, field: value})
    with pytest.raises(ValueError):
        parse_roles(["ok", "not ok"])


def test_versions() -> None:
    assert version_at_least("3.4.1", (3, 4, 1)) and version_at_least("4.0", (3, 4, 1))
    assert not version_at_least("3.3.12", (3, 4, 1)) and not version_at_least("", (3, 4, 1))


def test_rls_global_takes_roles_and_version_from_the_variables() -> None:
    text = "{{ rls.secure_view(name='s.v', base='d.f', key='k', entitlement='d.e') }}"
    sql = render(text, "starrocks")
    assert "is_role_in_session('r_de')" in sql and "is_role_in_session('r_at')" in sql and "SECURITY NONE" in sql
    sql = render(text, "starrocks", rls_roles="only_me", starrocks_version="3.3.5")
    assert "is_role_in_session('only_me')" in sql and "r_de" not in sql and "SECURITY" not in sql


# --- mv -------------------------------------------------------------------------------------------------

MV = """{% call mv.materialized_view(name='dw.mv_x', refresh='ASYNC EVERY (INTERVAL 1 HOUR)', max_staleness='2h',
                                   partition_by='d', distributed_by=['d']) %}
SELECT d, SUM(v) AS v FROM dw.t GROUP BY d
{% endcall %}"""


def test_materialized_view_for_starrocks_creates_then_swaps() -> None:
    statements = split(render(MV, "starrocks"))
    assert [re.sub(r"\s+", " ", s.sql.split("\nAS\n")[0]) for s in statements] == [
        "CREATE MATERIALIZED VIEW IF NOT EXISTS `dw`.`mv_x` DISTRIBUTED BY HASH (`d`) REFRESH DEFERRED MANUAL "
        'PARTITION BY d PROPERTIES ("replication_num" = "3")',
        "DROP MATERIALIZED VIEW IF EXISTS `dw`.`mv_x__new`",
        "CREATE MATERIALIZED VIEW `dw`.`mv_x__new` DISTRIBUTED BY HASH (`d`) REFRESH ASYNC EVERY (INTERVAL 1 HOUR) "
        'PARTITION BY d PROPERTIES ("replication_num" = "3")',
        "ALTER MATERIALIZED VIEW `dw`.`mv_x` SWAP WITH `mv_x__new`",
        "DROP MATERIALIZED VIEW IF EXISTS `dw`.`mv_x__new`",
    ]
    assert statements[0].sql.endswith("AS\nSELECT d, SUM(v) AS v FROM dw.t GROUP BY d")
    assert statements[2].sql.endswith("AS\nSELECT d, SUM(v) AS v FROM dw.t GROUP BY d")
    assert statements[0].directive("mv_max_staleness") == "7200"


def test_materialized_view_for_mariadb_is_a_view() -> None:
    [stmt] = split(render(MV, "mysql"))
    assert stmt.sql == "CREATE OR REPLACE VIEW `dw`.`mv_x` AS\nSELECT d, SUM(v) AS v FROM dw.t GROUP BY d"


@pytest.mark.parametrize("kwargs", [dict(refresh="EVERY HOUR"), dict(refresh="ASYNC EVERY (INTERVAL 1 WEEK)"),
                                    dict(name="dw.mv;x"), dict(query="  "), dict(max_staleness="soon"),
                                    dict(distributed_by=["a b"]), dict(name="x" * 60)])
def test_materialized_view_rejects_bad_arguments(kwargs: dict) -> None:
    args = dict(name="dw.mv_x", query="SELECT 1 AS x", refresh="MANUAL")
    args.update(kwargs)
    with pytest.raises(ValueError):
        materialized_view_sql("starrocks", **args)  # type: ignore[arg-type]


def test_refresh_schemes_are_accepted() -> None:
    for scheme in ("MANUAL", "ASYNC", "IMMEDIATE ASYNC", "DEFERRED MANUAL", "ASYNC EVERY (INTERVAL 10 MINUTE)",
                   "ASYNC START ('2026-01-01 06:00:00') EVERY (INTERVAL 1 DAY)"):
        sql = materialized_view_sql("starrocks", name="mv_x", query="SELECT 1 AS x", refresh=scheme)
        created = split(sql)[2].sql
        assert "REFRESH " + re.sub(r"^(IMMEDIATE|DEFERRED) ", "", scheme) in created


def test_the_query_is_given_once() -> None:
    for text in ("{{ mv.materialized_view(name='mv_x') }}",
                 "{% call mv.materialized_view(name='mv_x', query='SELECT 1') %}SELECT 2{% endcall %}"):
        with pytest.raises(InputError):
            render(text, "starrocks")


def test_repository_scripts_render_the_macros() -> None:
    text = (REPO_ROOT / "repeatable" / "R__mv_sales_daily.sql").read_text(encoding="utf-8")
    sr = render(text, "starrocks", dw_db="dw")
    assert "CREATE MATERIALIZED VIEW IF NOT EXISTS `dw`.`mv_sales_daily`" in sr
    assert "REFRESH ASYNC EVERY (INTERVAL 1 HOUR)" in sr and "PARTITION BY billing_date" in sr
    assert "-- rockway:mv_max_staleness=7200" in sr


def test_datetime_columns_keep_microseconds_on_mariadb_wherever_the_type_stands() -> None:
    """StarRocks' DATETIME keeps microseconds (3.3.5 on) and MariaDB's whole seconds: the MariaDB rendering writes
    DATETIME(6) as executable-comment code, for a type followed by a blank, a comma or the end of the column list."""
    text = """{% import 'macros/warehouse.sql' as wh -%}
{% call wh.table('db.t', 'DUPLICATE', ['a']) %}
    a DATETIME NOT NULL,
    b DATETIME,
    c DATE NULL,
    d DATETIME
{% endcall %};
"""
    mariadb = render(text, "mysql")
    assert mariadb.count("DATETIME/*!(6)*/") == 3 and "c DATE NULL" in mariadb
    assert "    a DATETIME/*!(6)*/ NOT NULL,\n    b DATETIME/*!(6)*/,\n" in mariadb
    assert "    d DATETIME/*!(6)*/\n)" in mariadb
    starrocks = render(text, "starrocks")
    assert "/*!" not in starrocks and starrocks.count("DATETIME") == 3
