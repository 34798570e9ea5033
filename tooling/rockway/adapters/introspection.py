"""Reading the catalog for schema files and drift: which objects a database holds and their DDL, normalised.

`introspection(adapter)` picks the engine's reader (like `job_ops`). The server's own `SHOW CREATE …` text is
the source; each engine removes what its server adds or changes on its own (counters, defaults it prints from
some version on, definers), so the text changes only when the schema does. The rules are documented per
engine in mysql_introspection.py and starrocks_introspection.py and in the README ("Schema files and drift").
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Sequence

from rockway.adapters.base import Adapter

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


def strip_line_ends(ddl: str) -> str:
    """Trailing blanks of every line and the final ';' removed (both servers print some; neither means anything)."""
    text = "\n".join(line.rstrip() for line in ddl.strip().splitlines()).rstrip()
    return text[:-1].rstrip() if text.endswith(";") else text


def introspection(adapter: Adapter) -> Introspection:
    """The reader for this connection, chosen by capability: engines with asynchronous DDL (StarRocks) have
    materialized views of their own."""
    if adapter.capabilities.async_ddl:
        from rockway.adapters.starrocks.introspection import StarRocksIntrospection

        return StarRocksIntrospection(adapter)
    from rockway.adapters.mysql.introspection import MySQLIntrospection

    return MySQLIntrospection(adapter)
