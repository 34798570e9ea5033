"""cron.d files read for the documentation: entries, their time zone, their purpose and their schedule in words.

The format is /etc/cron.d's: comments (`#`), environment lines (`NAME=value`; `CRON_TZ=` sets the zone in
which the following schedules are read, cronie-style), and entries of five time fields (or an `@nickname`),
a user and a command. The purpose of an entry is the comment directly above it (no blank line between).
Everything here is a function of the file alone; next runs depend on "now" and are computed only on request
(`next_runs`), never for the generated README.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CronEntry", "CronFile", "parse_cron", "load_cron_dir", "describe_schedule", "rockway_argv", "next_runs"]

_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_NICKNAMES = {
    "@yearly": "every year on 1 January at 00:00",
    "@annually": "every year on 1 January at 00:00",
    "@monthly": "on day 1 of every month at 00:00",
    "@weekly": "every Sunday at 00:00",
    "@daily": "every day at 00:00",
    "@midnight": "every day at 00:00",
    "@hourly": "every hour at minute 0",
    "@reboot": "once, when cron starts",
}
_NICK_EXPR = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
              "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(_DAYS[:7])}
_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_MONTH_NAMES = {m[:3].lower(): i for i, m in enumerate(_MONTHS) if m}
_HEADER_COMMENT = re.compile(r"\bdom\b.*\bmon\b.*\bdow\b", re.IGNORECASE)
_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", "2>", "2>>", "2>&1", ">&", "1>", "1>>"}


@dataclass(frozen=True)
class CronEntry:
    """One scheduled line."""

    file: str
    line: int
    schedule: str  # the five fields joined by one space, or the @nickname
    user: str
    command: str
    time_zone: str | None  # CRON_TZ in force at this line, None for the system zone
    comment: str = ""  # the comment lines directly above, joined


@dataclass
class CronFile:
    path: str
    entries: list[CronEntry] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # the last value of each variable
    problems: list[str] = field(default_factory=list)  # "path:line: what is wrong"


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_cron(text: str, path: str = "cron.d/rockway") -> CronFile:
    """Entries, environment and problems of one cron.d file."""
    from croniter import croniter

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
        env = _ENV.match(line)
        if env:
            name, value = env.group(1), _unquote(env.group(2))
            out.env[name] = value
            if name == "CRON_TZ":
                tz = value or None
                if tz:
                    try:
                        ZoneInfo(tz)
                    except (ZoneInfoNotFoundError, ValueError):
                        out.problems.append(f"{path}:{number}: CRON_TZ={value!r} is not an IANA time zone")
            comments = []
            continue
        parts = line.split(None, 2 if line.startswith("@") else 6)
        if line.startswith("@"):
            if len(parts) < 3:
                out.problems.append(f"{path}:{number}: expected `@nickname user command`")
                comments = []
                continue
            schedule, user, command = parts[0].lower(), parts[1], parts[2]
            if schedule not in _NICKNAMES:
                out.problems.append(f"{path}:{number}: unknown schedule {parts[0]!r}")
        else:
            if len(parts) < 7:
                out.problems.append(f"{path}:{number}: expected five time fields, a user and a command")
                comments = []
                continue
            schedule, user, command = " ".join(parts[:5]), parts[5], parts[6]
            if not croniter.is_valid(schedule):
                out.problems.append(f"{path}:{number}: {schedule!r} is not a valid schedule")
        purpose = " ".join(c for c in comments if c and not _HEADER_COMMENT.search(c))
        out.entries.append(CronEntry(path, number, schedule, user, command, tz, purpose))
        comments = []
    return out


def load_cron_dir(folder: Path, project_dir: Path | None = None) -> list[CronFile]:
    """Every cron file of a folder (cron skips names with dots or a trailing ~; so does this), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name.endswith("~") or "." in path.name:
            continue
        try:
            name = path.relative_to(project_dir).as_posix() if project_dir else path.as_posix()
        except ValueError:
            name = path.as_posix()
        files.append(parse_cron(path.read_text(encoding="utf-8"), name))
    return files


