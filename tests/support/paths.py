"""Where things are: this repository's root and the test data folders (tests/cases, tests/data)."""

from __future__ import annotations

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
CASES_DIR = TESTS_DIR / "cases"
DATA_DIR = TESTS_DIR / "data"
