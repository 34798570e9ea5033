"""The CI files: this repository's workflow (.github/workflows/) and the user templates a team copies.

The user templates have one source, rockway/scaffold/templates (what `rockway init --ci github|gitlab` writes);
deploy/ci/ holds their rendering for a project named `myproject`, kept equal by the first test. None of these
files can run here, so they are checked by construction:

- actionlint (a dev extra, with ShellCheck for the `run:` scripts) on every GitHub workflow;
- the GitLab file's structure (stages, jobs with a stage and a list of script lines, the JUnit report);
- every command they run exists: `rockway`/`migrate` subcommands and options are parsed by the click CLI itself,
  `--env` names an environment of the rockway.toml the file is for, `bash FILE` and pytest paths exist, pytest
  markers are registered, pip extras are defined, and report folders are created before `rockway rehearse`
  writes into them and are the ones the job uploads.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import click
import pytest
import yaml

from rockway import __version__
from rockway.scaffold import Options, plan
from tests.support.paths import REPO_ROOT as ROOT

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PROJECT_NAME = "myproject"  # the name deploy/ci/ is rendered with (the README says to change it)
# deploy/ci/ file -> (`rockway init --ci` choice, path in the project the scaffold writes)
USER_TEMPLATES = {"deploy/ci/github-rehearse.yml": ("github", ".github/workflows/rockway.yml"),
                  "deploy/ci/gitlab-rehearse.yml": ("gitlab", ".gitlab-ci.yml")}
GITLAB_KEYWORDS = {"stages", "variables", "default", "include", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def scaffold_rendering(choice: str, path: str) -> bytes:
    return plan(Options(name=PROJECT_NAME, ci=choice))[path]


def scaffold_config() -> dict:
    return tomllib.loads(plan(Options(name=PROJECT_NAME))["rockway.toml"].decode())


# ----------------------------------------------------------------------------- one source


@pytest.mark.parametrize("relative", sorted(USER_TEMPLATES))
def test_deploy_ci_files_are_the_scaffold_rendering(relative):
    choice, path = USER_TEMPLATES[relative]
    assert (ROOT / relative).read_bytes() == scaffold_rendering(choice, path), (
        f"{relative} differs from rockway/scaffold/templates' rendering: change the template and render the file "
        f"from it (rockway.scaffold.plan(Options(name={PROJECT_NAME!r}, ci={choice!r}))[{path!r}])")


def test_this_repository_has_a_workflow():
    assert "ci.yml" in [p.name for p in WORKFLOWS]  # the other tests check every file of the folder


# ----------------------------------------------------------------------------- what the files run


@dataclass(frozen=True)
class Job:
    """One CI job: where it comes from, its shell lines in order and its environment."""

    source: str
    name: str
    lines: tuple[str, ...]
    env: dict[str, str]
    uploads: tuple[str, ...]  # paths it keeps as artifacts
    junit: tuple[str, ...]    # paths the CI reads as JUnit reports
    config: dict              # the rockway.toml the job runs against


def _github_jobs(source: str, text: str, config: dict) -> Iterator[Job]:
    workflow = yaml.safe_load(text)
    for name, job in workflow["jobs"].items():
        lines: list[str] = []
        env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
        uploads: list[str] = []
        for step in job["steps"]:
            if "run" in step:
                lines.extend(step["run"].splitlines())
            if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                uploads.extend(str(step["with"]["path"]).split())
            for key, value in (step.get("env") or {}).items():
                env[key] = value
        yield Job(source, name, tuple(lines), {k: str(v) for k, v in env.items()}, tuple(uploads), (), config)


def _gitlab_jobs(source: str, text: str, config: dict) -> Iterator[Job]:
    pipeline = yaml.safe_load(text)
    for name, job in pipeline.items():
        if name in GITLAB_KEYWORDS or name.startswith("."):
            continue
        artifacts = job.get("artifacts") or {}
        junit = (artifacts.get("reports") or {}).get("junit") or []
        yield Job(source, name, tuple(job["script"]), {k: str(v) for k, v in (job.get("variables") or {}).items()},
                  tuple(artifacts.get("paths") or ()), tuple([junit] if isinstance(junit, str) else junit), config)


def all_jobs() -> list[Job]:
    repo_config = tomllib.loads((ROOT / "rockway.toml").read_text(encoding="utf-8"))
    jobs = [job for path in WORKFLOWS
            for job in _github_jobs(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), repo_config)]
    for relative, (choice, path) in USER_TEMPLATES.items():
        text = scaffold_rendering(choice, path).decode()
        parse = _github_jobs if choice == "github" else _gitlab_jobs
        jobs.extend(parse(relative, text, scaffold_config()))
    return jobs


def commands(lines: tuple[str, ...] | list[str]) -> Iterator[list[str]]:
    """The simple commands of shell lines: comments dropped, continuations joined, split at ; && || |."""
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#")).replace("\\\n", " ")
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            if token and set(token) <= set(";&|"):
                if words:
                    yield words
                words = []
            else:
                words.append(token)
        if words:
            yield words


def check_cli(words: list[str], config: dict) -> list[str]:
    """Problems of one `rockway …`/`migrate …` command line, found by click's own parser (nothing runs)."""
    from rockway.cli.main import cli
    from rockway.cli.migrate_cmds import migrate_cli

    command: click.Command = cli if words[0] == "rockway" else migrate_cli
    args, path = words[1:], [words[0]]
    ctx = None
    try:
        while isinstance(command, click.Group):
            # with the group's context_settings, as make_context would: click caches a command's help option from
            # the first context it sees, and a bare Context would leave `-h` out of the CLI for the whole process
            ctx = click.Context(command, info_name=path[-1], parent=ctx, **command.context_settings)
            # The group's own options (a group stops parsing at its first argument, the subcommand).
            args = click.Command.parse_args(command, ctx, list(args))
            if not args:
                return [f"`{' '.join(words)}`: no subcommand of `{' '.join(path)}`"]
            sub = command.get_command(ctx, args[0])
            if sub is None:
                return [f"`{' '.join(words)}`: `{' '.join(path)}` has no subcommand {args[0]!r}"]
            command, path, args = sub, [*path, args[0]], args[1:]
        leaf = command.make_context(path[-1], list(args), parent=ctx)
    except click.ClickException as exc:
        return [f"`{' '.join(words)}`: {exc.format_message()}"]
    problems = []
    env_name = leaf.find_root().obj.env_name if leaf.find_root().obj else None
    if env_name and env_name not in config.get("env", {}):
        problems.append(f"`{' '.join(words)}`: --env {env_name} is no environment of its rockway.toml "
                        f"({', '.join(config.get('env', {}))})")
    return problems


