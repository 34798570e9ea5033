"""MySQL / MariaDB catalog reading and DDL normalisation.

Normalisations of `SHOW CREATE TABLE` / `SHOW CREATE VIEW` (each one removes something that changes without
a schema change):
- `AUTO_INCREMENT=n` in the table options: the next counter value, which moves with every insert;
- `ALGORITHM=UNDEFINED` and `DEFINER=user@host` of a view: the default algorithm, and the account that ran
  the migration (differs between environments; the view's SQL SECURITY, which matters, is kept);
- blanks at line ends and the final ';'.

Fingerprints (`fingerprints`, for the schema record written after every migration): every column of the
information_schema rows that describe a table or view (tables, columns, statistics, key_column_usage,
referential_constraints, the CHECK constraints, partitions, views) except counters, sizes and times that move
without a schema change. Every column is kept rather than a chosen few, so a column a newer server adds can only
make a fingerprint change when the DDL did not (an extra SHOW CREATE), never the other way round.
tests/mariadb/test_schema_fingerprint.py runs each kind of ALTER on MariaDB and checks the fingerprint follows the DDL.
"""

from __future__ import annotations

import re
from typing import Sequence

from rockway.adapters.introspection import Introspection, SchemaObject, digest, strip_line_ends

_AUTO_INCREMENT = re.compile(r"\s+AUTO_INCREMENT=\d+")
_ALGORITHM = re.compile(r"\bALGORITHM=UNDEFINED\s+", re.IGNORECASE)
_DEFINER = re.compile(r"\bDEFINER=(?:`[^`]*`|'[^']*'|[^\s@]+)@(?:`[^`]*`|'[^']*'|\S+)\s+", re.IGNORECASE)

# information_schema columns that change without a schema change (row counts, sizes, the next AUTO_INCREMENT value,
# times of the last write or check, index cardinality, the reader's privileges)
VOLATILE = frozenset({
    "TABLE_ROWS", "AVG_ROW_LENGTH", "DATA_LENGTH", "MAX_DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE", "MAX_INDEX_LENGTH",
    "AUTO_INCREMENT", "UPDATE_TIME", "CHECK_TIME", "CHECKSUM", "CARDINALITY", "PRIVILEGES",
})


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

    def fingerprints(self, objects: Sequence[SchemaObject]) -> dict[str, str]:
        queries = (
            ("tables", "SELECT TABLE_SCHEMA, TABLE_NAME, t.* FROM information_schema.tables t WHERE TABLE_SCHEMA {where}"),
            ("columns", "SELECT TABLE_SCHEMA, TABLE_NAME, c.* FROM information_schema.columns c"
                        " WHERE TABLE_SCHEMA {where}"),
            ("statistics", "SELECT TABLE_SCHEMA, TABLE_NAME, s.* FROM information_schema.statistics s"
                           " WHERE TABLE_SCHEMA {where}"),
            ("key_column_usage", "SELECT TABLE_SCHEMA, TABLE_NAME, k.* FROM information_schema.key_column_usage k"
                                 " WHERE TABLE_SCHEMA {where}"),
            ("referential_constraints", "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, r.*"
                                        " FROM information_schema.referential_constraints r"
                                        " WHERE CONSTRAINT_SCHEMA {where}"),
            # MySQL's check_constraints has no TABLE_NAME: joined by name (MariaDB names are per table, so a name
            # two tables share joins both: their fingerprints change together, never too seldom)
            ("check_constraints", "SELECT tc.TABLE_SCHEMA, tc.TABLE_NAME, cc.*"
                                  " FROM information_schema.table_constraints tc"
                                  " JOIN information_schema.check_constraints cc"
                                  " ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA"
                                  " AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME"
                                  " WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA {where}"),
            ("partitions", "SELECT TABLE_SCHEMA, TABLE_NAME, p.* FROM information_schema.partitions p"
                           " WHERE TABLE_SCHEMA {where}"),
            ("views", "SELECT TABLE_SCHEMA, TABLE_NAME, v.* FROM information_schema.views v WHERE TABLE_SCHEMA {where}"),
        )
        rows = self._catalog_rows(objects, queries, VOLATILE.__contains__)
        if rows is None:
            return {}
        return {obj.qualified: digest(rows.get(obj.qualified, [])) for obj in objects}
