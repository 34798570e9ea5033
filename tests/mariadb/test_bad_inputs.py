"""Bad inputs: `rockway migrate up` exits 2, names the offending file (and line), and writes nothing.

Every project also holds a valid migration (`V1000__good.sql`), so a bad input that is skipped instead of
rejected shows up as tables in the database. After each run the test database must be completely empty:
no `good` table, no history table, no `rockway_lock_owner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.support.cli import Project, fill_dsn, run_cli, write_files

GOOD_NAME = "migrations/V1000__good.sql"
GOOD_SQL = "CREATE TABLE good (id INT NOT NULL PRIMARY KEY);\n"
V = "CREATE TABLE t (id INT);\n"
NAMING_HINT = "Script names are V<version>__<description>.sql"


@dataclass(frozen=True)
class Bad:
    """One bad project: files to add, extra CLI args / environment, and what stderr must contain."""

    files: dict[str, str | bytes]
    expect: tuple[str, ...]  # all must appear in stderr; the first names the offending file (and line)
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    dsn_from_env: bool = True  # False: ROCKWAY_DSN is not set, the project provides the database


def case(id: str, files: dict[str, str | bytes], *expect: str, args: tuple[str, ...] = (),
         env: dict[str, str] | None = None, dsn_from_env: bool = True, xfail: str | None = None):  # type: ignore[no-untyped-def]
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(Bad(files, expect, args, env or {}, dsn_from_env), id=id, marks=marks)


CASES = [
    # --- script names -------------------------------------------------------------------------
    case("name-single-underscore", {"migrations/V1_x.sql": V}, "migrations/V1_x.sql:", "two underscores", NAMING_HINT),
    case("name-lowercase-prefix", {"migrations/v1__x.sql": V}, "migrations/v1__x.sql:", "upper case"),
    case("name-no-description", {"migrations/V1.sql": V}, "migrations/V1.sql:", "description is missing"),
    case("name-empty-description", {"migrations/V1__.sql": V}, "migrations/V1__.sql:", "description is empty"),
    case("name-non-numeric-version", {"migrations/Vx__y.sql": V}, "migrations/Vx__y.sql:", "version 'x'"),
    case("name-double-dot-version", {"migrations/V1..2__x.sql": V}, "migrations/V1..2__x.sql:", "version '1..2'"),
    case("name-repeatable-single-underscore", {"repeatable/R_x.sql": V}, "repeatable/R_x.sql:", "R__<description>.sql"),
    case("name-repeatable-with-version", {"repeatable/R1__x.sql": V}, "repeatable/R1__x.sql:", "no version"),
    case("name-uppercase-suffix", {"migrations/V1__x.SQL": V}, "migrations/V1__x.SQL:", "lower-case '.sql'"),
    case("name-not-a-script", {"migrations/create_orders.sql": V}, "migrations/create_orders.sql:", "not a script name"),
    case("name-backup-copy", {"migrations/V1__x.sql.bak": V}, "migrations/V1__x.sql.bak:", "does not end in '.sql'"),
    # --- versions and descriptions ------------------------------------------------------------
    case("dup-version-trailing-zero", {"migrations/V1__a.sql": V, "migrations/V1.0__b.sql": V},
         "migrations/V1__a.sql:", "V1 is also defined by migrations/V1.0__b.sql"),
    case("dup-version-leading-zeros", {"migrations/V001__a.sql": V, "migrations/V1__b.sql": V},
         "migrations/V1__b.sql:", "V1 is also defined by migrations/V001__a.sql"),
    case("dup-version-underscore-dot", {"migrations/V1_1__a.sql": V, "migrations/V1.1__b.sql": V},
         "migrations/V1_1__a.sql:", "V1.1 is also defined by migrations/V1.1__b.sql"),
    case("dup-undo-version", {"migrations/V1__a.sql": V, "migrations/U1__a.sql": V, "migrations/U1.0__b.sql": V},
         "migrations/U1__a.sql:", "U1 is also defined by migrations/U1.0__b.sql"),
    case("undo-without-versioned", {"migrations/U2__x.sql": "DROP TABLE t;\n"},
         "migrations/U2__x.sql:", "undo script without a versioned script V2"),
    case("dup-repeatable-description", {"repeatable/R__v.sql": "SELECT 1;\n", "repeatable/sub/R__v.sql": "SELECT 2;\n"},
         "repeatable/sub/R__v.sql:", "repeatable 'v' is also defined by repeatable/R__v.sql"),
    case("dup-repeatable-across-folders", {"migrations/R__v.sql": "SELECT 1;\n", "repeatable/R__v.sql": "SELECT 2;\n"},
         "repeatable/R__v.sql:", "also defined by migrations/R__v.sql"),
    # --- script contents ----------------------------------------------------------------------
    case("non-utf8", {"migrations/V1__a.sql": b"SELECT 1;\nSELECT 2;\nSELECT '\xe9t\xe9';\n"},
         "migrations/V1__a.sql:3:", "not valid UTF-8"),
    case("undefined-variable", {"migrations/V1__a.sql": "SELECT 1;\n\nCREATE TABLE t (x INT) COMMENT '{{ owner }}';\n"},
         "migrations/V1__a.sql:3:", "undefined variable 'owner'"),
    case("undefined-variable-in-repeatable", {"repeatable/R__v.sql": "SELECT 1;\nSELECT {{ nope }};\n"},
         "repeatable/R__v.sql:2:", "undefined variable 'nope'"),
    case("jinja-syntax-error", {"migrations/V1__a.sql": "SELECT 1;\nSELECT {{ x + }};\n"},
         "migrations/V1__a.sql:2:", "template syntax error"),
    case("jinja-unclosed-block", {"migrations/V1__a.sql": "{% if true %}\nSELECT 1;\n"},
         "migrations/V1__a.sql:", "template syntax error", "endif"),
    case("include-missing-file", {"migrations/V1__a.sql": "SELECT 1;\n{% include 'templates/nope.sql' %}\n"},
         "migrations/V1__a.sql:2:", "'templates/nope.sql' not found"),
    case("include-outside-project", {"migrations/V1__a.sql": "{% include '../secrets.sql' %}\n",
                                     "../secrets.sql": "CREATE TABLE leaked (id INT);\n"},
         "migrations/V1__a.sql:1:", "'../secrets.sql' not found"),
    case("error-inside-included-template", {"migrations/V1__a.sql": "SELECT 1;\n{% include 'templates/inc.sql' %}\n",
                                            "templates/inc.sql": "SELECT 2;\nSELECT {{ missing_var }};\n"},
         "migrations/V1__a.sql:2:", "undefined variable 'missing_var'", "templates/inc.sql line 2"),
    case("template-runtime-error", {"migrations/V1__a.sql": "SELECT 1;\nSELECT {{ 1 // 0 }};\n"},
         "migrations/V1__a.sql:2:", "ZeroDivisionError"),
    case("load-csv-missing", {"repeatable/R__seed.sql": "INSERT INTO t {{ load_csv('countries.csv') }};\n"},
         "repeatable/R__seed.sql:", "reference-data/countries.csv", "does not exist"),
    case("unterminated-string", {"migrations/V1__a.sql": "SELECT 1;\nINSERT INTO t VALUES ('abc);\nSELECT 2;\n"},
         "migrations/V1__a.sql:2:", "unterminated string literal"),
    case("unterminated-block-comment", {"migrations/V1__a.sql": "SELECT 1;\n/* never closed\nSELECT 2;\n"},
         "migrations/V1__a.sql:2:", "unterminated /* comment"),
    case("unterminated-backtick", {"migrations/V1__a.sql": "SELECT 1;\nSELECT `abc FROM t;\n"},
         "migrations/V1__a.sql:2:", "unterminated quoted identifier"),
    case("unterminated-dollar-block", {"migrations/V1__a.sql": "SELECT 1;\nSELECT $$ abc;\n"},
         "migrations/V1__a.sql:2:", "unterminated $$ block"),
    case("malformed-directive", {"migrations/V1__a.sql": "SELECT 1;\n-- rockway: wait false\nCREATE TABLE t (x INT);\n"},
         "migrations/V1__a.sql:2:", "malformed directive"),
    case("repeatable-cycle", {"repeatable/R__x.sql": "CREATE OR REPLACE VIEW vx AS SELECT * FROM vy;\n",
                              "repeatable/R__y.sql": "CREATE OR REPLACE VIEW vy AS SELECT * FROM vx;\n"},
         "repeatable/R__x.sql:", "cycle", "repeatable/R__y.sql"),
    # --- rockway.toml -------------------------------------------------------------------------
    case("toml-invalid", {"rockway.toml": "[rockway]\nlock_timeout = \n"}, "rockway.toml:", "not valid TOML", "line 2"),
    case("toml-non-utf8", {"rockway.toml": b"[rockway]\ninstalled_by = '\xff'\n"}, "rockway.toml:", "not valid TOML"),
    case("toml-unknown-setting", {"rockway.toml": "[rockway]\nlock_timout = 5\n"}, "rockway.toml:", "'lock_timout'"),
    case("toml-unknown-setting-in-env", {"rockway.toml": "[rockway]\nenv = 'dev'\n[env.dev]\nhistroy_table = 'h'\n"},
         "rockway.toml:", "[env.dev]", "'histroy_table'"),
    case("toml-unknown-section", {"rockway.toml": "[flyway]\nlocations = 'x'\n"}, "rockway.toml:", "flyway"),
    case("toml-password", {"rockway.toml": "[rockway]\npassword = 'hunter22'\n"}, "rockway.toml:", "password"),
    case("toml-password-in-env", {"rockway.toml": "[env.dev]\npassword = 'hunter22'\n"}, "rockway.toml:", "[env.dev]",
         "password", args=("--env", "dev")),
    case("toml-env-not-a-table", {"rockway.toml": "[env]\ndev = 5\n"}, "rockway.toml:", "[env.dev] must be a table",
         args=("--env", "dev")),
    case("toml-lock-timeout-not-a-number", {"rockway.toml": "[rockway]\nlock_timeout = 'soon'\n"},
         "rockway.toml [rockway]:", "lock_timeout"),
    case("toml-lock-timeout-negative", {"rockway.toml": "[rockway]\nlock_timeout = -1\n"},
         "rockway.toml [rockway]:", "lock_timeout = -1"),
    case("toml-migrations-dir-is-a-file", {"rockway.toml": "[rockway]\nmigrations_dir = 'notes.txt'\n", "notes.txt": "x\n"},
         "notes.txt:", "is not a folder"),
    case("config-file-missing", {}, "nope.toml:", "not found", args=("--config", "nope.toml")),
    # --- command line and environment ---------------------------------------------------------
    case("unknown-env-no-toml", {}, "rockway.toml", "environment 'nope' is not defined", args=("--env", "nope")),
    case("unknown-env", {"rockway.toml": "[env.dev]\n[env.prod]\n"}, "rockway.toml", "environment 'nope' is not defined",
         "Defined: dev, prod", args=("--env", "nope")),
    case("bad-target", {}, "--target", "'1.x'", args=("--target", "1.x")),
    case("history-table-injection-cli", {}, "history_table", "'x;drop'", "not a valid identifier",
         args=("--history-table", "x;drop")),
    case("lock-timeout-env-not-a-number", {}, "ROCKWAY_LOCK_TIMEOUT", "'abc'", env={"ROCKWAY_LOCK_TIMEOUT": "abc"}),
    case("lock-timeout-cli-not-a-number", {}, "--lock-timeout", "'abc'", args=("--lock-timeout", "abc")),
    case("out-of-order-env-not-a-bool", {}, "ROCKWAY_OUT_OF_ORDER", "'maybe'", env={"ROCKWAY_OUT_OF_ORDER": "maybe"}),
    case("dsn-bad-scheme", {}, "DSN scheme 'postgres'", env={"ROCKWAY_DSN": "postgres@DSNREST@"}),
    case("dsn-unknown-option", {}, "DSN option 'sslmode'", env={"ROCKWAY_DSN": "@DSN@?sslmode=require"}),
    # --- found while writing these tests, fixed since -----
    case("history-table-injection-toml", {"rockway.toml": "[rockway]\nhistory_table = 'x;drop'\n"},
         "rockway.toml", "history_table"),
    case("dsn-bad-scheme-in-toml", {"rockway.toml": "[rockway]\ndsn = 'postgres@DSNREST@'\n"},
         "rockway.toml", "DSN scheme 'postgres'", dsn_from_env=False),
    case("toml-vars-not-a-table", {"rockway.toml": "[rockway]\nvars = 3\n"}, "rockway.toml", "vars"),
    case("toml-env-vars-not-a-table", {"rockway.toml": "[rockway]\nenv = 'dev'\n[env.dev]\nvars = 'x'\n"},
         "rockway.toml", "vars"),
    case("toml-replication-num-fraction", {"rockway.toml": "[rockway]\nreplication_num = 1.5\n"},
         "rockway.toml", "replication_num"),
    case("include-missing-file-in-repeatable", {"repeatable/R__v.sql": "SELECT 1;\n{% include 'templates/nope.sql' %}\n"},
         "repeatable/R__v.sql:2:", "templates/nope.sql"),
    case("directive-unknown-key", {"migrations/V1__a.sql": "-- rockway:wiat=false\nCREATE TABLE t (x INT);\n"},
         "migrations/V1__a.sql:1:", "wiat"),
    case("directive-bad-value", {"migrations/V1__a.sql": "-- rockway:wait=perhaps\nCREATE TABLE t (x INT);\n"},
         "migrations/V1__a.sql:1:", "perhaps"),
    case("migrations-dir-missing", {"rockway.toml": "[rockway]\nmigrations_dir = 'migrationz'\n"}, "migrationz"),
    case("project-dir-missing", {}, "no_such_project", args=("-C", "no_such_project")),
    case("undo-script-does-not-render", {"migrations/V1__a.sql": V, "migrations/U1__a.sql": "DROP TABLE {{ tabel }};\n"},
         "migrations/U1__a.sql:1:", "undefined variable 'tabel'"),
]


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_exits_2_names_the_file_and_writes_nothing(project: Project, sql, bad: Bad) -> None:  # type: ignore[no-untyped-def]
    write_files(project, {GOOD_NAME: GOOD_SQL, **bad.files})
    env = {k: str(fill_dsn(v, project.dsn)) for k, v in bad.env.items()}
    r = run_cli(project if bad.dsn_from_env else project.root, "migrate", "up", *bad.args, env=env)
    message = r.err
    tables = [row[0] for row in sql("SHOW FULL TABLES")]
    assert r.code == 2, f"exit {r.code}\nstderr: {r.err}\nstdout: {r.out}\ntables: {tables}"
    assert "Traceback" not in message, message
    assert not any(line.startswith("error: unexpected ") for line in message.splitlines()), message
    for fragment in bad.expect:
        assert fragment in message, f"{fragment!r} not in stderr:\n{message}"
    assert tables == [], f"the database is not empty: {tables}"
    assert "applied" not in r.out, r.out


def test_good_project_is_applied(project: Project, sql) -> None:  # type: ignore[no-untyped-def]
    """The control: without a bad input the same project writes the good table and the history."""
    write_files(project, {GOOD_NAME: GOOD_SQL})
    r = run_cli(project, "migrate", "up")
    assert r.code == 0, r.err
    assert {"good", "rockway_schema_history"} <= {row[0] for row in sql("SHOW TABLES")}
