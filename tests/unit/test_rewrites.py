"""Table rewrites and the `lint --fix` merge of adjacent column changes (rockway/lint/rewrites.py).

Unit tests on the classification and the text edit; the adapter replaying recorded StarRocks answers
(tests/support/starrocks_replay.py, the SHOW ALTER TABLE rows of StarRocks issue #46534) to show that the merged script waits
for one job where the unmerged one waits for several. The Hypothesis property on a real MariaDB (applying a
generated script and its merged form yields the same columns, types and ordinal positions) is in
tests/mariadb/test_rewrites.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rockway.adapters import Timeouts
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.config import Settings, parse_dsn
from rockway.lint import lint_script
from rockway.model import Kind
from rockway.lint.rewrites import (column_change, merge_column_changes, repeated_rewrites, script_rewrites,
                              statement_rewrite)
from rockway.sqlsplit import split
from rockway.adapters.starrocks.statement_kinds import JobType
from tests.support.cli import run_cli
from tests.support.starrocks_replay import (COLUMN_CANCELLED, COLUMN_FINISHED, COLUMN_JOB_COLUMNS, FakeClock, ReplayConnection,
                              column_job, q)

# --- which statements rewrite a table -------------------------------------------------------------


@pytest.mark.parametrize("sql, table, job", [
    ("ALTER TABLE t ADD COLUMN c INT", "t", JobType.COLUMN),
    ("alter table `d`.`t` drop column c", "d.t", JobType.COLUMN),
    ("ALTER TABLE t ADD COLUMN a INT, MODIFY COLUMN b BIGINT", "t", JobType.COLUMN),
    ("CREATE INDEX i ON d.t (c) USING BITMAP", "d.t", JobType.COLUMN),
    ("ALTER TABLE t ADD ROLLUP r1(a, b)", "t", JobType.ROLLUP),
    ("ALTER TABLE t DISTRIBUTED BY HASH(user_id) BUCKETS 10", "t", JobType.OPTIMIZE),
    ("CREATE MATERIALIZED VIEW mv1 AS SELECT k, SUM(v) FROM d.base GROUP BY k", "d.base", JobType.ROLLUP),
    ('ALTER TABLE t MODIFY COLUMN c COMMENT "metadata only"', None, None),
    ("ALTER TABLE t RENAME COLUMN a TO b", None, None),
    ('ALTER TABLE t ADD PARTITION p4 VALUES LESS THAN ("2020-04-30")', None, None),
    ("CREATE MATERIALIZED VIEW mv2 REFRESH ASYNC AS SELECT k FROM base", None, None),
    ("INSERT INTO t VALUES (1)", None, None),
])
def test_statement_rewrite_names_table_and_job(sql: str, table: str | None, job: JobType | None) -> None:
    found = statement_rewrite(sql)
    if table is None:
        assert found is None
    else:
        assert found is not None
        ref, kind = found
        assert (f"{ref.database}.{ref.name}" if ref.database else ref.name, kind) == (table, job)


def test_repeated_rewrites_span_scripts_and_name_statements_and_jobs() -> None:
    v1 = split("ALTER TABLE orders ADD COLUMN a INT;\nINSERT INTO log VALUES (1);\n"
               "ALTER TABLE orders ADD ROLLUP r1 (k, a);\nALTER TABLE dim ADD COLUMN x INT;")
    v2 = split("ALTER TABLE orders DISTRIBUTED BY HASH(k) BUCKETS 8;\nALTER TABLE other ADD COLUMN y INT;")
    found = script_rewrites("V1.sql", v1) + script_rewrites("V2.sql", v2)
    repeated = repeated_rewrites(found)
    assert list(repeated) == ["orders"]
    assert [(r.script, r.statement, r.line, r.job) for r in repeated["orders"]] == [
        ("V1.sql", 1, 1, JobType.COLUMN), ("V1.sql", 3, 3, JobType.ROLLUP), ("V2.sql", 1, 1, JobType.OPTIMIZE)]


# --- the merge ------------------------------------------------------------------------------------

SCRIPT = """-- V5: customer contact fields
ALTER TABLE crm.customer ADD COLUMN email VARCHAR(100) COMMENT 'work, or private';
-- phone goes right after email
ALTER TABLE crm.customer ADD COLUMN phone VARCHAR(20) AFTER email;
ALTER TABLE `crm`.`customer` MODIFY COLUMN name VARCHAR(200);
ALTER TABLE crm.orders ADD COLUMN note VARCHAR(10);
"""

MERGED = """-- V5: customer contact fields
ALTER TABLE crm.customer ADD COLUMN email VARCHAR(100) COMMENT 'work, or private',
-- phone goes right after email
    ADD COLUMN phone VARCHAR(20) AFTER email,
    MODIFY COLUMN name VARCHAR(200);
