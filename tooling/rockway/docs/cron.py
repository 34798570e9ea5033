"""cron.d files read for the documentation: every file of the folder, and schedules in words.

The files are read with rockway.cron (entries, their time zone and purpose). Everything here is a function of
the files alone; next runs depend on "now" and are computed only on request (rockway.cron.next_runs), never
for the generated README.
"""

from __future__ import annotations

from pathlib import Path

from rockway.cron import CronFile, parse_cron

__all__ = ["load_cron_dir", "describe_schedule"]

_NICKNAMES = {
    "@yearly": "every year on 1 January at 00:00",
    "@annually": "every year on 1 January at 00:00",
    "@monthly": "on day 1 of every month at 00:00",
    "@weekly": "every Sunday at 00:00",
    "@daily": "every day at 00:00",
    "@midnight": "every day at 00:00",
    "@hourly": "every hour at minute 0",
}
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(_DAYS[:7])}
_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_MONTH_NAMES = {m[:3].lower(): i for i, m in enumerate(_MONTHS) if m}


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
