"""How statements and secrets are shown: progress lines, dry runs, `migrate render`, `rockway lint`, history,
error messages, log lines and spans.

- a statement written as a MySQL executable comment (`/*! … */`, macros/warehouse.sql's wh.index) never shows blank;
- values in secret positions (redaction.py's rules) never reach output unless --show-secrets asks for them, and an
  unquoted password (a syntax error the server echoes back) reaches no output, log, span or history column;
- messages for people keep numbers and ordinary literals as written (`VARCHAR(255)`, `Duplicate entry 'abcdef'`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from tests.support.otlp_receiver import OtlpReceiver
from tests.support.cli import Project, run_cli
from rockway.migrate.executor import describe_statement, scrub_error
from rockway.observability.logs import JsonFormatter, TextFormatter
from rockway.model import Statement
from rockway.observability.redaction import display_sql, redact_message, redact_secrets, redact_server_message
from rockway.observability.sql_summary import describe_sql, operation_name

INDEX = "/*! CREATE INDEX IF NOT EXISTS ix_t_a ON t (a) */"
DROP_INDEX = "/*! DROP INDEX IF EXISTS ix_t_a ON t */"
SECRET = "s3cretXYZ"  # distinctive: it appears in no message, name or keyword of its own accord
SECRET_MASK_SHOWN = "***"


def _history(sql) -> list[dict]:  # type: ignore[no-untyped-def]
    return [dict(zip(("statement_sql", "error", "status"), row))
            for row in sql("SELECT statement_sql, error, status FROM rockway_schema_history ORDER BY installed_rank")]


# --- executable comments ------------------------------------------------------------------------------
@pytest.mark.parametrize("sql, shown", [
    (INDEX, "CREATE INDEX IF NOT EXISTS ix_t_a ON t (a)"),
    ("/*!50700 CREATE INDEX ix ON t (a) */", "CREATE INDEX ix ON t (a)"),
    ("/*!\nCREATE INDEX ix ON t (a)\n*/", "CREATE INDEX ix ON t (a)"),
])
def test_executable_comment_statement_is_never_blank(sql: str, shown: str) -> None:
    described = describe_statement(Statement(index=1, sql=sql, line=7))
    assert described.startswith("line 7: ") and shown.split()[0] in described
    assert shown.split(" (")[0].split()[-1] in display_sql(sql)  # the index name is in the line people read
    assert describe_sql(sql).text == shown  # db.query.text: the code the server runs
    assert operation_name(sql) == "CREATE INDEX"


def test_executable_comment_shows_in_progress_dry_run_and_history(project: Project, cli, sql) -> None:
    project.migration("V1__t.sql", "CREATE TABLE t (a INT, b INT);\n")
    project.migration("V2__index.sql", f"{INDEX};\n/*! CREATE INDEX ix_t_b ON t (missing_column) */;\n")
    dry = cli("migrate", "up", "--dry-run")
    assert dry.code == 0, dry.err
    assert "'line 1: /*! CREATE INDEX IF NOT EXISTS ix_t_a ON t (a) */'" in dry.out  # bookkeeping statement_sql
    run = cli("migrate", "up")
    assert run.code == 1
    assert "[1/2] /*! CREATE INDEX IF NOT EXISTS ix_t_a ON t (a) */" in run.err
    assert "[2/2] /*! CREATE INDEX ix_t_b ON t (missing_column) */" in run.err
    failed = _history(sql)[-1]
    assert failed["status"] == "failed"
    assert failed["statement_sql"] == "line 2: /*! CREATE INDEX ix_t_b ON t (missing_column) */"
    assert "missing_column" in failed["error"]  # the server's own words, not `?`


# --- secret rules -------------------------------------------------------------------------------------
SECRET_STATEMENTS = [  # (statement, its secret); each rule of redaction.py's _SECRET_RULES at least once
    (f"CREATE USER 'u'@'%' IDENTIFIED BY '{SECRET}'", SECRET),
    (f"CREATE USER 'u'@'%' IDENTIFIED BY {SECRET}", SECRET),
    (f"ALTER USER u IDENTIFIED BY PASSWORD '*{SECRET}'", SECRET),
    (f"CREATE USER u IDENTIFIED WITH mysql_native_password BY \"{SECRET}\"", SECRET),
    (f"CREATE USER u IDENTIFIED WITH 'caching_sha2_password' AS '{SECRET}'", SECRET),
    (f"CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('{SECRET}')", SECRET),
    (f"SET PASSWORD FOR 'u'@'%' = PASSWORD('{SECRET}')", SECRET),
    (f"SET PASSWORD = '{SECRET}'", SECRET),
    (f"ALTER USER u IDENTIFIED BY 'new' REPLACE '{SECRET}'", SECRET),
    (f"CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'etl', PASSWORD '{SECRET}')", SECRET),
    (f"CHANGE MASTER TO MASTER_PASSWORD = '{SECRET}'", SECRET),
    (f'CREATE EXTERNAL CATALOG c PROPERTIES ("type"="jdbc", "user"="etl", "password"="{SECRET}",'
     ' "jdbc_uri"="jdbc:mysql://h:3306")', SECRET),
    (f'CREATE EXTERNAL RESOURCE r PROPERTIES ("type"="jdbc", "jdbc_password" = "{SECRET}")', SECRET),
    (f'CREATE EXTERNAL CATALOG c PROPERTIES ("jdbc_uri"="jdbc:mysql://h:3306/db?user=u&password={SECRET}")', SECRET),
    (f'CREATE STORAGE VOLUME v TYPE = S3 LOCATIONS = ("s3://b") PROPERTIES ("aws.s3.region" = "us-west-2",'
     f' "aws.s3.access_key" = "AKIA", "aws.s3.secret_key" = "{SECRET}")', SECRET),
    (f'CREATE REPOSITORY r WITH BROKER ON LOCATION "s3a://b/p" PROPERTIES ("fs.s3a.secret.key"="{SECRET}")', SECRET),
    (f'LOAD LABEL db.l (DATA INFILE("hdfs://h/p") INTO TABLE t) WITH BROKER "b" ("username"="u",'
     f' "password"="{SECRET}")', SECRET),
    (f'CREATE EXTERNAL CATALOG c PROPERTIES ("type"="hive", "azure.blob.sas_token" = "{SECRET}")', SECRET),
    (f"SELECT 1 FROM t WHERE uri = 'mysql://etl:{SECRET}@erp:3306/erp'", SECRET),
]


@pytest.mark.parametrize("sql, secret", SECRET_STATEMENTS)
def test_every_secret_syntax_is_masked_everywhere_it_is_shown(sql: str, secret: str) -> None:
    assert SECRET_MASK_SHOWN in redact_secrets(sql)
    for shown in (redact_secrets(sql), display_sql(sql), describe_sql(sql).text, redact_message(sql),
                  describe_statement(Statement(index=1, sql=sql, line=1)), redact_secrets(f"error: {sql}")):
        assert secret not in shown, shown
    assert display_sql(sql, show_secrets=True) == sql  # --show-secrets prints the statement as written


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (a VARCHAR(255) NOT NULL DEFAULT 'none' COMMENT 'hello world', b DECIMAL(18, 2))",
    "INSERT INTO t VALUES (1, 'Alice Example'), (2, 'Bob')",
    'CREATE TABLE t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 8 PROPERTIES ("replication_num" = "3")',
    "REPLACE INTO t VALUES ('abc')",
    "UPDATE users SET password_changed_at = NOW() WHERE id = 42",
])
def test_statements_without_secrets_are_shown_as_written(sql: str) -> None:
    assert redact_secrets(sql) == sql
    assert display_sql(sql) == sql


_SECRET_CHARS = st.characters(codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="'\"\\`;,()")


@given(secret=st.text(_SECRET_CHARS, min_size=3, max_size=24).map(lambda s: "Zq" + s),
       template=st.sampled_from([
           "CREATE USER 'etl'@'%' IDENTIFIED BY '{s}'",
           "CREATE USER 'etl'@'%' IDENTIFIED BY {s}",
           "ALTER USER etl IDENTIFIED BY \"{s}\"",
           "CREATE USER etl IDENTIFIED WITH mysql_native_password BY '{s}'",
           "SET PASSWORD FOR 'etl'@'%' = PASSWORD('{s}')",
           "SET PASSWORD = {s}",
           'CREATE EXTERNAL CATALOG c PROPERTIES ("type"="jdbc", "password" = "{s}")',
           'CREATE STORAGE VOLUME v TYPE = S3 PROPERTIES ("aws.s3.secret_key"="{s}")',
       ]))
def test_a_secret_never_survives_redaction(secret: str, template: str) -> None:
    sql = template.replace("{s}", secret)
    server = f"(1064) You have an error in your SQL syntax; ... near '{secret}' at line 1"
    for shown in (redact_secrets(sql), display_sql(sql), describe_sql(sql).text, redact_message(sql),
                  redact_server_message(server, sql), scrub_error(f"Unexpected input '{secret}'", sql)):
        assert secret not in shown, (sql, shown)


# --- server messages for people: secrets out, the rest faithful ----------------------------------------
def test_server_message_keeps_numbers_and_ordinary_literals() -> None:
    sql = "INSERT INTO t (name, size) VALUES ('abcdef', 255)"
    message = "(1062) Duplicate entry 'abcdef' for key 'PRIMARY'"
    assert scrub_error(message, sql) == message
    assert scrub_error("(1406) Data too long for column 'name' (VARCHAR(255))", sql).endswith("(VARCHAR(255))")


def test_server_message_masks_the_literals_of_a_secret_bearing_statement() -> None:
    sql = f"CREATE USER 'etl_user'@'%' IDENTIFIED BY '{SECRET}' BROKEN"
    message = f"(1064) You have an error in your SQL syntax; ... near 'BROKEN' at line 1 ('{SECRET}')"
    scrubbed = scrub_error(message, sql)
    assert SECRET not in scrubbed and "near '***' at line 1" in scrubbed


def test_starrocks_syntax_errors_keep_their_text_and_lose_secrets() -> None:
    # the parser's message shape (always 1064 / HY000), recorded in StarRocks
    # test/sql/test_column_rename/R/test_column_rename2
    recorded = ("(1064) Getting syntax error at line 1, column 23. Detail message: Unexpected input 'if', the most"
                " similar input is {<EOF>, ';'}.")
    assert scrub_error(recorded, "drop table site_access if exists") == recorded
    echoed = recorded.replace("'if'", f"'{SECRET}'")
    scrubbed = scrub_error(echoed, f"CREATE USER 'u'@'%' IDENTIFIED BY {SECRET}")
    assert SECRET not in scrubbed and "Unexpected input '***'" in scrubbed


def test_progress_history_and_errors_keep_numbers_and_literals(project: Project, cli, sql) -> None:
    project.migration("V1__t.sql", "CREATE TABLE t (name VARCHAR(255) PRIMARY KEY);\n"
                                   "INSERT INTO t VALUES ('abcdef');\nINSERT INTO t VALUES ('abcdef');\n")
    r = cli("migrate", "up")
    assert r.code == 1
    assert "[1/3] CREATE TABLE t (name VARCHAR(255) PRIMARY KEY)" in r.err
    assert "Duplicate entry 'abcdef'" in r.err
    failed = _history(sql)[-1]
    assert failed["statement_sql"] == "line 3: INSERT INTO t VALUES ('abcdef')"
    assert "Duplicate entry 'abcdef' for key" in failed["error"]


# --- the unquoted password, end to end ----------------------------------------------------------------
def test_unquoted_password_reaches_no_output_log_span_or_history(project: Project, sql, tmp_path: Path) -> None:
    project.migration("V1__user.sql", "CREATE TABLE t (a VARCHAR(255));\n"
                                      f"CREATE USER 'u'@'%' IDENTIFIED BY {SECRET};\n")
    log_file = tmp_path / "rockway.log"
    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint, "ROCKWAY_LOG_LEVEL": "DEBUG"}
        r = run_cli(project, "migrate", "up", "--log-file", str(log_file), env=env)
        assert receiver.wait_for(lambda rc: any(s["name"] == "rockway migrate up" for s in rc.spans) and rc.logs,
                                 timeout=10)
    assert r.code == 1, r.err
    statement = next(s for s in receiver.spans if s["attributes"].get("db.operation.name") == "CREATE USER")
    assert statement["status_code"] == "ERROR" and statement["attributes"]["db.query.text"].endswith("IDENTIFIED BY ***")
    history = sql("SELECT * FROM rockway_schema_history")
    assert history and "IDENTIFIED BY ***" in repr(history)
    places = {"stdout": r.out, "stderr": r.err, "log file": log_file.read_text(), "history": repr(history),
              "spans": repr(receiver.spans), "exported logs": repr(receiver.logs)}
    assert "near '***' at line 1" in r.err  # the server's echo of the statement, masked
    for where, text in places.items():
        assert SECRET not in text, f"{SECRET} found in {where}"


# --- render, dry run and lint: masked unless --show-secrets -------------------------------------------
SECRET_SCRIPT = f"CREATE TABLE t (a INT);\nCREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED BY '{SECRET}';\n"


@pytest.mark.parametrize("args", [
    ("migrate", "render"),
    ("migrate", "up", "--dry-run"),
    ("lint",),
    ("lint", "--json"),
    ("migrate", "lint", "--json"),
])
def test_rendered_statements_are_printed_with_secrets_masked(project: Project, cli, args) -> None:
    project.migration("V1__user.sql", SECRET_SCRIPT)
    project.migration("U1__user.sql", f"DROP USER IF EXISTS 'u'@'%';\nSET PASSWORD = '{SECRET}';\n")
    masked = cli(*args)
    assert masked.code == 0, masked.err
    assert SECRET not in masked.out + masked.err
    assert "IDENTIFIED BY '***'" in masked.out
    if "--json" in args:
        json.loads(masked.out)
    shown = cli(*args, "--show-secrets")
    assert shown.code == 0, shown.err
    assert f"IDENTIFIED BY '{SECRET}'" in shown.out


def test_rollback_dry_run_masks_secrets_unless_asked(project: Project, cli) -> None:
    project.migration("V1__t.sql", "CREATE TABLE t (a INT);\n")
    project.migration("U1__t.sql", f"SET PASSWORD FOR 'nobody'@'%' = PASSWORD('{SECRET}');\nDROP TABLE t;\n")
    assert cli("migrate", "up").code == 0
    masked = cli("migrate", "rollback", "--dry-run")
    assert masked.code == 0, masked.err
    assert SECRET not in masked.out + masked.err and "PASSWORD('***')" in masked.out
    shown = cli("migrate", "rollback", "--dry-run", "--show-secrets")
    assert shown.code == 0 and f"PASSWORD('{SECRET}')" in shown.out


@pytest.mark.parametrize("command", ["up", "rollback"])
def test_show_secrets_without_dry_run_is_a_usage_error(project: Project, cli, sql, command: str) -> None:
    project.migration("V1__user.sql", SECRET_SCRIPT)
    r = cli("migrate", command, "--show-secrets")
    assert r.code == 2 and "--show-secrets applies only with --dry-run" in r.err
    assert sql("SHOW TABLES") == []  # nothing ran, no history table


# --- logs and error output: the last stop --------------------------------------------------------------
def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("rockway", logging.ERROR, __file__, 1, message, args, None)


def test_log_lines_mask_secrets_in_messages_and_extras() -> None:
    record = _record("statement failed: %s", f"CREATE USER u IDENTIFIED BY {SECRET}")
    record.__dict__["rockway.statement"] = f'PROPERTIES ("password" = "{SECRET}")'
    text, doc = TextFormatter().format(record), json.loads(JsonFormatter().format(record))
    assert SECRET not in text and "IDENTIFIED BY ***" in text
    assert SECRET not in json.dumps(doc) and doc["message"].endswith("IDENTIFIED BY ***")


def test_error_output_masks_secrets_quoted_in_messages(project: Project, cli) -> None:
    # a statement changed after it was applied: the resume refusal quotes its first line
    project.migration("V1__user.sql", "CREATE TABLE t (a INT);\nCREATE TABLE t (a INT);\n")
    assert cli("migrate", "up").code == 1
    project.migration("V1__user.sql", f"CREATE USER 'u'@'%' IDENTIFIED BY {SECRET};\nCREATE TABLE t2 (a INT);\n")
    r = cli("migrate", "up", "--resume")
    assert r.code == 1
    assert "IDENTIFIED BY ***" in r.err and SECRET not in r.out + r.err


def test_exported_log_records_mask_secrets_in_messages_and_attributes() -> None:
    from rockway.observability.sdk import otlp_safe_record

    record = _record("statement failed: %s", f"CREATE USER u IDENTIFIED BY {SECRET}")
    record.__dict__["rockway.statement"] = f"SET PASSWORD = '{SECRET}'"
    exported = otlp_safe_record(record)
    assert exported.getMessage() == "statement failed: CREATE USER u IDENTIFIED BY ***"
    assert exported.__dict__["rockway.statement"] == "SET PASSWORD = '***'"
    plain = _record("run started: %s", "migrate up")
    assert otlp_safe_record(plain) is plain  # nothing to mask: the record goes out as it is


# --- shortcuts that must not change a result -------------------------------------------------------------
_SQL_PIECES = st.sampled_from([
    "CREATE TABLE ", "t_1", " (", ")", "id INT", " PRIMARY KEY", " DUPLICATE KEY(k)", "VARCHAR(20)", "'abc'", '"x"',
    "`q`", " = ", "=", "password", "'s3cret'", " IDENTIFIED BY ", "PASSWORD(", "mysql://u:p@h", "?token=", "&pwd=v",
    ";", ", ", "-- c\n", "/* c */", "/*! x */", "\n", " ", "1.5", "key", '"secret_key"', " PROPERTIES ", "\\", "'",
    '"', "SET ", "REPLACE ", "#", "x'AB'",
])
_SQL = st.lists(_SQL_PIECES | st.text(st.characters(codec="ascii"), max_size=4), max_size=14).map("".join)


@given(text=_SQL)
def test_secret_rules_skipped_by_their_word_tests_would_have_found_nothing(text: str, monkeypatch) -> None:
    from rockway.observability import redaction

    gated = redaction._secret_spans(text)
    with monkeypatch.context() as m:  # every rule on every text: no word test, no `=` test
        m.setattr(redaction, "_SECRET_RULES", tuple((rule, ("",)) for rule, _ in redaction._SECRET_RULES))
        assert redaction._secret_spans(text) == gated


@given(sql=_SQL)
def test_no_quoted_text_reaches_the_query_text(sql: str) -> None:
    """Every string literal, closed or not, is a `?` (or the statement is only its operation): outside quoted
    names no quote survives into db.query.text."""
    import re

    text = describe_sql(sql).text
    assert not re.search("[\'\"]", re.sub(r"`(?:[^`]|``)*`", "", text)), text


def test_each_thread_describes_statements_alike() -> None:
    import threading

    texts = [f"INSERT INTO t_{i} VALUES ({i}, '{'x' * i}') -- {i}" for i in range(1, 40)]
    expected = {sql: describe_sql.__wrapped__(sql) for sql in texts}
    wrong: list[str] = []

    def work(order: list[str]) -> None:
        for _ in range(20):
            wrong.extend(sql for sql in order if describe_sql.__wrapped__(sql) != expected[sql])

    threads = [threading.Thread(target=work, args=(texts[::step],)) for step in (1, -1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
