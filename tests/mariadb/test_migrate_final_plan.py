"""The plan made under the run lock (migrate/run.py `final_plan`): the plan checked before the lock stands while the
history is as it was, and is made again from the history as it is when another run wrote to it in between."""

from __future__ import annotations

from rockway.config import load_settings
from rockway.migrate import api as commands
from rockway.migrate import run
from rockway.migrate.project import Project as ScriptsProject, open_session

from tests.support.cli import Project


def _settings(project: Project):  # type: ignore[no-untyped-def]
    return load_settings(project.root, overrides={"dsn": project.dsn}, environ={})


def test_the_checked_plan_stands_while_the_history_is_unchanged_and_is_made_again_once_it_moved(project) -> None:
    project.migration("V1__a.sql", "CREATE TABLE a (x INT);\n")
    project.migration("V2__b.sql", "CREATE TABLE b (x INT);\nCREATE TABLE c (x INT);\n")
    project.repeatable("R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT x FROM a;\n")
    settings = _settings(project)
    request = run.RunRequest()
    with open_session(settings) as session:
        session.project.use_scripts(ScriptsProject(settings).scripts)
        checked = run.check_inputs(session, request)
        unchanged, rows = run.final_plan(session, request, checked)
        assert unchanged is checked.plan and rows == list(checked.rows) == []
        assert unchanged == run.final_plan(session, request)[0]  # what planning again gives

        assert commands.migrate(settings, target="1").report is not None  # another run, while this one "waited"
        moved, rows = run.final_plan(session, request, checked)
        assert [r.version for r in rows if r.version is not None] == [checked.plan.steps[0].script.version]
        assert moved == run.final_plan(session, request)[0]
        assert [step.script.name for step in moved.steps] == ["migrations/V2__b.sql", "repeatable/R__v.sql"]
