"""Find check files and select checks by reference: `path.yaml`, `path.yaml#name`, a bare name, a pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from rockway.errors import UsageError
from rockway.verify.model import CheckFile, CheckSpec, HistoryDefaults, TableSpec
from rockway.verify.spec import load_file

CHECK_SUFFIXES = (".yaml", ".yml")
Entry = tuple[TableSpec, tuple[CheckSpec, ...]]


@dataclass
class Catalog:
    """Check files of one project, parsed on first use."""

    project_dir: Path
    checks_dirs: tuple[str, ...] = ("jobs/checks",)
    history: HistoryDefaults = HistoryDefaults()

    def __post_init__(self) -> None:
        self._files: dict[Path, CheckFile] = {}

    def file(self, path: Path) -> CheckFile:
        """Parse (once) and return one check file."""
        resolved = path.resolve()
        if resolved not in self._files:
            self._files[resolved] = load_file(path, self.project_dir, self.history)
        return self._files[resolved]

    def paths(self) -> list[Path]:
        """Every check file under the configured folders, sorted."""
        found: list[Path] = []
        for folder in self.checks_dirs:
            root = self.project_dir / folder
            if root.is_dir():
                found += [p for p in root.rglob("*") if p.is_file() and p.suffix in CHECK_SUFFIXES]
        return sorted(set(found))

    def all_files(self) -> list[CheckFile]:
        return [self.file(p) for p in self.paths()]

    def _path(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() else self.project_dir / path

    def resolve(self, refs: Sequence[str]) -> list[Entry]:
        """Entries for references: a check file, `file#check name`, or a check name found in the check folders."""
        picked: dict[tuple[str, str], None] = {}
        specs: dict[tuple[str, str], tuple[TableSpec, CheckSpec]] = {}
        for ref in refs:
            for table, check in self._resolve_one(ref):
                key = (check.file, check.name)
                picked[key] = None
                specs[key] = (table, check)
        return group([specs[k] for k in picked])

    def _resolve_one(self, ref: str) -> list[tuple[TableSpec, CheckSpec]]:
        text, _, name = ref.partition("#")
        looks_like_path = text.endswith(CHECK_SUFFIXES) or "/" in text or "\\" in text
        if looks_like_path:
            path = self._path(text)
            if not path.is_file():
                raise UsageError(f"check file {text!r} not found (relative to {self.project_dir})")
            pairs = list(self.file(path).checks())
            if name:
                pairs = [(t, c) for t, c in pairs if c.name == name]
                if not pairs:
                    raise UsageError(f"{text} has no check named {name!r}",
                                     hint="Checks: " + ", ".join(c.name for _, c in self.file(path).checks()))
            return pairs
        matches = [(t, c) for f in self.all_files() for t, c in f.checks() if c.name == ref]
        if not matches:
            raise UsageError(f"no check named {ref!r} in {', '.join(self.checks_dirs)}",
                             hint="Reference checks as <file>.yaml, <file>.yaml#<check name> or a unique check name.")
        files = sorted({c.file for _, c in matches})
        if len(files) > 1:
            raise UsageError(f"check name {ref!r} is defined in several files: {', '.join(files)}",
                             hint=f"Use <file>#{ref}.")
        return matches

    def pipeline(self, name: str) -> list[Entry]:
        """Every check of the files that list `name` under `pipelines:`."""
        files = [f for f in self.all_files() if name in f.pipelines]
        if not files:
            raise UsageError(f"no check file lists pipeline {name!r} under `pipelines:` in {', '.join(self.checks_dirs)}")
        return group([pair for f in files for pair in f.checks()])

    def everything(self) -> list[Entry]:
        return group([pair for f in self.all_files() for pair in f.checks()])


def group(pairs: Iterable[tuple[TableSpec, CheckSpec]]) -> list[Entry]:
    """(table entry, its selected checks) in first-seen order."""
    order: dict[int, tuple[TableSpec, list[CheckSpec]]] = {}
    for table, check in pairs:
        order.setdefault(id(table), (table, []))[1].append(check)
    return [(table, tuple(checks)) for table, checks in order.values()]