ALTER TABLE crm.orders ADD COLUMN note VARCHAR(10);
"""


def test_merge_joins_adjacent_column_changes_keeping_order_and_comments() -> None:
    result = merge_column_changes(SCRIPT)
    assert result.text == MERGED
    assert [(m.table, m.statements, m.line) for m in result.merges] == [("crm.customer", (1, 2, 3), 2)]
    assert result.kept == ()
    statements = split(result.text)
    assert len(statements) == 2
    assert [statement_rewrite(s.sql)[1] for s in statements] == [JobType.COLUMN, JobType.COLUMN]  # type: ignore[index]


def test_merged_script_passes_the_starrocks_rules_and_no_longer_repeats_the_alter() -> None:
    before = lint_script("V5.sql", Kind.VERSIONED, SCRIPT, split(SCRIPT))
    assert {f.rule for f in before.all_findings} == {"SR016"}  # the repeated ALTER warning
    after = lint_script("V5.sql", Kind.VERSIONED, MERGED, split(MERGED))
    assert after.all_findings == [] and after.ok
    assert len(repeated_rewrites(script_rewrites("V5.sql", split(MERGED)))) == 0


def test_merge_is_idempotent() -> None:
    once = merge_column_changes(SCRIPT).text
    again = merge_column_changes(once)
    assert again.text == once and not again.changed


@pytest.mark.parametrize("script, reason", [
    ("ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t DROP COLUMN a;", "drops column a"),
    ("ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD COLUMN a BIGINT;", "adds column a"),
    ("ALTER TABLE t MODIFY COLUMN a BIGINT;\nALTER TABLE t MODIFY COLUMN a VARCHAR(20);", "modifies column a"),
    ("ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD COLUMN b INT AFTER a;", "AFTER a"),
    ("ALTER TABLE t ADD COLUMN b INT AFTER a;\nALTER TABLE t DROP COLUMN a;", "drops column a"),
    ("ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD INDEX i (a) USING BITMAP;", "not a plain ADD/DROP/MODIFY"),
    ("ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD ROLLUP r (k, a);", "not a plain ADD/DROP/MODIFY"),
    ("ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD COLUMN b INT TO r1;", "not a plain ADD/DROP/MODIFY"),
    ("ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD COLUMN {{ name }} INT;", "template syntax"),
    ("ALTER TABLE t ADD COLUMN a INT;\n-- rockway:wait=false\nALTER TABLE t ADD COLUMN b INT;", "directive"),
])
def test_merge_refuses_what_could_change_meaning_and_says_why(script: str, reason: str) -> None:
    result = merge_column_changes(script)
    assert result.text == script and not result.changed
    assert len(result.kept) == 1 and result.kept[0].statement == 2
    assert reason in result.kept[0].reason


@pytest.mark.parametrize("script", [
    "ALTER TABLE t ADD COLUMN a INT;\nINSERT INTO t (k) VALUES (1);\nALTER TABLE t ADD COLUMN b INT;",  # not adjacent
    "ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE u ADD COLUMN b INT;",  # two tables
    "ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE d.t ADD COLUMN b INT;",  # t may be another database's table
    "ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD PARTITION p2 VALUES LESS THAN (\"2024-01-01\");",
    "{% if engine == 'starrocks' %}\nALTER TABLE t ADD COLUMN a INT;\n{% endif %}\nALTER TABLE t ADD COLUMN b INT;",
])
def test_merge_leaves_statements_that_are_not_one_run(script: str) -> None:
    assert merge_column_changes(script).text == script


def test_merge_keeps_a_column_added_then_referenced_by_after_and_several_column_forms() -> None:
    script = ("ALTER TABLE t ADD COLUMN (a INT, `b c` INT);\nALTER TABLE t ADD COLUMN d INT AFTER `b c`;  "
              "ALTER TABLE t MODIFY COLUMN k BIGINT FIRST;\n")
    result = merge_column_changes(script)
    assert result.text == ("ALTER TABLE t ADD COLUMN (a INT, `b c` INT),\n    ADD COLUMN d INT AFTER `b c`,  "
                           "MODIFY COLUMN k BIGINT FIRST;\n")


def test_merge_reads_a_struct_column_as_one_clause() -> None:
    """The commas of STRUCT<…> / MAP<…> separate fields, not clauses (sqlsplit.comma_spans), so the column merges."""
    script = ("ALTER TABLE t ADD COLUMN s STRUCT<a INT, b MAP<INT, STRING>> AFTER k;\n"
              "ALTER TABLE t ADD COLUMN c INT AFTER s;\n")
    result = merge_column_changes(script)
    assert result.kept == ()
    assert result.text == ("ALTER TABLE t ADD COLUMN s STRUCT<a INT, b MAP<INT, STRING>> AFTER k,\n"
                           "    ADD COLUMN c INT AFTER s;\n")


def test_column_change_parses_names_and_positions() -> None:
    assert column_change("ADD COLUMN `Email` VARCHAR(100) DEFAULT 'a, b' AFTER `Name`") == \
        column_change("add column email varchar(100) after name")
    change = column_change("ADD COLUMN (x INT, `y z` DATE)")
    assert change is not None and change.names == ("x", "y z") and change.after is None
    assert column_change("DROP COLUMN c").names == ("c",)  # type: ignore[union-attr]
    for other in ("ADD INDEX i (c)", "ORDER BY (a, b)", "RENAME COLUMN a TO b", 'SET ("k" = "v")',
                  "ADD COLUMN g INT AS (a + 1)", "DROP COLUMN c FROM r1", 'ADD COLUMN c INT PROPERTIES ("k"="v")'):
        assert column_change(other) is None, other


# --- recorded StarRocks answers: one merged ALTER is one job --------------------------------------
# Why one job: StarRocks fe/fe-core/src/main/java/com/starrocks/alter/SchemaChangeHandler.java analyzeAndCreateJob
# applies every clause of one ALTER to one copy of the table's schema (indexSchemaMap) and calls createJob once.

SHOW = "SHOW ALTER TABLE COLUMN FROM `db` WHERE TableName = 'ta_event_119' ORDER BY JobId DESC LIMIT 1"
UNMERGED = "ALTER TABLE ta_event_119 ADD COLUMN c2 INT;\nALTER TABLE ta_event_119 ADD COLUMN c3 INT AFTER c2;\n"


def _adapter(steps: list) -> tuple[StarRocksAdapter, ReplayConnection]:  # type: ignore[type-arg]
    conn, clock = ReplayConnection(steps), FakeClock()
    adapter = StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.3.5-abc1234")
    adapter.configure(Settings(async_timeout=30, poll_interval=1, replication_num=1))
    adapter._clock, adapter._sleep = clock.monotonic, clock.sleep
    return adapter, conn


def test_the_merged_alter_waits_for_one_column_job_where_the_unmerged_script_waits_for_two() -> None:
    first, second = (s.sql for s in split(UNMERGED))
    adapter, conn = _adapter([
        q(SHOW, COLUMN_JOB_COLUMNS, [COLUMN_CANCELLED]), q(first), q(SHOW, COLUMN_JOB_COLUMNS, [COLUMN_FINISHED]),
        q(SHOW, COLUMN_JOB_COLUMNS, [COLUMN_FINISHED]), q(second),
        q(SHOW, COLUMN_JOB_COLUMNS, [column_job("262020", "FINISHED")])])
    jobs = [job for s in split(UNMERGED) for job in adapter.run_statement(s.sql).async_jobs]
    conn.assert_done()
    assert jobs == ["column:262013", "column:262020"]

    (merged,) = split(merge_column_changes(UNMERGED).text)
    assert merged.sql == "ALTER TABLE ta_event_119 ADD COLUMN c2 INT,\n    ADD COLUMN c3 INT AFTER c2"
    adapter, conn = _adapter([q(SHOW, COLUMN_JOB_COLUMNS, [COLUMN_CANCELLED]), q(merged.sql),
                              q(SHOW, COLUMN_JOB_COLUMNS, [COLUMN_FINISHED])])
    assert adapter.run_statement(merged.sql).async_jobs == ("column:262013",)
    conn.assert_done()


def test_a_script_whose_template_text_does_not_split_is_left_alone_with_the_reason() -> None:
    script = "{# don't merge #}\nALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD COLUMN b INT;\n"
    result = merge_column_changes(script)
    assert result.text == script and not result.changed
    assert [(k.statement, k.line) for k in result.kept] == [(0, 1)]
    assert "cannot be split" in result.kept[0].reason


def test_fix_names_a_script_that_does_not_exist_before_the_applied_script_rule(tmp_path: Path) -> None:
    """`lint --fix nothere.sql` without --pending: the missing script first (it once led with the rule that
    --fix needs --pending or --assume-pending, as if the file were there), exit 2, nothing written."""
    v1 = "ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD COLUMN b INT;\n"
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations/V1__t.sql").write_text(v1, encoding="utf-8")
    for flag in ("--fix", "--check"):
        r = run_cli(tmp_path, "lint", flag, "nothere.sql", env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
        assert r.code == 2, r
        assert "no script matches 'nothere.sql'" in r.err and "Use a file name" in r.err
        assert "--assume-pending" not in r.err
    assert (tmp_path / "migrations/V1__t.sql").read_text(encoding="utf-8") == v1