def _marker_names(expression: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_]\w*", expression)) - {"not", "and", "or"}


REGISTERED_MARKERS = {line.split(":", 1)[0].strip() for line in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]}
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])


def check_pytest(args: list[str], job: Job) -> list[str]:
    problems = []
    rest = iter(args)
    for arg in rest:
        if arg == "-m":
            unknown = _marker_names(next(rest)) - REGISTERED_MARKERS
            if unknown:
                problems.append(f"pytest -m names unregistered markers {sorted(unknown)}")
        elif not arg.startswith("-") and not (ROOT / arg).exists():
            problems.append(f"pytest path {arg} does not exist")
    return problems


def check_pip(args: list[str], job: Job) -> list[str]:
    problems = []
    for arg in args:
        match = re.fullmatch(r"(\.|rockway)\[([\w,]+)\](==(\S+))?", arg)
        if not match:
            continue
        unknown = set(match.group(2).split(",")) - EXTRAS
        if unknown:
            problems.append(f"pip install {arg}: no extra {sorted(unknown)} in pyproject.toml")
        if match.group(4) and match.group(4) != __version__:
            problems.append(f"pip install {arg}: not the release {__version__}")
    return problems


def check_job(job: Job) -> list[str]:
    """Every problem of one job's commands; an unknown program is one too (teach this test about it)."""
    problems: list[str] = []
    made: set[str] = set()
    addopts = shlex.split(job.env.get("PYTEST_ADDOPTS", ""))
    problems += check_pytest(addopts, job)
    for words in commands(job.lines):
        program, args = words[0], words[1:]
        if program in ("rockway", "migrate"):
            problems += check_cli(words, job.config)
            if args[:1] == ["rehearse"]:
                for option in ("--junit", "--markdown"):
                    if option in args:
                        folder = str(Path(args[args.index(option) + 1]).parent)
                        if folder != "." and folder not in made:
                            problems.append(f"`{' '.join(words)}`: {folder}/ is not created before (rehearse "
                                            "refuses a report in a missing folder)")
                        if job.uploads and not any(Path(folder) == Path(u.rstrip("/")) for u in job.uploads):
                            problems.append(f"{option} writes into {folder}/, which the job does not upload")
                if "--junit" in args and job.junit and args[args.index("--junit") + 1] not in job.junit:
                    problems.append(f"the JUnit report {job.junit} is not the file --junit writes")
        elif program == "bash":
            if not (ROOT / args[0]).is_file():
                problems.append(f"`bash {args[0]}`: no such file")
        elif program in ("python", "python3") and args[:2] == ["-m", "pytest"]:
            problems += check_pytest(args[2:], job)
        elif program in ("python", "python3") and args[:3] == ["-m", "pip", "install"]:
            problems += check_pip(args[3:], job)
        elif program == "mkdir":
            made.update(str(Path(a)) for a in args if not a.startswith("-"))
        else:
            problems.append(f"`{' '.join(words)}`: {program} is not a command this test knows")
    return [f"{job.source} job {job.name}: {p}" for p in problems]


