"""Reading the catalog for schema files and drift: which objects a database holds and their DDL, normalised.

Each engine's dialect supplies its reader (adapters/registry.py `introspection(adapter)`). The server's own
`SHOW CREATE …` text is the source; each engine removes what its server adds or changes on its own (counters,
defaults it prints from some version on, definers), so the text changes only when the schema does. The rules are
documented per engine in mysql/introspection.py and starrocks/introspection.py and in the README ("Schema files
and drift").
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from rockway.adapters.base import Adapter
from rockway.errors import DatabaseError, OutcomeUnknown

KINDS = ("table", "view", "materialized view")


@dataclass(frozen=True)
class SchemaObject:
    """A table, view or materialized view of one database."""

    database: str
    name: str
    kind: str  # one of KINDS
    comment: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


class Introspection(abc.ABC):
    """One engine's way of listing objects and printing their DDL."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter

    @abc.abstractmethod
    def objects(self, databases: Sequence[str]) -> list[SchemaObject]:
        """Tables, views and materialized views of these databases, sorted by database and name."""

    @abc.abstractmethod
    def show_create(self, obj: SchemaObject) -> str:
        """The server's DDL of obj, as SHOW CREATE prints it."""

    @abc.abstractmethod
    def normalize(self, obj: SchemaObject, ddl: str) -> str:
        """The DDL without what the server adds or varies by itself; no trailing ';'."""

    def ddl(self, obj: SchemaObject) -> str:
        return self.normalize(obj, self.show_create(obj))

    def fingerprints(self, objects: Sequence[SchemaObject]) -> dict[str, str]:
        """A hash per object (by `qualified`) of what the catalog says about it, read in a fixed number of queries
        whatever the number of objects: while it stays the same, so does the DDL, which then need not be read.
        Objects left out (here: all) have none; their DDL is read every time."""
        return {}

    def _catalog_rows(self, objects: Sequence[SchemaObject], queries: Iterable[tuple[str, str]],
                      volatile: Callable[[str], bool]) -> dict[str, list[str]] | None:
        """Rows of catalog queries over the objects' databases, by object: each query (its name, SQL with `{where}`
        standing for the database filter) answers the object's database and name first, then any columns; the
        columns `volatile` names (counters, sizes, times that move without a schema change; labels in upper case)
        are left out. None when a query fails (a release without that catalog table)."""
        by_object: dict[str, list[str]] = {}
        databases = tuple(sorted({obj.database for obj in objects}))
        if not databases:
            return by_object
        where = f"IN ({', '.join(['%s'] * len(databases))})"
        for source, template in queries:
            sql, params = template.format(where=where), databases
            try:
                result = self.adapter.execute(sql, params)
            except OutcomeUnknown:
                raise
            except DatabaseError:
                return None
            labels = [str(label).upper() for label in result.columns]
            kept = [i for i, label in enumerate(labels) if i >= 2 and not volatile(label)]
            for row in result.rows:
                cells = "\x1f".join(f"{labels[i]}={_cell(row[i])}" for i in kept)
                by_object.setdefault(f"{_cell(row[0])}.{_cell(row[1])}", []).append(f"{source}\x1f{cells}")
        return by_object

    def row_count(self, obj: SchemaObject) -> int:
        rows = self.adapter.query(f"SELECT COUNT(*) FROM {self.adapter.qualified(obj.name, obj.database)}")
        return int(rows[0][0]) if rows else 0

    def _create_text(self, sql: str) -> str:
        """The DDL cell of a SHOW CREATE answer: the column labelled `Create …` (read by name, not position)."""
        result = self.adapter.execute(sql)
        if not result.rows:
            return ""
        labels = [c.lower() for c in result.columns]
        index = next((i for i, label in enumerate(labels) if label.startswith("create")), 1)
        value = result.rows[0][index]
        return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value or "")


def digest(lines: list[str]) -> str:
    """sha256 (hex) of catalog rows, whatever order the server returned them in."""
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def _cell(value: Any) -> str:
    if value is None:
        return "\\N"  # not the text 'NULL'
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def strip_line_ends(ddl: str) -> str:
    """Trailing blanks of every line and the final ';' removed (both servers print some; neither means anything)."""
    text = "\n".join(line.rstrip() for line in ddl.strip().splitlines()).rstrip()
    return text[:-1].rstrip() if text.endswith(";") else text

