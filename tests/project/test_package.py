"""The package as a new team gets it: wheel and sdist hold the framework only (no sales warehouse), pass
`twine check`, and the wheel, installed into a fresh venv, starts a project with `rockway init` whose commands
all succeed right away against the real MariaDB (tests/support/scaffold.py).

The build runs on a copy of the framework's sources (pyproject.toml, MANIFEST.in, README.md, tooling/), so it
leaves nothing behind in the checkout. pip fetches the dependencies into the venv from the package index.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import rockway
from tests.support.scaffold import drop_databases, lint_summary, project_env, run_after_init, runner, unique_name
from tests.support.paths import REPO_ROOT as ROOT

pytest.importorskip("build", reason="the `build` package is not installed (pip install -e '.[dev]')")

TEMPLATES = ROOT / "tooling" / "rockway" / "scaffold" / "templates"
# Top-level folders and files of this repository's own warehouse: none may be in a distribution.
WAREHOUSE = ("migrations/", "repeatable/", "reference-data/", "jobs/", "cron.d/", "macros/", "deploy/",
             "observability/", "bench/", "scripts/", "tests/", "docker-compose.yml", ".env.example", "rockway.toml")


def _run(*argv: str | Path, cwd: Path | None = None, timeout: float = 600, env: dict | None = None) -> str:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))} -> {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build` of a copy of the framework's sources: the folder with the wheel and the sdist."""
    base = tmp_path_factory.mktemp("package")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "tooling", src / "tooling",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    _run(sys.executable, "-m", "build", "--outdir", base / "dist", src)
    return base / "dist"


def _wheel(dist: Path) -> Path:
    return next(dist.glob("rockway-*.whl"))


def _sdist(dist: Path) -> Path:
    return next(dist.glob("rockway-*.tar.gz"))


def test_both_distributions_carry_the_one_version_and_pass_twine_check(dist):
    assert _wheel(dist).name == f"rockway-{rockway.__version__}-py3-none-any.whl"
    assert _sdist(dist).name == f"rockway-{rockway.__version__}.tar.gz"
    out = _run(sys.executable, "-m", "twine", "check", "--strict", _wheel(dist), _sdist(dist))
    assert out.count("PASSED") == 2, out


def test_wheel_holds_the_framework_and_the_scaffold_but_no_warehouse(dist):
    names = zipfile.ZipFile(_wheel(dist)).namelist()
    assert not [n for n in names if n.startswith(WAREHOUSE)]
    assert {n.split("/")[0] for n in names} == {"rockway", f"rockway-{rockway.__version__}.dist-info"}
    templates = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert templates and {f"rockway/scaffold/templates/{t}" for t in templates} <= set(names)
    for needed in ("rockway/docs/runbook.md", "rockway/py.typed", "rockway/cli/init_cmd.py"):
        assert needed in names


def test_sdist_holds_the_framework_only(dist):
    prefix = f"rockway-{rockway.__version__}/"
    with tarfile.open(_sdist(dist)) as tar:
        names = [n[len(prefix):] for n in tar.getnames() if n.startswith(prefix)]
    assert not [n for n in names if n.startswith(WAREHOUSE)]
    assert "tooling/rockway/scaffold/templates/migrations/V1__warehouse.sql" in names
    assert {n.split("/")[0] for n in names if n} <= {"tooling", "pyproject.toml", "README.md", "MANIFEST.in",
                                                     "PKG-INFO", "setup.cfg"}


def test_installed_wheel_starts_a_project_whose_commands_succeed(dist, tmp_path, mariadb_server):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", _wheel(dist),
         timeout=900)
    rockway_exe = bin_dir / "rockway"

    version = _run(rockway_exe, "--version")
    assert re.search(rf"\b{re.escape(rockway.__version__)}\b", version), version

    name = unique_name()
    project = tmp_path / name  # an empty folder: `rockway init` names the project after it
    project.mkdir()
    run = runner([str(rockway_exe)], project, project_env(mariadb_server, name))
    try:
        created = run("init")
        assert created.code == 0, created.explain()
        assert (project / "rockway.toml").read_text().count(f"{name}_dw") == 1
        steps = run_after_init(run)
        summary = lint_summary(steps[("lint", "--env", "prod")])
        assert summary["errors"] == 0 and summary["unverified"] == 0 and summary["statements"] > 0
        # The installed package imports from the venv, not from this checkout.
        where = _run(bin_dir / "python", "-c", "import rockway; print(rockway.__file__)", cwd=tmp_path)
        assert str(venv) in where and str(ROOT) not in where
    finally:
        drop_databases(mariadb_server, name)
