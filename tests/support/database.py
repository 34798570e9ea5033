"""Reading a test database through the `sql` fixture (tests/conftest.py): its tables and rockway's history rows."""

from __future__ import annotations

from typing import Any, Callable

Sql = Callable[..., list[tuple]]


def tables(sql: Sql) -> set[str]:
    return {r[0] for r in sql("SHOW TABLES")}


def history(sql: Sql, table: str = "rockway_schema_history") -> list[dict[str, Any]]:
    """The history table's rows as dicts (column -> value), oldest first."""
    cols = [r[0] for r in sql(f"SHOW COLUMNS FROM {table}")]
    return [dict(zip(cols, r)) for r in sql(f"SELECT * FROM {table} ORDER BY installed_rank")]
