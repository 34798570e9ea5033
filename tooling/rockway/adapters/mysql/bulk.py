"""MySQL/MariaDB bulk loads: LOAD DATA LOCAL INFILE on a second connection, RENAME TABLE swap.

What is loaded is the validated CSV itself when the CSV check (refdata/check.py) accepted all of it through its
strict subset (RFC 4180 quoting only, no bare NULL word, one line ending; read with `FIELDS TERMINATED BY ','
OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' … IGNORE 1 LINES`), else the check's `plain` bulk file (values as
written, TAB-separated, read with `ENCLOSED BY '' ESCAPED BY ''`). Either way the server turns an empty
field of a nullable column into NULL and true/false/1/0 into 1/0 in `SET` — the work a hand-written LOAD
DATA of the CSV does — so no value is rewritten in Python.

The adapter's own connection is opened without LOCAL INFILE (a server could otherwise ask it for any
file), so the load runs on a short-lived second connection that allows it. The server must allow it
too (`SET GLOBAL local_infile = 1`). LOCAL implies IGNORE: rows the server cannot take become warnings,
so any warning or skipped row fails the load here.

Row count: the LOAD DATA result says how many rows went in — affected rows (rows inserted) and the info
line `Records: n  Deleted: d  Skipped: s  Warnings: w` (Records: lines read after IGNORE n LINES; a
duplicate key is a skipped row plus a warning). Into a staging table that `CREATE TABLE … LIKE` made
just before (empty, no triggers: LIKE does not copy them) and no other session writes to, affected
rows == Records with d = s = w = 0 is exactly the number of rows the table now holds, and exactly one
per data line of the file; the outcome is then `exact` and the caller needs no COUNT(*). Without that
info line the outcome is not exact and the caller counts. (An engine that drops rows on insert, such as
BLACKHOLE, would also defeat COUNT(*)-free checking; a reference table is not one.)

`start_load` runs the same load in a worker thread; cancelling it sends `KILL QUERY <connection id of
the load connection>` on the adapter's own connection (the same user may kill its own statements). The
server then reads and discards the rest of the file, rolls back the rows loaded so far and answers
error 1317, which the cancelled load drops.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import pymysql

from rockway.errors import DatabaseError
from rockway.adapters.base import ProgressCallback, ignore_progress
from rockway.adapters.bulk import BulkColumn, BulkFile, BulkTarget, LoadOutcome, PendingLoad, side_table
from rockway.adapters.connection import open_connection, translate

_INFO = re.compile(r"Records:\s*(\d+)\s+Deleted:\s*(\d+)\s+Skipped:\s*(\d+)\s+Warnings:\s*(\d+)", re.I)
_LOCAL_REFUSED = {1148, 3948, 2068, 4166}


def load_data_sql(qualified_table: str, columns: Sequence[BulkColumn], quote: Any, *, fmt: str = "plain",
                  line_end: str = "\n", skip_lines: int = 0) -> str:
    """The LOAD DATA statement for a plain bulk file or a validated CSV (filename left as %s)."""
    fields, sets = [], []
    for i, col in enumerate(columns, 1):
        if not col.nullable and not col.boolean:
            fields.append(quote(col.name))
            continue
        var = f"@rw_{i}"
        fields.append(var)
        value = f"LOWER({var}) IN ('1', 'true')" if col.boolean else var
        # LENGTH, not = '': with PAD SPACE collations '  ' = '' holds, and a value of spaces is not NULL
        sets.append(f"{quote(col.name)} = IF(LENGTH({var}) = 0, NULL, {value})" if col.nullable
                    else f"{quote(col.name)} = {value}")
    if fmt == "csv":
        layout = "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''"
    elif fmt == "plain":
        layout = "FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY ''"
    else:
        raise ValueError(f"LOAD DATA reads plain or csv files, not {fmt!r}")
    eol = {"\n": "\\n", "\r\n": "\\r\\n"}[line_end]
    skip = f" IGNORE {skip_lines} LINES" if skip_lines else ""
    return (f"LOAD DATA LOCAL INFILE %s INTO TABLE {qualified_table} CHARACTER SET utf8mb4 {layout}"
            f" LINES TERMINATED BY '{eol}'{skip} ({', '.join(fields)})" + (f" SET {', '.join(sets)}" if sets else ""))


class MySQLBulk(BulkTarget):
    """Staging + LOAD DATA LOCAL INFILE + `RENAME TABLE target TO old, staging TO target` + DROP old."""

    method = "LOAD DATA LOCAL INFILE"
    bulk_format = "csv"  # the validated CSV itself when the CSV check can vouch for it, else its plain bulk file
    loads_csv_as_is = True

    def start_load(self, database: str | None, table: str, columns: Sequence[BulkColumn], file: BulkFile, *,
                   label: str, on_progress: ProgressCallback = ignore_progress) -> PendingLoad:
        """load_file in a worker thread; PendingLoad.cancel() sends KILL QUERY for its connection."""
        def run(pending: PendingLoad) -> LoadOutcome:
            return self.load_file(database, table, columns, file, label=label, on_progress=on_progress,
                                  pending=pending)

        return PendingLoad(run, kill=self.kill_query).start()

    def kill_query(self, connection_id: int) -> None:
        """Stop the statement of another session of this user (on the adapter's own connection)."""
        self.run(f"KILL QUERY {int(connection_id)}")

    def load_file(self, database: str | None, table: str, columns: Sequence[BulkColumn], file: BulkFile, *, label: str,
                  on_progress: ProgressCallback = ignore_progress, pending: PendingLoad | None = None) -> LoadOutcome:
        a: Any = self.adapter
        sql = load_data_sql(a.qualified(table, database), columns, a.quote_ident, fmt=file.format,
                            line_end=file.line_end, skip_lines=file.header_lines)
        path = file.path
        conn = open_connection(a.dsn, a.timeouts, database=database or a.database, local_infile=True)
        try:
            with conn.cursor() as cur:
                if pending is not None:
                    pending.running(conn.thread_id())  # from here on, cancel() kills this connection's statement
                try:
                    cur.execute(sql, (str(path),))
                except pymysql.err.MySQLError as exc:
                    code = exc.args[0] if exc.args else None
                    if code in _LOCAL_REFUSED:
                        raise DatabaseError(f"the server refused LOAD DATA LOCAL INFILE: {exc.args[-1]}", errno=code,
                                            hint="Allow it on the server: SET GLOBAL local_infile = 1 (MySQL 8 and"
                                                 " MariaDB need it for LOCAL loads).") from exc
                    raise translate(exc, "LOAD DATA") from exc
                finally:
                    if pending is not None:
                        pending.finished()
                rows = max(cur.rowcount, 0)  # affected rows: rows inserted
                result = getattr(cur, "_result", None)
                message = getattr(result, "message", b"") or b""
                info = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
                warnings = int(getattr(result, "warning_count", 0) or 0)
                m = _INFO.search(info)
                records, deleted = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
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
        # exact: see the module docstring (affected rows == Records, nothing deleted, skipped or warned about)
        exact = m is not None and records == rows and deleted == 0
        return LoadOutcome(rows=rows, method=self.method, detail=info, exact=exact)

    def swap(self, database: str | None, target: str, staging: str, on_progress: ProgressCallback = ignore_progress) -> None:
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