def rockway_argv(command: str) -> list[str] | None:
    """The argv of the first `rockway …` call in a shell command (from `rockway` to the next operator)."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return None
    for i, token in enumerate(tokens):
        if token == "rockway" or token.endswith("/rockway"):
            argv = ["rockway"]
            for nxt in tokens[i + 1:]:
                if nxt in _OPERATORS or re.fullmatch(r"\d?[<>]+&?\d?", nxt):
                    break
                argv.append(nxt)
            return argv
    return None


# --- schedules in words -------------------------------------------------------------------------------
def _value(token: str, names: dict[str, int]) -> int:
    token = token.strip().lower()
    return names[token[:3]] if token[:3] in names and not token.isdigit() else int(token)


def _items(field_text: str, names: dict[str, int]) -> list[tuple[int, int, int]] | None:
    """(start, end, step) items of a field without `*`; None when it is unrestricted."""
    if field_text == "*":
        return None
    items = []
    for part in field_text.split(","):
        rng, _, step = part.partition("/")
        if rng == "*":
            return None if not step else [(-1, -1, int(step))]
        lo, _, hi = rng.partition("-")
        start = _value(lo, names)
        end = _value(hi, names) if hi else (start if not step else -1)
        items.append((start, end, int(step) if step else 1))
    return items


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _days(field_text: str) -> str:
    items = _items(field_text, _DAY_NAMES)
    if items is None:
        return ""
    words = []
    for start, end, step in items:
        if start == -1:
            words.append(f"every {step} days of the week")
        elif end == start:
            words.append(_DAYS[start])
        elif step == 1:
            words.append(f"{_DAYS[start]} to {_DAYS[end if end != -1 else 6]}")
        else:
            words.append(f"every {step} days from {_DAYS[start]}")
    return _join(words)


def _ordinal_list(field_text: str, names: dict[str, int], label: list[str] | None = None) -> str:
    items = _items(field_text, names)
    if items is None:
        return ""
    words = []
    for start, end, step in items:
        show = (lambda n: label[n]) if label else str  # noqa: E731
        if start == -1:
            words.append(f"every {step}")
        elif end == start:
            words.append(show(start))
        elif step == 1:
            words.append(f"{show(start)} to {show(end)}")
        else:
            words.append(f"every {step} from {show(start)}" + (f" to {show(end)}" if end != -1 else ""))
    return _join(words)


def _single(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _time(minute: str, hour: str) -> str:
    m, h = _single(minute), _single(hour)
    if m is not None and h is not None:
        return f"at {h:02d}:{m:02d}"
    if m is not None and "," in hour and all(p.isdigit() for p in hour.split(",")):
        return "at " + _join([f"{int(p):02d}:{m:02d}" for p in hour.split(",")])
    if m is not None and hour == "*":
        return f"every hour at minute {m}"
    if minute.startswith("*/") and hour == "*":
        return f"every {minute[2:]} minutes"
    if minute == "*" and hour == "*":
        return "every minute"
    hours = _ordinal_list(hour, {})
    minutes = _ordinal_list(minute, {})
    return f"at minute {minutes or 'every'} of hour {hours or 'every'}"


def describe_schedule(schedule: str) -> str:
    """A five-field schedule or @nickname in words, e.g. `30 19 * * 1-5` -> `at 19:30, Monday to Friday`."""
    if schedule.startswith("@"):
        return _NICKNAMES.get(schedule.lower(), schedule)
    try:
        minute, hour, dom, month, dow = schedule.split()
        when = _time(minute, hour)
        days = _days(dow)
        dates = _ordinal_list(dom, {})
        months = _ordinal_list(month, _MONTH_NAMES, _MONTHS)
    except (ValueError, KeyError, IndexError):
        return schedule
    parts = [when]
    if dates and days:  # cron runs when either matches
        parts.append(f"on day {dates} of the month or on {days}")
    elif dates:
        parts.append(f"on day {dates} of the month")
    elif days:
        parts.append(days)
    else:
        parts.append("every day")
    if months:
        parts.append(f"in {months}")
    return ", ".join(parts)


def next_runs(entry: CronEntry, count: int, now: datetime) -> list[datetime]:
    """The next `count` start times after `now`, in the entry's time zone (system zone: `now`'s)."""
    from croniter import croniter

    expr = _NICK_EXPR.get(entry.schedule, entry.schedule)
    if expr.startswith("@"):
        return []
    start = now.astimezone(ZoneInfo(entry.time_zone)) if entry.time_zone else now
    it = croniter(expr, start)
    return [it.get_next(datetime) for _ in range(count)]
