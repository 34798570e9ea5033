"""cron.d/rockway as the jobs run it: each entry runs rockway, serialised and logged.

Beyond the cron.d format (rockway.cron: schedule, user field, CRON_TZ, escaped `%`), each entry must call
rockway, serialise its pipeline with `flock -n <lock file>` (one lock file per pipeline) and redirect its
output to a log file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rockway.cron import CRON_FILE, CronEntry, CronFile, next_runs, parse_cron
from rockway.yamlsrc import Problem

__all__ = ["CRON_FILE", "load_cron", "describe"]


def _pipeline_problems(cron: CronFile) -> list[Problem]:
    """What keeps an entry from running one pipeline at a time with a log: no rockway call, lock or log file."""
    found: list[tuple[int, str]] = []
    first_with_lock: dict[str, CronEntry] = {}
    for entry in cron.entries:
        if not entry.rockway_commands:
            found.append((entry.line, "does not call rockway"))
        if entry.lock_file is None:
            found.append((entry.line, "no `flock -n <lock file>`: a late run could overlap the next one"))
        else:
            other = first_with_lock.setdefault(entry.lock_file, entry)
            if set(other.rockway_commands) != set(entry.rockway_commands):
                found.append((entry.line, f"lock file {entry.lock_file} is also used by line {other.line} "
                                          "for another pipeline"))
        if entry.log_file is None:
            found.append((entry.line, "output is not redirected to a log file (>> file 2>&1)"))
    return [Problem(cron.path, line, "command", message) for line, message in found]


def load_cron(project_dir: Path, path: Path | None = None) -> CronFile:
    """cron.d/rockway (or path) parsed, with the problems of the format and of the rules above, by line."""
    file = path or (project_dir / CRON_FILE)
    try:
        display = file.relative_to(project_dir).as_posix()
    except ValueError:
        display = str(file)
    if not file.is_file():
        result = CronFile(display)
        result.problems.append(Problem(display, None, "", "cron file not found"))
        return result
    cron = parse_cron(file.read_text(encoding="utf-8"), display)
    cron.problems = sorted(cron.problems + _pipeline_problems(cron), key=lambda p: p.line or 0)  # stable: by line
    return cron


def describe(entry: CronEntry, runs: int = 0) -> dict[str, Any]:
    """An entry as `rockway schedule` lists it, with its next `runs` start times from now (rockway.cron.next_runs:
    in CRON_TZ, else UTC)."""
    return {"line": entry.line, "schedule": entry.schedule, "time_zone": entry.time_zone or "UTC",
            "user": entry.user, "command": entry.command, "lock_file": entry.lock_file, "log_file": entry.log_file,
            **({"next_runs": [t.isoformat() for t in next_runs(entry, runs)]} if runs else {})}
