"""`rockway schema diff DIR`: the live schema's files against the files of a folder, as unified diffs.

The live side is what `schema dump` would write now; `-- Rows:` lines (dump --live) are ignored on both
sides. Only the folders of the managed databases are compared, so other files in DIR are left alone.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rockway.schema.dump import ROWS_PREFIX, SchemaFile


@dataclass(frozen=True)
class FileDiff:
    """One file that differs: `changed` (both exist), `missing` (no file for a live object) or `extra` (a file
    for an object the server does not have)."""

    path: str
    status: str
    diff: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "status": self.status, "diff": self.diff}


def _comparable(text: str) -> list[str]:
    return [line for line in text.splitlines(keepends=True) if not line.startswith(ROWS_PREFIX)]


def _unified(path: str, files_text: str, live_text: str) -> str:
    lines = difflib.unified_diff(_comparable(files_text), _comparable(live_text), fromfile=f"files/{path}",
                                 tofile=f"live/{path}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def compare(live: Sequence[SchemaFile], directory: Path, databases: Sequence[str]) -> list[FileDiff]:
    """Differences between the live files and DIR's files of these databases, sorted by path."""
    directory = Path(directory)
    out: list[FileDiff] = []
    wanted = {f.path: f for f in live}
    for path, item in wanted.items():
        target = directory / path
        if not target.is_file():
            out.append(FileDiff(path, "missing", _unified(path, "", item.text)))
            continue
        text = target.read_text(encoding="utf-8")
        if _comparable(text) != _comparable(item.text):
            out.append(FileDiff(path, "changed", _unified(path, text, item.text)))
    for database in databases:
        for target in sorted((directory / database).glob("*.sql")):
            path = f"{database}/{target.name}"
            if path not in wanted:
                out.append(FileDiff(path, "extra", _unified(path, target.read_text(encoding="utf-8"), "")))
    return sorted(out, key=lambda d: d.path)
