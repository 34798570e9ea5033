"""Before anything runs: every file a pipeline reads, checked at once (`rockway job validate`, `rockway run`).

The jobs side (jobs.toml, specs, their SQL, pipelines.yaml, cron.d) is rockway.jobs.api.validate; the check
files and the check references of jobs and pipelines belong to rockway.verify. The two packages do not import
each other (pyproject.toml, import-linter), so they meet here.
"""

from __future__ import annotations

from typing import Any

from rockway.cli.cron_commands import cron_command_problems
from rockway.errors import RockwayError
from rockway.yamlsrc import Problem, SpecError


def project_problems(st: Any, *, cron: bool, live: bool = False, engines: tuple[str, ...] | None = None) -> list[Any]:
    """Problems of the project's job, pipeline, check (and, with cron, cron.d) files, each naming file and line."""
    from rockway.jobs.api import load_project, validate

    settings = st.settings()
    problems = validate(settings, live=False, cron=cron, **({"engines": engines} if engines else {}))
    if cron:
        from rockway.jobs.schedule import CRON_FILE, load_cron

        if (settings.project_dir / CRON_FILE).is_file():
            problems += cron_command_problems(st, load_cron(settings.project_dir))
    project = load_project(settings, strict=False)
    problems += check_problems(st, project)
    if live and not problems:
        problems += validate(settings, live=True, cron=False)
    return problems


def require_valid_project(st: Any) -> None:
    """SpecError (exit 2) naming every problem of the files a run reads, before the first connection: nothing
    is written (`rockway run`, `rockway job run`, `rockway job backfill`)."""
    from rockway.jobs.api import dsn_engine

    problems = project_problems(st, cron=False, engines=(dsn_engine(st.settings()),))
    if problems:
        raise SpecError(problems)


def check_problems(st: Any, project: Any) -> list[Any]:
    """Every check file in the check folders parses; with rockway's own verifier, every check a job or a
    pipeline's verify step names is found and renders for a sample window."""
    from rockway.jobs.validate import problem_of
    from rockway.verify import CheckRunner, load_verify_settings

    settings = st.settings()
    runner = CheckRunner.from_settings(settings, load_verify_settings(settings.project_dir, settings.env, st.config_file))
    problems: list[Problem] = []
    for path in runner.catalog.paths():
        try:
            runner.catalog.file(path)
        except RockwayError as exc:
            problems.append(problem_of(exc, str(path)))
    if problems or project.jobs.verifier:  # a verifier of the project's own reads its references its own way
        return problems
    pipelines_file = f"{project.jobs.jobs_dir.name}/pipelines.yaml"
    refs = [(ref, spec.display, spec.problem("", "checks", i).line, f"checks[{i}]")
            for spec in project.specs.values() for i, ref in enumerate(spec.checks)]
    refs += [(ref, pipelines_file, step.line, f"pipelines.{p.name}.steps[{i}].verify")
             for p in project.pipelines.values() for i, step in enumerate(p.steps) if step.kind == "verify"
             for ref in step.args]
    # what a pipeline's verify step (jobs.pipeline_steps.pipeline_scope) and a job's checks (jobs.runner._verify) pass
    scope = {"pipeline": "validate", "as_of": "2000-01-02 00:00:00", "window_start": "2000-01-01",
             "window_end": "2000-01-02", "window_lo": "1999-12-31", "window_hi": "2000-01-01", "job": "validate",
             "target": "validate.validate", "watermark_column": "validate"}
    for ref, file, line, field in refs:
        try:
            runner.compile(runner.entries([ref]), scope)
        except RockwayError as exc:
            found = problem_of(exc, file, line, field)
            if found not in problems:  # a check named by a job and by a pipeline is reported once
                problems.append(found)
    return problems
