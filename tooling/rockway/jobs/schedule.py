"""cron.d/rockway: /etc/cron.d lines (with a user field) checked, and their next runs computed with croniter.

Each entry must: have a valid schedule (5 fields or an @nickname), a user, a command that serialises its
pipeline with `flock -n <lock file>` (one lock file per pipeline), and output redirected to a log file.
`%` must be escaped (cron turns a bare `%` into a newline). CRON_TZ (cronie; not every cron supports it)
names an IANA time zone in which the schedules are read.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rockway.jobs.yamlsrc import Problem

CRON_FILE = Path("cron.d") / "rockway"
_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
_NICKNAMES = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", ">&", "2>", "2>>", "(", ")"}
# Words that start a command: in the user field they mean the line has no user (crontab -e syntax), and cron.d
# would run the rest of the line as that "user". (`rockway` is a user name as well: see _user_is_command.)
_COMMAND_WORDS = {"cd", "flock", "sh", "bash", "env", "exec", "nice", "ionice", "timeout", "test",
                  "run-parts", "sudo", "su", "echo", "true", "false", "chronic", "cronic", "python", "python3"}


@dataclass(frozen=True)
class CronEntry:
    line: int
    schedule: str
    user: str
    command: str
    time_zone: str
    rockway_commands: tuple[tuple[str, ...], ...] = ()  # argv after `rockway` of each rockway call
    lock_file: str | None = None
    log_file: str | None = None


@dataclass
class CronFile:
    path: str
    entries: list[CronEntry] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _tokens(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    out = []
    for token in lexer:
        out.append(token)
    # `2>&1` arrives as '2', '>&', '1'; fold a descriptor number into its redirection
    folded: list[str] = []
    for token in out:
        if folded and token in (">", ">>", ">&") and folded[-1].isdigit():
            folded[-1] = folded[-1] + token
        else:
            folded.append(token)
    return folded


def _is_operator(token: str) -> bool:
    return token in _OPERATORS or bool(re.fullmatch(r"\d?>>?&?", token))


def analyse_command(command: str) -> tuple[list[tuple[str, ...]], str | None, str | None]:
    """(rockway argv lists, flock -n lock file, log file) found in a cron command."""
    tokens = _tokens(command)
    calls: list[tuple[str, ...]] = []
    lock_file = log_file = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "flock":
            args = []
            j = i + 1
            while j < len(tokens) and not _is_operator(tokens[j]):
                args.append(tokens[j])
                j += 1
            if "-n" in args or "--nonblock" in args:
                rest = [a for a in args if not a.startswith("-")]
                lock_file = rest[0] if rest else None
            # flock's command continues after the lock file
            i += 1
            continue
        if tok in (">", ">>", "1>", "1>>") and i + 1 < len(tokens):
            log_file = tokens[i + 1]
        if Path(tok).name == "rockway" and (i == 0 or tokens[i - 1] not in (">", ">>")):
            argv = []
            j = i + 1
            while j < len(tokens) and not _is_operator(tokens[j]):
                argv.append(tokens[j])
                j += 1
            calls.append(tuple(argv))
            i = j
            continue
        i += 1
    return calls, lock_file, log_file


def _user_is_command(user: str, command: str) -> bool:
    """True when the user field is the first word of the command: the line names no user."""
    if user in _COMMAND_WORDS:
        return True
    try:
        return not analyse_command(command)[0] and bool(analyse_command(f"{user} {command}")[0])
    except ValueError:
        return False


def parse_cron(text: str, display: str) -> CronFile:
    """Parse and check a cron.d file; problems name the file, line and field."""
    from croniter import croniter

    out = CronFile(display)
    tz = "UTC"
    locks: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _ENV.match(line)
        if m and not line.startswith(("@", "*")) and not line.split()[0][0].isdigit():
            name, value = m.group(1), m.group(2).strip().strip("'\"")
            out.env[name] = value
            if name == "CRON_TZ":
                try:
                    ZoneInfo(value)
                    tz = value
                except (ZoneInfoNotFoundError, ValueError):
                    out.problems.append(Problem(display, number, "CRON_TZ", f"{value!r} is not an IANA time zone"))
            continue
        parts = line.split()
        if parts[0].startswith("@"):
            schedule, rest = parts[0], parts[1:]
            if schedule not in _NICKNAMES:
                out.problems.append(Problem(display, number, "schedule", f"{schedule!r} is not a cron nickname "
                                                                         f"({', '.join(sorted(_NICKNAMES))})"))
                continue
        else:
            schedule, rest = " ".join(parts[:5]), parts[5:]
            if len(parts) < 7 or not croniter.is_valid(schedule):
                out.problems.append(Problem(display, number, "schedule",
                                            f"{schedule!r} is not a valid cron schedule (minute hour day month weekday)"
                                            if len(parts) >= 7 else
                                            "expected: minute hour day-of-month month day-of-week user command"))
                continue
        if len(rest) < 2:
            out.problems.append(Problem(display, number, "command", "missing user and command"))
            continue
        user, command = rest[0], raw.strip().split(None, (1 if parts[0].startswith("@") else 5) + 1)[-1]
        if _user_is_command(user, command):
            out.problems.append(Problem(display, number, "user", f"no user field: {user!r} starts the command; cron.d "
                                                                  "lines name the user: m h dom mon dow user command"))
            continue
        if not _USER.match(user):
            out.problems.append(Problem(display, number, "user", f"{user!r} is not a user name (cron.d lines name "
                                                                  "the user after the schedule)"))
        if re.search(r"(?<!\\)%", command):
            out.problems.append(Problem(display, number, "command", "unescaped % (cron turns it into a newline); "
                                                                    "write \\%"))
        try:
            calls, lock_file, log_file = analyse_command(command)
        except ValueError as exc:
            out.problems.append(Problem(display, number, "command", f"cannot be parsed: {exc}"))
            continue
        if not calls:
            out.problems.append(Problem(display, number, "command", "does not call rockway"))
        if lock_file is None:
            out.problems.append(Problem(display, number, "command", "no `flock -n <lock file>`: a late run could "
                                                                    "overlap the next one"))
        elif lock_file in locks:
            other = out.entries[locks[lock_file]] if locks[lock_file] < len(out.entries) else None
            if other is not None and set(other.rockway_commands) != set(map(tuple, calls)):
                out.problems.append(Problem(display, number, "command", f"lock file {lock_file} is also used by line "
                                                                        f"{other.line} for another pipeline"))
        if log_file is None:
            out.problems.append(Problem(display, number, "command", "output is not redirected to a log file (>> file 2>&1)"))
        if lock_file:
            locks.setdefault(lock_file, len(out.entries))
        out.entries.append(CronEntry(number, schedule, user, command, tz, tuple(tuple(c) for c in calls),
                                     lock_file, log_file))
    return out


def load_cron(project_dir: Path, path: Path | None = None) -> CronFile:
    file = path or (project_dir / CRON_FILE)
    try:
        display = file.relative_to(project_dir).as_posix()
    except ValueError:
        display = str(file)
    if not file.is_file():
        result = CronFile(display)
        result.problems.append(Problem(display, None, "", "cron file not found"))
        return result
    return parse_cron(file.read_text(encoding="utf-8"), display)


def next_runs(entry: CronEntry, count: int = 3, start: datetime | None = None) -> list[datetime]:
    """The next `count` run times of an entry, in its CRON_TZ (aware datetimes)."""
    from croniter import croniter

    tz = ZoneInfo(entry.time_zone)
    base = (start or datetime.now(timezone.utc)).astimezone(tz)
    schedule = {"@annually": "@yearly", "@midnight": "@daily"}.get(entry.schedule, entry.schedule)
    it = croniter(schedule, base)
    return [it.get_next(datetime) for _ in range(count)]


def describe(entry: CronEntry) -> dict[str, Any]:
    return {"line": entry.line, "schedule": entry.schedule, "time_zone": entry.time_zone, "user": entry.user,
            "command": entry.command, "lock_file": entry.lock_file, "log_file": entry.log_file}
