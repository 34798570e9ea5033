"""`rockway lint --fix/--check/--pending` and the rewrites `migrate info` / `migrate up --dry-run` show, on a real
MariaDB: the fixer edits only scripts the history has not applied, and the merged script gives the same schema."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pymysql
import pytest

from rockway.config import parse_dsn
from tests.support.cli import Project, run_cli

pytestmark = pytest.mark.mariadb

V1 = "CREATE TABLE customer (id BIGINT NOT NULL, name VARCHAR(100));\n"
V2 = "ALTER TABLE customer ADD COLUMN city VARCHAR(50);\nALTER TABLE customer ADD COLUMN zip VARCHAR(10);\n"
V3 = """-- contact fields
ALTER TABLE customer ADD COLUMN email VARCHAR(100) COMMENT 'work, or private';
-- phone goes right after email
ALTER TABLE customer ADD COLUMN phone VARCHAR(20) AFTER email;
ALTER TABLE customer MODIFY COLUMN name VARCHAR(200) NOT NULL;
"""
V3_MERGED = """-- contact fields
ALTER TABLE customer ADD COLUMN email VARCHAR(100) COMMENT 'work, or private',
-- phone goes right after email
    ADD COLUMN phone VARCHAR(20) AFTER email,
    MODIFY COLUMN name VARCHAR(200) NOT NULL;
