"""cron.d files: entries, their environment and time zone, the rockway calls of their commands, next runs.

The format is /etc/cron.d's: comments (`#`), environment lines (`NAME=value`; `CRON_TZ=` names the IANA zone
in which the following schedules are read, cronie-style; not every cron supports it), and entries of five
time fields (or an @nickname), a user and a command. A line without the user field (crontab -e syntax) is a
problem: cron.d would run the rest of the line as that "user". `@reboot` is not a schedule here: an entry
always has next runs. `%` must be escaped (cron turns a bare `%` into a newline). The comment directly above
an entry (no blank line between) is its purpose. Next runs depend on "now" and are computed only on request.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rockway.yamlsrc import Problem

__all__ = ["CRON_FILE", "CronEntry", "CronFile", "parse_cron", "analyse_command", "rockway_argv", "next_runs"]

CRON_FILE = Path("cron.d") / "rockway"  # the project's cron file, copied to /etc/cron.d
NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
             "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
_HEADER_COMMENT = re.compile(r"\bdom\b.*\bmon\b.*\bdow\b", re.IGNORECASE)  # `# m h dom mon dow user command`
_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", ">&", "2>", "2>>", "(", ")"}
# Words that start a command: in the user field they mean the line has no user (crontab -e syntax), and cron.d
# would run the rest of the line as that "user". (`rockway` is a user name as well: see _user_is_command.)
_COMMAND_WORDS = {"cd", "flock", "sh", "bash", "env", "exec", "nice", "ionice", "timeout", "test",
                  "run-parts", "sudo", "su", "echo", "true", "false", "chronic", "cronic", "python", "python3"}


@dataclass(frozen=True)
class CronEntry:
    """One scheduled line."""

    file: str
    line: int
    schedule: str  # the five fields joined by one space, or the @nickname
    user: str
    command: str
    time_zone: str | None  # CRON_TZ in force at this line; None: the host's zone
    comment: str = ""  # the comment lines directly above, joined
    rockway_commands: tuple[tuple[str, ...], ...] = ()  # argv after `rockway` of each rockway call
    lock_file: str | None = None  # of `flock -n <lock file>`
    log_file: str | None = None  # where stdout is redirected


@dataclass
class CronFile:
    path: str
    entries: list[CronEntry] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # the last value of each variable
    problems: list[Problem] = field(default_factory=list)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_cron(text: str, path: str = CRON_FILE.as_posix()) -> CronFile:
    """Entries, environment and problems of one cron.d file; problems name the file, line and field.

    A line with a problem in its schedule, user field or command is not an entry."""
    out = CronFile(path)
    tz: str | None = None
    comments: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            comments = []
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
            continue
        purpose = " ".join(c for c in comments if c and not _HEADER_COMMENT.search(c))
        comments = []
        env = _ENV.match(line)
        if env:
            name, value = env.group(1), _unquote(env.group(2))
            out.env[name] = value
            if name == "CRON_TZ":
                try:
                    tz = _zone(value)
                except ValueError:
                    out.problems.append(Problem(path, number, "CRON_TZ", f"{value!r} is not an IANA time zone"))
            continue
        entry = _entry(out, number, line, tz, purpose)
        if entry is not None:
            out.entries.append(entry)
    return out


def _zone(value: str) -> str | None:
    """The zone CRON_TZ=value names (None when empty: the host's); ValueError for an unknown one."""
    if not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(value) from None
    return value


def _entry(out: CronFile, number: int, line: str, tz: str | None, purpose: str) -> CronEntry | None:
    from croniter import croniter  # takes ~60 ms to import: only commands that read a cron file pay for it

    path, parts = out.path, line.split()
    problem = out.problems.append
    nickname = parts[0].startswith("@")
    if nickname:
        schedule, rest = parts[0], parts[1:]
        if schedule not in NICKNAMES:
            problem(Problem(path, number, "schedule",
                            f"{schedule!r} is not a cron nickname ({', '.join(sorted(NICKNAMES))})"))
            return None
    else:
        schedule, rest = " ".join(parts[:5]), parts[5:]
        if len(parts) < 7:
            problem(Problem(path, number, "schedule", "expected: minute hour day-of-month month day-of-week user command"))
            return None
        if not croniter.is_valid(schedule):
            problem(Problem(path, number, "schedule",
                            f"{schedule!r} is not a valid cron schedule (minute hour day month weekday)"))
            return None
    if len(rest) < 2:
        problem(Problem(path, number, "command", "missing user and command"))
        return None
    user, command = rest[0], line.split(None, (1 if nickname else 5) + 1)[-1]
    if _user_is_command(user, command):
        problem(Problem(path, number, "user", f"no user field: {user!r} starts the command; cron.d "
                                              "lines name the user: m h dom mon dow user command"))
        return None
    if not _USER.match(user):
        problem(Problem(path, number, "user", f"{user!r} is not a user name (cron.d lines name "
                                              "the user after the schedule)"))
    if re.search(r"(?<!\\)%", command):
        problem(Problem(path, number, "command", "unescaped % (cron turns it into a newline); write \\%"))
    try:
        calls, lock_file, log_file = analyse_command(command)
    except ValueError as exc:
        problem(Problem(path, number, "command", f"cannot be parsed: {exc}"))
        return None
    return CronEntry(path, number, schedule, user, command, tz, purpose, tuple(calls), lock_file, log_file)


# --- commands ---------------------------------------------------------------------------------------------
def _tokens(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    # `2>&1` arrives as '2', '>&', '1'; fold a descriptor number into its redirection
    folded: list[str] = []
    for token in lexer:
        if folded and token in (">", ">>", ">&") and folded[-1].isdigit():
            folded[-1] = folded[-1] + token
        else:
            folded.append(token)
    return folded


def _is_operator(token: str) -> bool:
    return token in _OPERATORS or bool(re.fullmatch(r"\d?>>?&?", token))


def analyse_command(command: str) -> tuple[list[tuple[str, ...]], str | None, str | None]:
    """(rockway argv lists, flock -n lock file, log file) found in a cron command; ValueError if unparsable."""
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


def rockway_argv(command: str) -> list[str] | None:
    """The argv of the first `rockway …` call in a shell command (from `rockway` to the next operator)."""
    try:
        calls = analyse_command(command)[0]
    except ValueError:
        return None
    return ["rockway", *calls[0]] if calls else None


def _user_is_command(user: str, command: str) -> bool:
    """True when the user field is the first word of the command: the line names no user."""
    if user in _COMMAND_WORDS:
        return True
    try:
        return not analyse_command(command)[0] and bool(analyse_command(f"{user} {command}")[0])
    except ValueError:
        return False


# --- next runs --------------------------------------------------------------------------------------------
def next_runs(entry: CronEntry, count: int = 3, start: datetime | None = None) -> list[datetime]:
    """The next `count` run times after `start` (default: now, UTC), aware, in the entry's CRON_TZ (without
    one: in `start`'s zone)."""
    from croniter import croniter  # see _entry

    base = start or datetime.now(timezone.utc)
    if entry.time_zone:
        base = base.astimezone(ZoneInfo(entry.time_zone))
    it = croniter(NICKNAMES.get(entry.schedule, entry.schedule), base)
    return [it.get_next(datetime) for _ in range(count)]
