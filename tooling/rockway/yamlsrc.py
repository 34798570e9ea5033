"""YAML that remembers where each value was written, and problems that say file, line and field.

Two ways to read a file, one for each way of reporting:
- `parse_doc`/`load_doc` give a `Doc`: plain data plus the line of every key and item, for readers that
  collect every problem of a file (`Doc.problem`) before reporting;
- `compose` and `NodeReader` walk the YAML nodes and raise an InputError at the offending line, for readers
  that stop at the first problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rockway.durations import parse_duration
from rockway.errors import InputError

__all__ = ["Problem", "SpecError", "Doc", "field_name", "compose", "parse_doc", "load_doc", "NodeReader"]

Path_ = tuple[Any, ...]  # a field path: ("load", "key", 0)


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


def compose(text: str, name: str) -> Node | None:
    """The YAML node tree of text (None when empty); a syntax error is an InputError naming the file and line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(name, f"not valid YAML: {exc.problem or exc.context}",
                         line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(name, f"not valid YAML: {exc}") from None


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


def parse_doc(text: str, name: str) -> Doc:
    """A Doc of YAML text; `name` names the file in problems and errors."""
    node = compose(text, name)
    lines: dict[Path_, int] = {}
    if node is None:
        return Doc(name, None, lines)
    return Doc(name, _build(node, (), lines, SafeConstructor()), lines)


def load_doc(path: Path, display: str | None = None) -> Doc:
    """Parse one YAML file; a syntax error is an InputError naming the file and line."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, f"cannot read: {exc}") from None
    return parse_doc(text, name)


class NodeReader:
    """Walks composed YAML nodes (`compose`) and raises InputError at the offending line.

    `what` names the value in messages ("check", "max_age"); subclasses add readers of their own kinds of
    value on top of these (each raising `self.fail(node, …)`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._constructor = SafeConstructor()

    def fail(self, node: Node | None, message: str, hint: str | None = None) -> InputError:
        """The error to raise for node (its line; the file's when node is None)."""
        line = node.start_mark.line + 1 if node is not None else None
        return InputError(self.path, message, line=line, hint=hint)

    def line(self, node: Node) -> int:
        return node.start_mark.line + 1

    def value(self, node: Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            raise self.fail(node, f"invalid value: {exc.problem}") from None

    def mapping(self, node: Node, what: str, allowed: set[str] | None = None) -> dict[str, tuple[Node, Node]]:
        """Key -> (key node, value node) of a mapping with text keys, each once (and each allowed, if given)."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.fail(key_node, f"{what}: keys must be text, not {key!r}")
            if key in out:
                raise self.fail(key_node, f"{what}: key {key!r} appears twice")
            if allowed is not None and key not in allowed:
                raise self.fail(key_node, f"{what}: unknown key {key!r}", hint="Allowed: " + ", ".join(sorted(allowed)))
            out[key] = (key_node, value_node)
        return out

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: Node, what: str) -> str:
        """Non-empty text, stripped."""
        value = self.value(node)
        if not isinstance(node, ScalarNode) or value is None or isinstance(value, (bool, list, dict)) or str(value).strip() == "":
            raise self.fail(node, f"{what} must be non-empty text")
        return str(value).strip()

    def number(self, node: Node, what: str, *, integer: bool = False, minimum: float | None = None) -> float:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
            raise self.fail(node, f"{what} must be {'an integer' if integer else 'a number'}, not {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(node, f"{what} must be at least {minimum:g}, not {value!r}")
        return float(value)

    def boolean(self, node: Node, what: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false, not {value!r}")
        return value

    def duration(self, node: Node, what: str, example: str = "26h, 90m, 2d or 1d12h") -> float:
        """Seconds of a duration (rockway.durations.parse_duration)."""
        try:
            return parse_duration(self.value(node))
        except ValueError:
            raise self.fail(node, f"{what} must be a duration like {example}") from None
