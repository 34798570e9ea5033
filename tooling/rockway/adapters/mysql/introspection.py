"""MySQL / MariaDB catalog reading and DDL normalisation.

Normalisations of `SHOW CREATE TABLE` / `SHOW CREATE VIEW` (each one removes something that changes without
a schema change):
- `AUTO_INCREMENT=n` in the table options: the next counter value, which moves with every insert;
- `ALGORITHM=UNDEFINED` and `DEFINER=user@host` of a view: the default algorithm, and the account that ran
  the migration (differs between environments; the view's SQL SECURITY, which matters, is kept);
- blanks at line ends and the final ';'.
"""

from __future__ import annotations

import re
from typing import Sequence

from rockway.adapters.introspection import Introspection, SchemaObject, strip_line_ends

_AUTO_INCREMENT = re.compile(r"\s+AUTO_INCREMENT=\d+")
_ALGORITHM = re.compile(r"\bALGORITHM=UNDEFINED\s+", re.IGNORECASE)
_DEFINER = re.compile(r"\bDEFINER=(?:`[^`]*`|'[^']*'|[^\s@]+)@(?:`[^`]*`|'[^']*'|\S+)\s+", re.IGNORECASE)


def normalize_mysql_ddl(kind: str, ddl: str) -> str:
    """The DDL of a MySQL/MariaDB object without counters, default algorithm and definer."""
    text = strip_line_ends(ddl)
    if kind == "table":
        lines = text.splitlines()
        if lines:  # the table options follow the closing parenthesis on the last line
            lines[-1] = _AUTO_INCREMENT.sub("", lines[-1])
        return "\n".join(lines)
    return _DEFINER.sub("", _ALGORITHM.sub("", text, count=1), count=1)


class MySQLIntrospection(Introspection):
    """information_schema.tables for the list; SHOW CREATE TABLE / VIEW for the DDL."""

    def objects(self, databases: Sequence[str]) -> list[SchemaObject]:
        if not databases:
            return []
        marks = ", ".join(["%s"] * len(databases))
        rows = self.adapter.query(
            "SELECT table_schema, table_name, table_type, table_comment FROM information_schema.tables"
            f" WHERE table_schema IN ({marks}) AND table_type IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')"
            " ORDER BY table_schema, table_name", tuple(databases))
        out = []
        for schema, name, ttype, comment in rows:
            kind = "view" if str(ttype).upper() == "VIEW" else "table"
            # MariaDB reports a view's comment as the text 'VIEW'
            text = "" if kind == "view" else str(comment or "")
            out.append(SchemaObject(str(schema), str(name), kind, text))
        return out

    def show_create(self, obj: SchemaObject) -> str:
        verb = "VIEW" if obj.kind == "view" else "TABLE"
        return self._create_text(f"SHOW CREATE {verb} {self.adapter.qualified(obj.name, obj.database)}")

    def normalize(self, obj: SchemaObject, ddl: str) -> str:
        return normalize_mysql_ddl(obj.kind, ddl)
