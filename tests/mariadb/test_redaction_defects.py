"""How statements and secrets are shown through the CLI on MariaDB: progress lines, dry runs, `migrate render`,
`rockway lint`, history, error messages, log lines and spans (the functions behind them without a server:
tests/unit/test_redaction_defects.py).

- a statement written as a MySQL executable comment (`/*! … */`, macros/warehouse.sql's wh.index) never shows blank;
- values in secret positions (redaction.py's rules) never reach output unless --show-secrets asks for them, and an
  unquoted password (a syntax error the server echoes back) reaches no output, log, span or history column;
- messages for people keep numbers and ordinary literals as written (`VARCHAR(255)`, `Duplicate entry 'abcdef'`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OtlpReceiver
from tests.support.cli import Project, run_cli
from tests.support.redaction import INDEX, SECRET


def _history(sql) -> list[dict]:  # type: ignore[no-untyped-def]
    return [dict(zip(("statement_sql", "error", "status"), row))
            for row in sql("SELECT statement_sql, error, status FROM rockway_schema_history ORDER BY installed_rank")]


# --- executable comments ------------------------------------------------------------------------------
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


# --- server messages for people: secrets out, the rest faithful ----------------------------------------
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
def test_error_output_masks_secrets_quoted_in_messages(project: Project, cli) -> None:
    # a statement changed after it was applied: the resume refusal quotes its first line
    project.migration("V1__user.sql", "CREATE TABLE t (a INT);\nCREATE TABLE t (a INT);\n")
    assert cli("migrate", "up").code == 1
    project.migration("V1__user.sql", f"CREATE USER 'u'@'%' IDENTIFIED BY {SECRET};\nCREATE TABLE t2 (a INT);\n")
    r = cli("migrate", "up", "--resume")
    assert r.code == 1
    assert "IDENTIFIED BY ***" in r.err and SECRET not in r.out + r.err
