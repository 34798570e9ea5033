"""Bad inputs to the other `migrate` commands (rollback, repair, baseline, render, history, new) and to options
and settings: exit 2, the message names the file, option or setting, and nothing is written.

Each case first builds a state with commands that must succeed (`setup`), then changes files (`later`) and runs
the bad command. "Nothing written" is checked on everything the bad command could touch: every table of the
test database with all its rows, and the project's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cli import Project, run_cli, write_files

V1 = "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY);\n"
U1 = "DROP TABLE IF EXISTS orders;\n"
V2 = "CREATE TABLE customers (id INT NOT NULL PRIMARY KEY);\n"
U2 = "DROP TABLE IF EXISTS customers;\n"
APPLIED = {"migrations/V1__orders.sql": V1, "migrations/U1__orders.sql": U1,
           "migrations/V2__customers.sql": V2, "migrations/U2__customers.sql": U2}
UP = (("migrate", "up"),)
SCAFFOLD = "-- add things\n-- Purpose: \n-- Owner: \n\n"  # what `migrate new` writes (commands.new)


@dataclass(frozen=True)
class Bad:
    """Files, commands that build the starting state, file changes after them, the bad command and its message."""

    args: tuple[str, ...]
    expect: tuple[str, ...]  # all must appear in stderr
    files: dict[str, str] = field(default_factory=dict)
    setup: tuple[tuple[str, ...], ...] = ()
    later: dict[str, str | None] = field(default_factory=dict)  # None deletes the file
    env: dict[str, str] = field(default_factory=dict)


def case(id: str, args: tuple[str, ...], *expect: str, files: dict[str, str] | None = None,
         setup: tuple[tuple[str, ...], ...] = (), later: dict[str, str | None] | None = None,
         env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return pytest.param(Bad(args, expect, files or {}, setup, later or {}, env or {}), id=id)


CASES = [
    # --- numeric options and settings -----------------------------------------------------------
    case("lock-timeout-negative", ("migrate", "up", "--lock-timeout", "-5"), "--lock-timeout", "zero or positive",
         files=APPLIED),
    case("lock-timeout-nan", ("migrate", "up", "--lock-timeout", "nan"), "--lock-timeout", "zero or positive",
         files=APPLIED),
    case("lock-timeout-negative-on-rollback", ("migrate", "rollback", "--lock-timeout", "-1"), "--lock-timeout",
         "zero or positive", files=APPLIED, setup=UP),
    case("lock-timeout-env-negative", ("migrate", "up"), "ROCKWAY_LOCK_TIMEOUT", "zero or positive", files=APPLIED,
         env={"ROCKWAY_LOCK_TIMEOUT": "-3"}),
    case("lock-lease-toml-negative", ("migrate", "up"), "rockway.toml", "lock_lease", "zero or positive",
         files={**APPLIED, "rockway.toml": "[rockway]\nlock_lease = -1\n"}),
    case("connect-timeout-toml-infinite", ("migrate", "up"), "rockway.toml", "connect_timeout", "zero or positive",
         files={**APPLIED, "rockway.toml": "[rockway]\nconnect_timeout = inf\n"}),
    case("replication-num-env-fraction", ("migrate", "up"), "ROCKWAY_REPLICATION_NUM", "whole number", files=APPLIED,
         env={"ROCKWAY_REPLICATION_NUM": "2.5"}),
    case("rollback-steps-zero", ("migrate", "rollback", "--steps", "0"), "--steps", "1 or more", files=APPLIED,
         setup=UP),
    case("rollback-steps-negative", ("migrate", "rollback", "--steps", "-1"), "--steps", "1 or more", files=APPLIED,
         setup=UP),
    case("rollback-steps-not-a-number", ("migrate", "rollback", "--steps", "two"), "--steps", "'two'", files=APPLIED,
         setup=UP),
    # --- validate on migrate ----------------------------------------------------------------------
    case("validate-env-not-a-bool", ("migrate", "up"), "ROCKWAY_VALIDATE_ON_MIGRATE", "'sometimes'", files=APPLIED,
         env={"ROCKWAY_VALIDATE_ON_MIGRATE": "sometimes"}),
    case("validate-toml-not-a-bool", ("migrate", "up"), "rockway.toml", "validate_on_migrate",
         files={**APPLIED, "rockway.toml": "[rockway]\nvalidate_on_migrate = 'sometimes'\n"}),
    case("up-applied-script-edited", ("migrate", "up"), "migrations/V1__orders.sql", "changed", "`migrate repair`",
         files=APPLIED, setup=UP, later={"migrations/V1__orders.sql": V1 + "-- edited\n",
                                         "migrations/V3__more.sql": "CREATE TABLE more_rows (id INT);\n"}),
    case("up-applied-script-edited-dry-run", ("migrate", "up", "--dry-run"), "migrations/V2__customers.sql", "changed",
         files=APPLIED, setup=UP, later={"migrations/V2__customers.sql": V2.replace("customers", "clients")}),
    case("rollback-applied-script-edited", ("migrate", "rollback"), "migrations/V2__customers.sql", "changed",
         files=APPLIED, setup=UP, later={"migrations/V2__customers.sql": V2 + "-- edited\n"}),
    # --- scripts without statements, missing undo scripts -----------------------------------------
    case("up-empty-versioned-script", ("migrate", "up"), "migrations/V3__more.sql", "no statements",
         files=APPLIED, setup=UP, later={"migrations/V3__more.sql": SCAFFOLD}),
    case("up-empty-script-among-good-ones", ("migrate", "up"), "migrations/V2__customers.sql", "no statements",
         files={**APPLIED, "migrations/V2__customers.sql": "\n\n"}),
    case("rollback-empty-undo-script", ("migrate", "rollback"), "migrations/U2__customers.sql", "no statements",
         files=APPLIED, setup=UP, later={"migrations/U2__customers.sql": "-- Undo V2: customers\n"}),
    case("rollback-missing-undo-script", ("migrate", "rollback", "--to", "0"), "migrations/U2__customers.sql",
         "no undo script for V2", files=APPLIED, setup=UP, later={"migrations/U2__customers.sql": None}),
    case("rollback-steps-and-to", ("migrate", "rollback", "--steps", "1", "--to", "1"), "--steps", "--to",
         files=APPLIED, setup=UP),
    case("rollback-to-not-a-version", ("migrate", "rollback", "--to", "1.x"), "--to", "'1.x'", files=APPLIED, setup=UP),
    # --- repair, baseline -------------------------------------------------------------------------
    case("repair-statement-done-nothing-interrupted", ("migrate", "repair", "--statement-done", "2"),
         "--statement-done 2", "no interrupted migration", files=APPLIED, setup=UP),
    case("baseline-version-not-a-version", ("migrate", "baseline", "--version", "v3"), "--version", "'v3'",
         files=APPLIED),
    case("baseline-version-missing", ("migrate", "baseline"), "--version", files=APPLIED),
    case("baseline-on-a-migrated-database", ("migrate", "baseline", "--version", "5"), "rockway_schema_history",
         "baseline only applies", files=APPLIED, setup=UP),
    # --- render, history, info, new ----------------------------------------------------------------
    case("render-unknown-script", ("migrate", "render", "V9"), "'V9'", files=APPLIED),
    case("render-undo-with-scripts", ("migrate", "render", "--undo", "U1"), "--undo", files=APPLIED),
    case("history-json-and-csv", ("migrate", "history", "--json", "--csv"), "--json", "--csv", files=APPLIED, setup=UP),
    case("info-target-not-a-version", ("migrate", "info", "--target", "latest"), "--target", "'latest'", files=APPLIED,
         setup=UP),
    case("new-description-without-letters", ("migrate", "new", "!! ??"), "description", files=APPLIED),
    case("new-migrations-dir-missing", ("migrate", "new", "orders"), "migrationz", "does not exist",
         files={"rockway.toml": "[rockway]\nmigrations_dir = 'migrationz'\n"}),
]


def _database(sql) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every table of the test database with all its rows."""
    return {name: sorted(map(repr, sql(f"SELECT * FROM `{name}`"))) for name, _ in sql("SHOW FULL TABLES")}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_exits_2_names_it_and_writes_nothing(project: Project, sql, bad: Bad) -> None:  # type: ignore[no-untyped-def]
    write_files(project, bad.files)
    for command in bad.setup:
        r = run_cli(project, *command)
        assert r.code == 0, (command, r.err)
    for relative, text in bad.later.items():
        if text is None:
            (project.root / relative).unlink()
        else:
            write_files(project, {relative: text})
    database, files = _database(sql), _files(project.root)
    r = run_cli(project, *bad.args, env=bad.env)
    assert r.code == 2, f"exit {r.code}\nstderr: {r.err}\nstdout: {r.out}"
    assert "Traceback" not in r.err and "error: unexpected" not in r.err, r.err
    for fragment in bad.expect:
        assert fragment in r.err, f"{fragment!r} not in stderr:\n{r.err}"
    assert _database(sql) == database, "the bad command changed the database"
    assert _files(project.root) == files, "the bad command changed the project's files"


def test_the_same_projects_work_without_the_bad_input(project: Project, sql) -> None:  # type: ignore[no-untyped-def]
    """The control: up, rollback, render, history and new succeed on the project the cases start from."""
    write_files(project, APPLIED)
    for command in (("migrate", "up"), ("migrate", "rollback", "--steps", "1", "--lock-timeout", "0"),
                    ("migrate", "render"), ("migrate", "history", "--csv"), ("migrate", "new", "orders v2"),
                    ("migrate", "info", "--target", "2")):
        r = run_cli(project, *command)
        assert r.code == 0, (command, r.err)
    assert {row[0] for row in sql("SHOW TABLES")} >= {"orders", "rockway_schema_history"}
