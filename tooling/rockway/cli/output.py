"""Printing helpers: rich tables for people, JSON/CSV for machines."""

from __future__ import annotations

import csv
import dataclasses
import enum
import functools
import io
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import click

from rockway.model import Version

if TYPE_CHECKING:
    from rich.console import Console


_PLAIN = frozenset((str, int, float, bool, type(None)))  # exact types: an enum's members are written as their value


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths and datetimes as plain JSON values; a version as its text, e.g. `1.2`."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Version):  # a dataclass too, but people and tools read "1.2", not {"parts": [1, 2]}
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_jsonable(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("source",))


def echo_json(data: Any) -> None:
    click.echo(json.dumps(to_jsonable(data), indent=2, sort_keys=False))


def echo_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else to_jsonable(v) for v in row])
    click.echo(buf.getvalue(), nl=False)


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200  # piped or captured output: do not wrap at 80 columns
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


RICH_ROW_LIMIT = 300  # rich measures every cell; past this a plain aligned table prints in a fraction of the time


def echo_table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A rich table for people; a plain aligned one for long listings."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if len(cells) > RICH_ROW_LIMIT:
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
        lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
        click.echo("\n".join(lines))
        return
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for name in header:
        table.add_column(name, overflow="fold")
    for row in cells:
        table.add_row(*row)
    console().print(table)
