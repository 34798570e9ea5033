"""A repeatable whose included file changed but whose rendered SQL did not is not re-run (unchanged_repeatables.py),
against a real MariaDB: the view script below counts its own runs in a side table."""

from __future__ import annotations

import json

from tests.support.database import history
from tests.support.refdata import DDL, GOOD, MANIFEST, SEED, write_ref

V1 = "CREATE TABLE orders (id INT, amount INT);\nCREATE TABLE view_runs (n INT);\n"
MACROS = "{% macro big_orders() %}SELECT id FROM orders WHERE amount > 5{% endmacro %}\n"
VIEW = ("{% import 'macros/orders.sql' as m %}\n"
        "CREATE OR REPLACE VIEW v_big AS {{ m.big_orders() }};\n"
        "INSERT INTO view_runs VALUES (1);\n")


def runs(sql) -> int:  # type: ignore[no-untyped-def]
    return sql("SELECT COUNT(*) FROM view_runs")[0][0]


def infos(cli) -> dict:  # type: ignore[no-untyped-def]
    return {i["description"]: i for i in json.loads(cli("migrate", "info", "--json").out)}


def test_a_macro_change_that_renders_the_same_does_not_rerun_the_view(project, cli, sql):
    project.migration("V1__orders.sql", V1)
    macros = project.write("macros/orders.sql", MACROS)
    project.repeatable("R__v_big.sql", VIEW)
    assert cli("migrate", "up").code == 0
    assert runs(sql) == 1
    applied = history(sql)[-1]

    # a comment and an unused macro: the file's checksum changes, the rendered statements do not
    macros.write_text("{# orders macros #}\n" + MACROS + "{% macro unused() %}SELECT 1{% endmacro %}\n")
    info = infos(cli)["v big"]
    assert info["state"] == "outdated" and info["note"].startswith("unchanged after rendering")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert "R__v_big.sql: changed on disk but renders to the statements it last applied; not re-run" in r.err
    assert runs(sql) == 1  # the script did not run
    rows = history(sql)
    assert len(rows) == 2 and rows[-1]["installed_rank"] == applied["installed_rank"]
    assert rows[-1]["checksum"] != applied["checksum"] and rows[-1]["installed_on"] == applied["installed_on"]
    info = infos(cli)["v big"]
    assert info["state"] == "applied" and info["checksum_mismatch"] is False
    assert cli("migrate", "up").out.startswith("Nothing to do")

    # a change that renders differently runs again
    macros.write_text(MACROS.replace("> 5", "> 1"))
    assert "unchanged" not in infos(cli)["v big"]["note"]
    assert cli("migrate", "up").code == 0
    assert runs(sql) == 2


def test_a_view_over_a_table_this_run_recreates_still_reruns(project, cli, sql):
    project.migration("V1__orders.sql", V1)
    macros = project.write("macros/orders.sql", MACROS)
    project.repeatable("R__v_big.sql", VIEW)
    assert cli("migrate", "up").code == 0
    macros.write_text("{# renders the same #}\n" + MACROS)
    project.migration("V2__orders_again.sql", "DROP TABLE orders;\nCREATE TABLE orders (id INT, amount INT);\n")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert runs(sql) == 2 and "re-running R v big: this run re-creates orders" in r.err


def test_a_seed_whose_csv_changed_still_reloads(project, cli, sql):
    project.migration("V1__dim_x.sql", DDL)
    csv = write_ref(project.root, GOOD, MANIFEST)
    project.repeatable("R__seed_x.sql", SEED)
    assert cli("migrate", "up").code == 0
    assert sql("SELECT COUNT(*) FROM dim_x")[0][0] == 3
    csv.write_text(GOOD + "4,Delta,1.00,,,true\n", encoding="utf-8")  # same ROCKWAY LOAD statement, new data
    assert "unchanged" not in infos(cli)["seed x"]["note"]
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert sql("SELECT COUNT(*) FROM dim_x")[0][0] == 4