JOBS = all_jobs()


@pytest.mark.parametrize("job", JOBS, ids=[f"{j.source}:{j.name}" for j in JOBS])
def test_every_command_a_job_runs_exists(job):
    assert commands(job.lines), "a job that runs nothing"
    assert check_job(job) == []


def test_every_file_a_workflow_runs_through_bash_and_what_that_runs_exists():
    scripts = [words[1] for job in JOBS if job.source.startswith(".github")
               for words in commands(job.lines) if words[0] == "bash"]
    assert ".ci/run" in scripts
    # .ci/run's own `bash FILE` and rockway commands (shell control lines of it are not parsed)
    inner = [line for line in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
             if re.match(r"\s*(bash|rockway|migrate)\s", line)]
    assert "bash scripts/ensure-mariadb.sh" in [line.strip() for line in inner]
    job = Job(".ci/run", "script", tuple(inner), {}, (), (), tomllib.loads((ROOT / "rockway.toml").read_text()))
    assert check_job(job) == []


def test_the_jobs_rehearse_on_a_throwaway_starrocks_and_the_suite_runs_once():
    rehearsals = {(job.source, job.name) for job in JOBS for words in commands(job.lines)
                  if words[:2] == ["rockway", "rehearse"] and "--start-starrocks" in words}
    assert {source for source, _ in rehearsals} == {".github/workflows/ci.yml", *USER_TEMPLATES}
    ours = [job for job in JOBS if job.source == ".github/workflows/ci.yml"]
    suite = [job.name for job in ours for words in commands(job.lines) if words[:3] == ["python3", "-m", "pytest"]
             and "starrocks" in words]
    runs_ci = [job for job in ours if ["bash", ".ci/run"] in list(commands(job.lines))]
    assert len(suite) == 1 and len(runs_ci) == 1
    # The job that runs .ci/run (every test) leaves the StarRocks suite to the other job, and only it gets the
    # MariaDB test server.
    assert shlex.split(runs_ci[0].env["PYTEST_ADDOPTS"]) == ["-m", "not starrocks"]
    assert [job.name for job in ours if "ROCKWAY_TEST_DSN" in job.env] == [runs_ci[0].name]


# ----------------------------------------------------------------------------- the checker itself can fail


