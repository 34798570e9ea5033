"""How statements and secrets are shown, without a server: the functions behind progress lines, dry runs,
`migrate render`, `rockway lint`, history, error messages, log lines and spans (the same through the CLI on MariaDB:
tests/mariadb/test_redaction_defects.py).

- a statement written as a MySQL executable comment (`/*! … */`, macros/warehouse.sql's wh.index) never shows blank;
- values in secret positions (redaction.py's rules) never reach output unless --show-secrets asks for them, and an
  unquoted password (a syntax error the server echoes back) is masked in the server's message;
- messages for people keep numbers and ordinary literals as written (`VARCHAR(255)`, `Duplicate entry 'abcdef'`).
"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings, strategies as st

from rockway.migrate.executor import describe_statement, scrub_error
from rockway.observability.logs import JsonFormatter, TextFormatter
from rockway.model import Statement
from rockway.observability.redaction import display_sql, redact_message, redact_secrets, redact_server_message
from rockway.observability.sql_summary import describe_sql, operation_name
from tests.support.redaction import INDEX, SECRET

SECRET_MASK_SHOWN = "***"


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


# --- logs and error output: the last stop --------------------------------------------------------------
def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("rockway", logging.ERROR, __file__, 1, message, args, None)


def test_log_lines_mask_secrets_in_messages_and_extras() -> None:
    record = _record("statement failed: %s", f"CREATE USER u IDENTIFIED BY {SECRET}")
    record.__dict__["rockway.statement"] = f'PROPERTIES ("password" = "{SECRET}")'
    text, doc = TextFormatter().format(record), json.loads(JsonFormatter().format(record))
    assert SECRET not in text and "IDENTIFIED BY ***" in text
    assert SECRET not in json.dumps(doc) and doc["message"].endswith("IDENTIFIED BY ***")


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


def _every_rule_finds_the_same(text: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rockway.observability import redaction

    gated = redaction._secret_spans(text)
    with monkeypatch.context() as m:  # every rule on every text: no word test, no `=` or key-word test
        m.setattr(redaction, "_SECRET_RULES", tuple((rule, ("",)) for rule, _ in redaction._SECRET_RULES))
        assert redaction._secret_spans(text) == gated


@given(text=_SQL)
def test_secret_rules_skipped_by_their_word_tests_would_have_found_nothing(text: str, monkeypatch) -> None:
    _every_rule_finds_the_same(text, monkeypatch)


# key = value text where the key's words alone decide (redaction.py _SECRET_KEY_WORD_RE): properties, URL queries
_KEY_NAME = st.builds("{}{}{}{}".format, st.sampled_from(["", "jdbc_", "aws.s3.", "x-"]),
                      st.sampled_from(["", "private", "access", "shared", "api", "account", "secret", "primary", "x"]),
                      st.sampled_from(["", "_", ".", "-", "$"]),
                      st.sampled_from(["key", "KEY", "Key", "pass", "PWD", "passwd", "Password", "passphrase", "secret",
                                       "token", "credential", "credentials", "keytab", "keytab_content", "content",
                                       "x"]))
_ASSIGNMENT = st.builds("{}{}{}{}{}{}".format, st.sampled_from(["", " ", "?", "&", ";", "(", ", "]),
                        st.sampled_from(["", "'", '"', "`"]), _KEY_NAME, st.sampled_from(["", "'", '"', "`"]),
                        st.sampled_from(["=", " = ", " ="]), st.sampled_from(["v", "'v'", '"v"', "s3cret", ""]))
_KEYED = st.lists(_ASSIGNMENT | st.sampled_from([" PRIMARY KEY (`id`)", ") ENGINE=InnoDB", "\n", " "])
                  | st.text(st.characters(codec="ascii"), max_size=3), min_size=1, max_size=6).map("".join)


@settings(max_examples=400)  # cheap, and a dropped key word shows only in a few of the texts drawn
@given(text=_KEYED)
def test_key_rules_skipped_for_naming_no_secret_key_would_have_found_nothing(text: str, monkeypatch) -> None:
    _every_rule_finds_the_same(text, monkeypatch)


def test_mysql_ddl_names_no_secret_key_and_a_secret_property_is_still_masked() -> None:
    from rockway.observability import redaction

    ddl = ("CREATE TABLE `t_1` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"
           " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
    assert redaction._SECRET_KEY_WORD_RE.search(ddl.lower()) is None and redact_secrets(ddl) == ddl
    for key in ("aws.s3.access_key", "azure.blob.shared_key", "API-KEY", "privatekey", "accountKey", "my.secret",
                "jdbc_passwd", "pwd", "sas_token", "gcp.credentials", "kerberos_keytab"):
        assert redact_secrets(f'PROPERTIES ("{key}" = "{SECRET}")') == f'PROPERTIES ("{key}" = "***")'
    # text that is not ASCII is searched by every key rule, as before the key-word test
    assert redact_secrets(f'-- café\nPROPERTIES ("apikey" = "{SECRET}")') == '-- café\nPROPERTIES ("apikey" = "***")'


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
