"""Bad input to the journal's recovery options: exit 2, a clear message, nothing written."""

from __future__ import annotations

from tests.support.cli import Project


def test_resume_and_auto_resolve_together_are_refused_before_connecting(project: Project, cli, sql):
    project.migration("V1__t.sql", "CREATE TABLE t (id INT);\n")
    r = cli("migrate", "up", "--resume", "--auto-resolve")
    assert r.code == 2
    assert "--resume or --auto-resolve, not both" in r.err
    assert sql("SHOW TABLES") == []  # no history table, no lock table, no t


def test_auto_resolve_is_not_an_option_of_rollback(project: Project, cli, sql):
    project.migration("V1__t.sql", "CREATE TABLE t (id INT);\n")
    r = cli("migrate", "rollback", "--auto-resolve")
    assert r.code == 2 and "--auto-resolve" in r.err
    assert sql("SHOW TABLES") == []
