"""A project folder and the rockway CLI run in it as a real subprocess (real exit code, stdout, stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Project:
    """A project folder and the writing of its scripts (migrations, repeatables, any file)."""

    root: Path
    dsn: str

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def migration(self, name: str, text: str) -> Path:
        return self.write(f"migrations/{name}", text)

    def repeatable(self, name: str, text: str) -> Path:
        return self.write(f"repeatable/{name}", text)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(project: Project | Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
            entry: str = "rockway") -> Result:
    """Run the CLI in a subprocess in the project folder (real process, real exit code)."""
    root = project.root if isinstance(project, Project) else project
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    if isinstance(project, Project):
        environment["ROCKWAY_DSN"] = project.dsn
    environment.update(env or {})
    module = "rockway.cli.main"
    func = "main" if entry == "rockway" else "migrate_main"
    proc = subprocess.run([sys.executable, "-c", f"import sys; from {module} import {func}; {func}()", *args],
                          cwd=root, env=environment, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def fill_dsn(text: str | bytes, dsn: str) -> str | bytes:
    """Replace @DSN@ (the whole DSN) and @DSNREST@ (the DSN from "://" on) in a file text; bytes stay as written."""
    if isinstance(text, bytes):
        return text
    return text.replace("@DSNREST@", dsn[dsn.index("://"):]).replace("@DSN@", dsn)


def write_files(project: Project, files: dict[str, str | bytes]) -> None:
    """Write files (relative path -> text or bytes) into the project, with its DSN filled in (fill_dsn)."""
    for relative, content in files.items():
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        content = fill_dsn(content, project.dsn)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