"""


@pytest.fixture
def release(project: Project) -> Project:
    project.migration("V1__customer.sql", V1)
    project.migration("V2__city.sql", V2)
    project.migration("V3__contacts.sql", V3)
    return project


@pytest.fixture
def second_dsn(db_dsn: str) -> Iterator[str]:
    """Another empty database on the same server."""
    p = parse_dsn(db_dsn)
    name = f"rw_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    auth = p.user + (f":{p.password}" if p.password else "")
    try:
        yield f"mysql://{auth}@{p.host}:{p.port}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _columns(dsn: str) -> list[tuple]:  # type: ignore[type-arg]
    p = parse_dsn(dsn)
    conn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=p.database)
    with conn.cursor() as cur:
        cur.execute("SELECT ordinal_position, column_name, column_type, is_nullable, column_default, column_comment "
                    "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'customer' "
                    "ORDER BY ordinal_position")
        rows = list(cur.fetchall())
    conn.close()
    return rows


def test_fix_without_history_or_assume_pending_is_refused_and_writes_nothing(release: Project) -> None:
    for flag in ("--fix", "--check"):
        r = run_cli(release, "lint", flag)
        assert r.code == 2, r
        assert "--pending" in r.err and "--assume-pending" in r.err
    assert (release.root / "migrations/V3__contacts.sql").read_text() == V3
    r = run_cli(release, "lint", "--fix", "--check", "--assume-pending")
    assert r.code == 2 and "not both" in r.err
    r = run_cli(release, "lint", "--assume-pending")
    assert r.code == 2 and "--assume-pending applies only with --fix or --check" in r.err


def test_check_prints_the_diff_and_exits_1_then_fix_writes_it(release: Project) -> None:
    r = run_cli(release, "lint", "--check", "--assume-pending", "V3")
    assert r.code == 1, r
    assert "+    ADD COLUMN phone VARCHAR(20) AFTER email," in r.out
    assert "can merge statements 1, 2, 3 on customer into one ALTER TABLE (3 rewrites -> 1)" in r.out
    assert (release.root / "migrations/V3__contacts.sql").read_text() == V3

    r = run_cli(release, "lint", "--fix", "--assume-pending", "V3")
    assert r.code == 0, r
    assert "merged statements 1, 2, 3 on customer" in r.out
    assert (release.root / "migrations/V3__contacts.sql").read_text() == V3_MERGED
    assert run_cli(release, "lint", "--check", "--assume-pending", "V3").code == 0
    before = json.loads(run_cli(release, "lint", "--json", "V2").out)["summary"]
    after = json.loads(run_cli(release, "lint", "--json", "V3").out)["summary"]
    assert before["warnings"] == 1  # SR016: the unmerged V2 alters customer twice
    assert (after["statements"], after["errors"], after["warnings"]) == (1, 0, 0)  # renders, passes the rules


def test_lint_reports_tables_rewritten_more_than_once_across_scripts(release: Project) -> None:
    r = run_cli(release, "lint", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)["release"]
    assert data["scripts"] == ["migrations/V1__customer.sql", "migrations/V2__city.sql", "migrations/V3__contacts.sql"]
    found = data["tables_rewritten_more_than_once"]["customer"]
    assert [(f["script"], f["statement"], f["job"]) for f in found] == [
        ("migrations/V2__city.sql", 1, "COLUMN"), ("migrations/V2__city.sql", 2, "COLUMN"),
        ("migrations/V3__contacts.sql", 1, "COLUMN"), ("migrations/V3__contacts.sql", 2, "COLUMN"),
        ("migrations/V3__contacts.sql", 3, "COLUMN")]
    text = run_cli(release, "lint").out
    assert "rewrites: customer is rewritten 5 times in this release" in text
    assert "rewrites=5 tables_rewritten_more_than_once=1" in text


def test_pending_fix_edits_only_unapplied_scripts_and_the_merge_gives_the_same_schema(
        release: Project, second_dsn: str, tmp_path: Path) -> None:
    assert run_cli(release, "migrate", "up", "--target", "2", "-q").code == 0
    unmerged = tmp_path / "unmerged"
    shutil.copytree(release.root, unmerged)

    r = run_cli(release, "lint", "--pending", "--fix", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["release"]["scripts"] == ["migrations/V3__contacts.sql"]  # V1 and V2 are applied
    assert [s["path"] for s in data["scripts"]] == ["migrations/V3__contacts.sql"]
    assert data["release"]["written"] is True
    assert (release.root / "migrations/V2__city.sql").read_text() == V2  # applied: never edited
    assert (release.root / "migrations/V3__contacts.sql").read_text() == V3_MERGED

    assert run_cli(release, "migrate", "up", "-q").code == 0
    assert run_cli(release, "migrate", "validate").code == 0
    r = run_cli(unmerged, "migrate", "up", "-q", env={"ROCKWAY_DSN": second_dsn})
    assert r.code == 0, r.err
    merged_columns = _columns(release.dsn)
    assert merged_columns == _columns(second_dsn)
    assert [c[1] for c in merged_columns] == ["id", "name", "city", "zip", "email", "phone"]


def test_info_and_dry_run_show_the_rewrites_of_each_pending_migration(release: Project) -> None:
    assert run_cli(release, "migrate", "up", "--target", "1", "-q").code == 0
    info = run_cli(release, "migrate", "info")
    assert info.code == 0, info.err
    assert "V2 city: customer COLUMN ×2 (statements 1, 2)" in info.out
    assert "V3 contacts: customer COLUMN ×3 (statements 1, 2, 3)" in info.out
    rows = json.loads(run_cli(release, "migrate", "info", "--json").out)
    by_version = {row["version"]: row for row in rows}
    assert "rewrites" not in by_version["1"]  # applied
    assert [(r["statement"], r["table"], r["job"]) for r in by_version["2"]["rewrites"]] == \
        [(1, "customer", "COLUMN"), (2, "customer", "COLUMN")]

    dry = run_cli(release, "migrate", "up", "--dry-run")
    assert dry.code == 0, dry.err
    assert "-- table rewrites: customer COLUMN ×3 (statements 1, 2, 3)" in dry.out
    dry_json = json.loads(run_cli(release, "migrate", "up", "--dry-run", "--json").out)
    assert [r["statement"] for r in dry_json["rewrites"]["migrations/V3__contacts.sql"]] == [1, 2, 3]

    assert run_cli(release, "lint", "--pending", "--fix").code == 0
    dry = run_cli(release, "migrate", "up", "--dry-run")
    assert dry.out.count("-- table rewrites: customer COLUMN ×1 (statement 1)\n") == 2  # V2 and V3, both pending
    assert "×2" not in dry.out and "×3" not in dry.out


def test_templated_statements_are_left_alone_with_the_reason(project: Project) -> None:
    project.migration("V1__t.sql", "ALTER TABLE t ADD COLUMN a INT;\nALTER TABLE t ADD COLUMN {{ 'b' }} INT;\n")
    r = run_cli(project, "lint", "--check", "--assume-pending")
    assert r.code == 0, r
    assert "statement 2 stays apart: it contains template syntax" in r.out


def test_fix_keeps_the_byte_order_mark_and_crlf_line_endings(project: Project) -> None:
    path = project.root / "migrations/V1__t.sql"
    path.write_bytes(b"\xef\xbb\xbfALTER TABLE t ADD COLUMN a INT;\r\nALTER TABLE t ADD COLUMN b INT AFTER a;\r\n")
    r = run_cli(project, "lint", "--fix", "--assume-pending")
    assert r.code == 0, r
    assert path.read_bytes() == b"\xef\xbb\xbfALTER TABLE t ADD COLUMN a INT,\r\n    ADD COLUMN b INT AFTER a;\r\n"
