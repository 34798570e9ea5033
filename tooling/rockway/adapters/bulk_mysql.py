"""MySQL/MariaDB bulk loads: LOAD DATA LOCAL INFILE on a second connection, RENAME TABLE swap.

The adapter's own connection is opened without LOCAL INFILE (a server could otherwise ask it for any
file), so the load runs on a short-lived second connection that allows it. The server must allow it
too (`SET GLOBAL local_infile = 1`). LOCAL implies IGNORE: rows the server cannot take become warnings,
so any warning or skipped row fails the load here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import pymysql

from ..errors import DatabaseError
from .base import ProgressCallback
from .bulk import BulkTarget, LoadOutcome, _ignore, side_table
from .connection import open_connection, translate

_INFO = re.compile(r"Records:\s*(\d+)\s+Deleted:\s*(\d+)\s+Skipped:\s*(\d+)\s+Warnings:\s*(\d+)", re.I)
_LOCAL_REFUSED = {1148, 3948, 2068, 4166}


def load_data_sql(qualified_table: str, columns: Sequence[str], quote: Any) -> str:
    """The LOAD DATA statement for a rockway bulk file (filename left as %s)."""
    cols = ", ".join(quote(c) for c in columns)
    return (f"LOAD DATA LOCAL INFILE %s INTO TABLE {qualified_table} CHARACTER SET utf8mb4"
            " FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\'"
            f" LINES TERMINATED BY '\\n' ({cols})")


class MySQLBulk(BulkTarget):
    """Staging + LOAD DATA LOCAL INFILE + `RENAME TABLE target TO old, staging TO target` + DROP old."""

    method = "LOAD DATA LOCAL INFILE"
    escape_backslash = True

    def load_file(self, database: str | None, table: str, columns: Sequence[str], path: Path, *, label: str,
                  on_progress: ProgressCallback = _ignore) -> LoadOutcome:
        a: Any = self.adapter
        sql = load_data_sql(a.qualified(table, database), columns, a.quote_ident)
        conn = open_connection(a.dsn, a.timeouts, database=database or a.database, local_infile=True)
        try:
            with conn.cursor() as cur:
                try:
                    cur.execute(sql, (str(path),))
                except pymysql.err.MySQLError as exc:
                    code = exc.args[0] if exc.args else None
                    if code in _LOCAL_REFUSED:
                        raise DatabaseError(f"the server refused LOAD DATA LOCAL INFILE: {exc.args[-1]}", errno=code,
                                            hint="Allow it on the server: SET GLOBAL local_infile = 1 (MySQL 8 and"
                                                 " MariaDB need it for LOCAL loads).") from exc
                    raise translate(exc, "LOAD DATA") from exc
                rows = max(cur.rowcount, 0)
                result = getattr(cur, "_result", None)
                message = getattr(result, "message", b"") or b""
                info = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
                warnings = int(getattr(result, "warning_count", 0) or 0)
                m = _INFO.search(info)
                skipped = int(m.group(3)) if m else 0
                warnings = max(warnings, int(m.group(4)) if m else 0)
                if warnings or skipped:
                    cur.execute("SHOW WARNINGS LIMIT 5")
                    shown = "; ".join(f"{r[0]} {r[1]}: {r[2]}" for r in cur.fetchall())
                    raise DatabaseError(f"LOAD DATA into {a.qualified(table, database)} reported {warnings} warning(s),"
                                        f" {skipped} skipped row(s): {shown or info}",
                                        hint="The table's column types do not take the values the manifest allows;"
                                             " align the table (a V migration) or the manifest.")
        except pymysql.err.MySQLError as exc:
            raise translate(exc, "LOAD DATA") from exc
        finally:
            conn.close()
        on_progress(f"LOAD DATA LOCAL INFILE: {rows} rows into {a.qualified(table, database)}")
        return LoadOutcome(rows=rows, method=self.method, detail=info)

    def swap(self, database: str | None, target: str, staging: str, on_progress: ProgressCallback = _ignore) -> None:
        q = self.adapter.qualified
        old = side_table(target, "rw_old")
        self.drop(database, old)
        self.run(f"RENAME TABLE {q(target, database)} TO {q(old, database)}, {q(staging, database)} TO {q(target, database)}")
        try:
            self.drop(database, old)
        except DatabaseError as exc:  # the swap happened; a leftover is dropped by the next load
            on_progress(f"could not drop {q(old, database)} after the swap: {exc.message}")

    def drop(self, database: str | None, table: str) -> None:
        self.run(f"DROP TABLE IF EXISTS {self.adapter.qualified(table, database)}")
