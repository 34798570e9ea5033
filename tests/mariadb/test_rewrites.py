"""The `lint --fix` merge of adjacent column changes on a real MariaDB: a Hypothesis property over generated
column scripts, each applied merged and unmerged to its own database, gives the same columns in the same order
(the merge itself on text and recorded StarRocks answers: tests/unit/test_rewrites.py)."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from hypothesis import given, settings, strategies as st

from rockway.config import parse_dsn
from rockway.lint.rewrites import merge_column_changes
from rockway.sqlsplit import split


TYPES = ("INT", "BIGINT", "VARCHAR(20)", "DATE")
TABLES = ("t0", "t1")


@st.composite
def column_scripts(draw: st.DrawFn) -> str:
    """Single-change ALTER TABLE statements (valid in order) over two tables, with an INSERT now and then."""
    columns = {t: ["k", "c1", "c2"] for t in TABLES}
    made = 0
    statements = []
    for _ in range(draw(st.integers(1, 12))):
        table = draw(st.sampled_from(TABLES))
        cols = columns[table]
        op = draw(st.sampled_from(("add", "add", "add_many", "drop", "modify", "insert")))
        position = draw(st.sampled_from(("", "first", "after")))
        anchor = draw(st.sampled_from(cols))
        where = {"": "", "first": " FIRST", "after": f" AFTER {anchor}"}[position]
        if op == "add":
            made += 1
            name = f"n{made}"
            statements.append(f"ALTER TABLE {table} ADD COLUMN {name} {draw(st.sampled_from(TYPES))}{where}")
            cols.append(name)
        elif op == "add_many":
            names = [f"n{made + 1}", f"n{made + 2}"]
            made += 2
            statements.append(f"ALTER TABLE {table} ADD COLUMN ({names[0]} INT, {names[1]} DATE)")
            cols.extend(names)
        elif op == "drop" and len(cols) > 3:
            victim = draw(st.sampled_from([c for c in cols if c != "k"]))
            statements.append(f"ALTER TABLE {table} DROP COLUMN {victim}")
            cols.remove(victim)
        elif op == "modify":
            target = draw(st.sampled_from([c for c in cols if c != "k"]))
            if position == "after" and anchor == target:
                where = ""
            statements.append(f"ALTER TABLE {table} MODIFY COLUMN {target} {draw(st.sampled_from(TYPES))}{where}")
        elif op == "insert":
            statements.append(f"INSERT INTO {table} (k) VALUES ({len(statements)})")
    return "".join(f"{s};\n" for s in statements)


@pytest.fixture
def two_databases(db_dsn: str) -> Iterator[tuple[object, object]]:
    """Connections to the test database and a second empty one."""
    import pymysql

    p = parse_dsn(db_dsn)
    other = f"rw_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{other}`")
    conns = [pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=name,
                             autocommit=True) for name in (p.database, other)]
    try:
        yield conns[0], conns[1]
    finally:
        for conn in conns:
            conn.close()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{other}`")
        admin.close()


def _apply(conn, script: str) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    """Recreate the tables, run the script statement by statement, return the columns of both tables."""
    with conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} (k INT NOT NULL, c1 INT, c2 VARCHAR(10))")
        for stmt in split(script):
            cur.execute(stmt.sql)
        cur.execute("SELECT table_name, ordinal_position, column_name, column_type, is_nullable, column_default "
                    "FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, 2")
        return list(cur.fetchall())


@pytest.mark.mariadb
@settings(max_examples=30)
@given(script=column_scripts())
def test_merged_script_gives_mariadb_the_same_columns_in_the_same_order(  # type: ignore[no-untyped-def]
        two_databases, script: str) -> None:
    plain, merged = two_databases
    result = merge_column_changes(script)
    assert len(split(result.text)) == len(split(script)) - sum(len(m.statements) - 1 for m in result.merges)
    assert _apply(merged, result.text) == _apply(plain, script)
