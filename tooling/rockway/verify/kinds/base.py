"""What a check kind is: its YAML keys and parsing, the SQL that measures it, and how its value is read.

A kind never builds statements itself: it asks `Measures` for aggregate expressions in the table scan or
for a statement of its own, and the compiler folds those of every check into as few statements as it can.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Mapping, Protocol

from yaml.nodes import Node

from rockway.errors import InputError
from rockway.verify.model import IDENT_RE, BoundCheck, CheckSpec
from rockway.yamlsrc import NodeReader

Reference = tuple[str, str, str, str]  # (column, target `db.table`, target column, target filter): one LEFT JOIN


class Body:
    """The mapping under a check's type key (`null_pct: {column: c, max: 5}`), as its kind reads it."""

    def __init__(self, reader: NodeReader, kind: str, node: Node, keys: Mapping[str, tuple[Node, Node]]) -> None:
        self.reader = reader
        self.kind = kind
        self.mapping_node = node
        self.keys = keys

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def node(self, key: str) -> Node:
        """The value node of a key that is present."""
        return self.keys[key][1]

    def required(self, key: str) -> Node:
        if key not in self.keys:
            raise self.fail(f"{self.kind} needs `{key}:`")
        return self.keys[key][1]

    def fail(self, message: str, node: Node | None = None) -> InputError:
        """The error to raise at node (default: the body mapping itself)."""
        return self.reader.fail(self.mapping_node if node is None else node, message)

    def text(self, key: str) -> str:
        """Non-empty text of a required key."""
        return self.reader.text(self.required(key), key)

    def number(self, key: str, *, minimum: float | None = None) -> float:
        return self.reader.number(self.node(key), key, minimum=minimum)

    def boolean(self, key: str) -> bool:
        return self.reader.boolean(self.node(key), key)

    def duration(self, key: str) -> float:
        """Seconds of a required duration key."""
        return self.reader.duration(self.required(key), key)

    def identifier(self, node: Node, what: str = "column") -> str:
        """A plain column name (it is quoted into SQL, never rendered)."""
        text = self.reader.text(node, what)
        if not IDENT_RE.match(text):
            raise self.fail(f"{what} {text!r} is not a plain column name (letters, digits, _ and $)", node)
        return text


class Binder(Protocol):
    """Renders one check's SQL fragments for a run; errors name the check and the key."""

    def text(self, text: str | None, what: str) -> str | None:
        ...

    def table(self, text: str, what: str) -> str:
        """A rendered `db.table` or `table`, validated."""
        ...


class Measures(Protocol):
    """Where a kind puts the SQL that measures one check; each input is read back under its role."""

    def aggregate(self, role: str, expr: str, *, join: str | None = None, separate: bool = False) -> None:
        """An aggregate expression over the table scope (`join`: a join alias it reads; `separate`: in a
        scan of its own)."""
        ...

    def join(self, reference: Reference, *, separate: bool = False) -> str:
        """The alias of a LEFT JOIN of the distinct target keys; expressions read `<alias>.rw_k`."""
        ...

    def statement(self, role: str, sql: str) -> None:
        """A statement of its own; the role reads its first column of its first row."""
        ...


class Kind(ABC):
    """One check type. Subclasses set the class attributes and override what they need."""

    name: ClassVar[str]  # the check file's key, e.g. `freshness`
    order: ClassVar[int]  # place among the kinds in messages that list them
    keys: ClassVar[frozenset[str]]  # keys allowed in the body
    needs_name: ClassVar[bool] = False  # no name can be derived from its columns
    expr_key: ClassVar[str] = "query"  # the body key that CheckSpec.expr comes from (named in render errors)
    statement_keys: ClassVar[Mapping[str, str]] = {}  # role of a statement of its own -> body key (for errors)
    unit: ClassVar[str] = ""  # after numbers in bounds text

    def parse(self, body: Body) -> dict[str, Any]:
        """CheckSpec fields from the body (bounds and anomaly are read by the caller)."""
        return {}

    def first_level(self, body: Body, bounds: dict[str, Any]) -> None:
        """Bounds of the check's own severity that the kind sets or defaults (`bounds` holds min/max read)."""

    def escalated_level(self, body: Body, bounds: dict[str, Any]) -> None:
        """The same for an `escalate` body."""

    def bind(self, check: CheckSpec, binder: Binder) -> dict[str, Any]:
        """BoundCheck fields beyond the table, scope, `now`, `expr` and `source_sql` every kind renders."""
        return {}

    @abstractmethod
    def compile(self, check: BoundCheck, measures: Measures) -> None:
        """Ask for the SQL inputs of one check."""

    def measure(self, check: BoundCheck, values: Mapping[str, Any]) -> tuple[float | None, str]:
        """The check's value from its measured inputs (role -> value), and a note for people."""
        return number(values.get("value")), ""

    def observe(self, table: str, value: float | None) -> None:
        """Record a measured value in telemetry, for kinds that have a metric of their own."""


def quote_table(name: str) -> str:
    """`db`.`table` from a validated `db.table`."""
    return ".".join(f"`{part}`" for part in name.split("."))


def quote_column(name: str) -> str:
    return f"`{name}`"


def number(value: Any) -> float | None:
    """A database value as float (Decimal, int, bool); None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        result = float(value)
        return None if math.isnan(result) else result
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {type(value).__name__} {str(value)[:40]!r}") from None


def fmt(value: float | None) -> str:
    """Short text for a number: integers without a fraction."""
    if value is None:
        return "NULL"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def as_datetime(value: Any) -> datetime | None:
    """A database date or datetime (or its ISO text) as a naive datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)
