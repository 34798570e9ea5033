"""The test suite's own layout: where a test lives says what it needs (tests/conftest.py).

Each check runs pytest in a subprocess on a copy of this repository's conftest files holding a few one-line tests,
so what is checked is what `python3 -m pytest` does with tests placed in each folder.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT, TESTS_DIR

FOLDERS = ("unit", "mariadb", "project", "starrocks")
UNREACHABLE = "mysql://root@127.0.0.1:1/rockway_test"


def suite_copy(root: Path, tests: dict[str, str]) -> Path:
    """This repository's pyproject.toml and conftest files under root, plus the given test files."""
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    for folder in ("", "unit", "mariadb", "project", "support"):
        (root / "tests" / folder).mkdir(parents=True, exist_ok=True)
        (root / "tests" / folder / "__init__.py").write_text("", encoding="utf-8")
        if (TESTS_DIR / folder / "conftest.py").is_file():
            shutil.copy2(TESTS_DIR / folder / "conftest.py", root / "tests" / folder / "conftest.py")
    shutil.copy2(TESTS_DIR / "support" / "cli.py", root / "tests" / "support" / "cli.py")  # tests/conftest.py uses it
    for relative, text in tests.items():
        (root / relative).write_text(text, encoding="utf-8")
    return root


def pytest_in(root: Path, *args: str, dsn: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ROCKWAY_TEST_DSN", "PYTEST_ADDOPTS")}
    if dsn:
        env["ROCKWAY_TEST_DSN"] = dsn
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_a_unit_test_that_asks_for_the_server_errors_naming_where_it_belongs(tmp_path: Path) -> None:
    root = suite_copy(tmp_path, {"tests/unit/test_placed.py": "def test_needs_a_database(sql):\n    pass\n\n\n"
                                                              "def test_needs_nothing():\n    pass\n"})
    # With ROCKWAY_TEST_DSN set, the server fixture would fail on its own ("is not reachable"): the message below
    # comes from tests/unit/conftest.py, before any fixture is set up.
    result = pytest_in(root, "-q", "tests/unit", dsn=UNREACHABLE)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert ("tests/unit/test_placed.py::test_needs_a_database needs no server by where it lives (tests/unit) but "
            "asks for mariadb_server: move it to tests/mariadb") in result.stdout
    assert "is not reachable" not in result.stdout


def test_not_mariadb_selects_every_test_that_uses_no_server(tmp_path: Path) -> None:
    root = suite_copy(tmp_path, {
        "tests/unit/test_u.py": "def test_plain():\n    pass\n",
        "tests/mariadb/test_m.py": "def test_without_fixture_still_counts_as_mariadb():\n    pass\n",
        "tests/project/test_p.py": "def test_files():\n    pass\n\n\ndef test_server(db_dsn):\n    pass\n",
    })
    selected = pytest_in(root, "-q", "--collect-only", "-m", "not mariadb")
    assert sorted(line for line in selected.stdout.splitlines() if "::" in line) == [
        "tests/project/test_p.py::test_files", "tests/unit/test_u.py::test_plain"], selected.stdout
    server = pytest_in(root, "-q", "--collect-only", "-m", "mariadb")
    assert sorted(line for line in server.stdout.splitlines() if "::" in line) == [
        "tests/mariadb/test_m.py::test_without_fixture_still_counts_as_mariadb", "tests/project/test_p.py::test_server"]


def test_every_test_module_lives_in_a_folder_and_imports_no_other_test_module() -> None:
    assert sorted(p.name for p in TESTS_DIR.glob("test_*.py")) == []
    for path in sorted(TESTS_DIR.rglob("*.py")):
        relative = path.relative_to(TESTS_DIR)
        assert relative.parts[0] in FOLDERS + ("support", "conftest.py", "__init__.py"), relative
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                leaf = node.module.rsplit(".", 1)[-1]
                assert not leaf.startswith("test_"), f"{relative}:{node.lineno} imports {node.module}: share it via tests/support"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
                raise AssertionError(f"{relative}:{node.lineno}: __import__; import from tests.support instead")
