"""Finding and editing lines in a project's text files (a spec, a check file, cron.d) the way the tests need it."""

from __future__ import annotations

from pathlib import Path


def line_of(path: Path, needle: str) -> int:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the first old in the file by new; fails when the file no longer contains old."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