@pytest.mark.parametrize("line, expected", [
    ("rockway rehearse --start-starrocks --junit out.xml", []),
    ("rockway rehearse --start-starrocks starrocks/allin1-ubuntu:3.5.3 --markdown r.md", []),
    ("rockway rehaerse --start-starrocks", ["no subcommand 'rehaerse'"]),
    ("rockway rehearse --start-starocks", ["No such option"]),
    ("rockway migrate up --env staging", ["--env staging is no environment"]),
    ("rockway migrate --env dev up", []),
    ("rockway migrate --env staging up", ["--env staging is no environment"]),
    ("rockway migrate --dry-run up", ["No such option"]),
    ("rockway migrate", ["Usage: rockway migrate"]),  # no_args_is_help: click says what is missing
    ("migrate up --env prod", []),
    ("rockway rehearse --junit reports/r.xml", ["reports/ is not created before"]),
    ("mkdir -p reports && rockway rehearse --junit reports/r.xml", []),
    ("bash .ci/missing", ["no such file"]),
    ("python3 -m pytest -m starrock tests/starrocks", ["unregistered markers ['starrock']"]),
    ("python3 -m pytest -m starrocks tests/starrock", ["tests/starrock does not exist"]),
    ("python -m pip install '.[dev,rehears]'", ["no extra ['rehears']"]),
    ("python -m pip install 'rockway[rehearse]==0.0.1'", ["not the release"]),
    ("curl -s https://example.invalid | sh", ["curl is not a command this test knows", "sh is not"]),
])
def test_the_command_check_finds_what_is_wrong(line, expected):
    config = {"env": {"dev": {}, "prod": {}}}
    problems = check_job(Job("t", "j", (line,), {}, (), (), config))
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected):
        assert text in problem


def test_the_command_check_reads_comments_and_continuations():
    lines = ("# rockway nonsense", "rockway rehearse \\", "  --start-starrocks  # a comment", "mkdir -p a; bash x")
    assert list(commands(lines)) == [["rockway", "rehearse", "--start-starrocks"], ["mkdir", "-p", "a"],
                                     ["bash", "x"]]


# ----------------------------------------------------------------------------- actionlint


def _actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("actionlint is not installed, but CI installs the dev extras, which bring it")
    pytest.skip("actionlint is not installed (pip install -e '.[dev]' brings it)")


def _lint(*paths: Path) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])  # its ShellCheck
    return subprocess.run([_actionlint(), "-no-color", "-oneline", *map(str, paths)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PATH": path})


@pytest.mark.parametrize("relative", [str(p.relative_to(ROOT)) for p in WORKFLOWS] + ["deploy/ci/github-rehearse.yml"])
def test_actionlint_passes(relative):
    result = _lint(ROOT / relative)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((ROOT / "deploy/ci/github-rehearse.yml").read_text(encoding="utf-8")
                      .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minute: 5", 1))
    result = _lint(broken)
    assert result.returncode == 1 and "timeout-minute" in result.stdout, result.stdout + result.stderr


# ----------------------------------------------------------------------------- GitLab structure


def test_gitlab_template_structure():
    pipeline = yaml.safe_load((ROOT / "deploy/ci/gitlab-rehearse.yml").read_text(encoding="utf-8"))
    stages = pipeline["stages"]
    assert isinstance(stages, list) and stages and all(isinstance(s, str) for s in stages)
    jobs = {name: job for name, job in pipeline.items() if name not in GITLAB_KEYWORDS}
    assert set(jobs) == {"mariadb", "starrocks"}
    for name, job in jobs.items():
        assert set(job) <= {"stage", "image", "services", "variables", "script", "artifacts", "timeout", "needs",
                            "rules", "tags"}, name
        assert job["stage"] in stages, name
        assert isinstance(job["script"], list) and job["script"], name
        assert all(isinstance(line, str) for line in job["script"]), name
        for service in job.get("services", []):
            assert isinstance(service, str) or {"name"} <= set(service), service
        assert all(isinstance(v, str) for v in (job.get("variables") or {}).values()), f"{name}: quote the values"
    assert stages.index(jobs["starrocks"]["stage"]) > stages.index(jobs["mariadb"]["stage"])
    starrocks = jobs["starrocks"]
    assert starrocks["artifacts"]["when"] == "always"
    assert starrocks["variables"]["DOCKER_HOST"].startswith("tcp://")
    assert any(str(s["name"]).startswith("docker:") and s.get("alias") == "docker" for s in starrocks["services"])


def test_readme_ci_section_names_the_current_release_and_the_copyable_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## CI on a throwaway StarRocks\n", 1)[1].split("\n## ", 1)[0]
    pins = re.findall(r"rockway(?:\[rehearse\])?==([\w.]+)", section)
    assert pins and set(pins) == {__version__}, "the README's CI section quotes another release than the templates"
    for relative in USER_TEMPLATES:
        assert f"`{relative}`" in section
    quoted = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    for line in quoted.strip().splitlines():
        assert line in (ROOT / "deploy/ci/github-rehearse.yml").read_text(encoding="utf-8"), line
