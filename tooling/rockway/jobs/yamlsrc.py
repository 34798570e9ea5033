"""YAML documents that remember where each value was written, and problems that say file, line and field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rockway.errors import InputError

Path_ = tuple[Any, ...]  # a field path: ("load", "key", 0)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(InputError):
    """One or more problems in job, pipeline or cron files (exit 2)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = "".join(f"\n  {p}" for p in self.problems[1:])
        super().__init__(first.file, (f"{first.field}: " if first.field else "") + first.message + more,
                         line=first.line,
                         hint="Fix the file(s) named above; `rockway job validate` checks every spec.")


@dataclass
class Doc:
    """A parsed YAML document: plain data plus the line of every mapping key and sequence item."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line(self, *path: Any) -> int | None:
        """Line of the field at path, or of its nearest parent that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def problem(self, message: str, *path: Any) -> Problem:
        return Problem(self.file, self.line(*path), field_name(path), message)


def field_name(path: Path_) -> str:
    """`load.key[0]` for ("load", "key", 0)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _build(node: Node, path: Path_, lines: dict[Path_, int], constructor: SafeConstructor) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines, constructor)
        return out
    if isinstance(node, SequenceNode):
        return [_build(item, path + (i,), lines, constructor) for i, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    return constructor.construct_object(node, deep=True)


def load_doc(path: Path, display: str | None = None) -> Doc:
    """Parse one YAML file; a syntax error is an InputError naming the file and line."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, f"cannot read: {exc}") from None
    return parse_doc(text, name)


def parse_doc(text: str, name: str) -> Doc:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(name, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                         line=mark.line + 1 if mark else None) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return Doc(name, None, lines)
    constructor = SafeConstructor()
    return Doc(name, _build(node, (), lines, constructor), lines)


def parse_duration(value: Any) -> timedelta:
    """`90s`, `15m`, `2h`, `3d` (or a number of seconds) as a timedelta; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(value)
        return timedelta(seconds=float(value))
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(value)
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
