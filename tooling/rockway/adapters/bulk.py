"""Staged bulk loads behind the Adapter: a staging copy of a table, a file loaded into it, an atomic swap.

Each engine's dialect supplies its implementation (adapters/registry.py `bulk_target(adapter)`):
- StarRocks (starrocks/stream_load.py): Stream Load over HTTP, `ALTER TABLE … SWAP WITH`, `DROP TABLE … FORCE`;
- MySQL/MariaDB (mysql/bulk.py): `LOAD DATA LOCAL INFILE`, `RENAME TABLE t TO old, stg TO t`, `DROP TABLE`.
Both create the staging table with `CREATE TABLE stg LIKE target`, which both engines support.
The file is one rockway/refdata/check.py writes (TAB-separated, LF-terminated; "plain": values as written, empty =
NULL; "escaped": `\\N` = NULL, booleans 1/0) or, for MySQL, the validated CSV itself ("csv").

`start_load` runs `load_file` in a worker thread (its own connection) and returns a PendingLoad, so the
caller can keep checking the file meanwhile; `PendingLoad.abandon()` stops it (the MySQL target sends
`KILL QUERY <load connection id>` on the adapter's own connection) and waits for the thread to end.
"""

from __future__ import annotations

import abc
import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from rockway.errors import DatabaseError
from rockway.adapters.base import Adapter, ProgressCallback, ignore_progress

MAX_NAME = 64

def side_table(target: str, suffix: str) -> str:
    """`<target>__<suffix>`, shortened with a hash when it would exceed 64 characters."""
    name = f"{target}__{suffix}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(target.encode("utf-8")).hexdigest()[:8]
    keep = MAX_NAME - len(suffix) - len(digest) - 3
    return f"{target[:keep]}_{digest}__{suffix}"


@dataclass(frozen=True)
class BulkColumn:
    """A column of the bulk file, in file order, with what a loader must convert."""

    name: str
    nullable: bool = True  # an empty field means NULL
    boolean: bool = False  # true/false/1/0 (any case) in the plain format


@dataclass(frozen=True)
class BulkFile:
    """A file to load and how it is written."""

    path: Path
    format: str  # "escaped" | "plain" (bulk files of refdata/check.py) | "csv" (the validated CSV itself)
    line_end: str = "\n"
    header_lines: int = 0  # lines to skip (the CSV's header)


@dataclass(frozen=True)
class LoadOutcome:
    """What the server said about one bulk load into the staging table."""

    rows: int  # rows the server reports as loaded (-1 when it does not say)
    method: str  # "LOAD DATA LOCAL INFILE" | "Stream Load"
    label: str | None = None  # Stream Load label
    visible: bool = True  # False after "Publish Timeout": committed, visible a little later
    already_loaded: bool = False  # "Label Already Exists" for a FINISHED job: an earlier attempt loaded it
    detail: str = ""
    # True when `rows` is exactly the number of rows now in the staging table (created empty just before),
    # by the server's own account of this load, so no COUNT(*) is needed. Each load_file says when it is.
    exact: bool = False


class LoadCancelled(DatabaseError):
    """The load was cancelled before it was sent."""


class PendingLoad:
    """A `load_file` call running in a worker thread; see BulkTarget.start_load.

    The worker reports the server session that runs the statement (`running`/`finished`); `cancel` asks
    the target to stop that session's statement (`kill`, called on the caller's thread, which owns the
    adapter's connection). A kill that reaches the server before the statement has started is lost
    (MariaDB/MySQL reset a pending KILL QUERY when the next statement begins), so `abandon` repeats it
    until the worker has ended.
    """

    def __init__(self, run: "Callable[[PendingLoad], LoadOutcome]", kill: Callable[[Any], None] | None = None,
                 name: str = "rockway-bulk-load") -> None:
        self._run = run
        self._kill = kill
        self._lock = threading.Lock()
        self._cancelled = False
        self._session: Any = None
        self._outcome: LoadOutcome | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> "PendingLoad":
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            self._outcome = self._run(self)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
            self._error = exc

    # --- called by the worker --------------------------------------------------------------------
    def running(self, session: Any) -> None:
        """The worker is about to send its statement on `session`; LoadCancelled if cancel() came first."""
        with self._lock:
            if self._cancelled:
                raise LoadCancelled("the load was cancelled before it started")
            self._session = session

    def finished(self) -> None:
        """The worker's statement has returned (nothing is left to kill)."""
        with self._lock:
            self._session = None

    # --- called by the caller --------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return not self._thread.is_alive()

    def cancel(self) -> None:
        """Ask the load to stop; does not wait (see abandon)."""
        with self._lock:
            self._cancelled = True
            if self._session is not None and self._kill is not None:
                try:
                    self._kill(self._session)
                except Exception:  # noqa: BLE001 - the statement may have just ended; abandon() waits either way
                    pass

    def wait(self) -> LoadOutcome:
        """Wait for the load; its outcome, or the exception it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome

    def abandon(self, poll: float = 1.0) -> None:
        """Cancel the load and wait until its thread has ended; whatever it raised is dropped."""
        self.cancel()
        while True:
            self._thread.join(poll)
            if not self._thread.is_alive():
                return
            self.cancel()  # again: a kill sent before the statement began is lost


class BulkTarget(abc.ABC):
    """One engine's staging, loading and swapping statements over an open adapter."""

    method: ClassVar[str] = ""
    bulk_format: ClassVar[str] = "escaped"  # the bulk-file format (refdata/check.py) load_file prefers
    # load_file can take the source CSV itself (format "csv"), so a load may start before the check ends
    loads_csv_as_is: ClassVar[bool] = False

    def __init__(self, adapter: Adapter, *, timeout: float = 600.0, poll_interval: float = 2.0,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None) -> None:
        self.adapter = adapter
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic

    def run(self, sql: str) -> None:
        self.adapter.run_statement(sql)

    def staging_name(self, target: str) -> str:
        return side_table(target, "rw_stage")

    def create_staging(self, database: str | None, target: str, staging: str) -> None:
        """Drop a staging table a killed run left behind, then CREATE TABLE staging LIKE target."""
        self.drop(database, staging)
        self.run(f"CREATE TABLE {self.adapter.qualified(staging, database)} LIKE {self.adapter.qualified(target, database)}")

    def count(self, database: str | None, table: str) -> int:
        rows = self.adapter.query(f"SELECT COUNT(*) FROM {self.adapter.qualified(table, database)}")
        return int(rows[0][0]) if rows else 0

    def wait_count(self, database: str | None, table: str, expected: int, outcome: LoadOutcome,
                   on_progress: ProgressCallback = ignore_progress) -> int:
        """COUNT(*) of table; after a load that is committed but not yet visible, poll until it reaches expected."""
        found = self.count(database, table)
        if outcome.visible or found == expected:
            return found
        deadline = self.clock() + self.timeout
        while found != expected and self.clock() < deadline:
            on_progress(f"{self.adapter.qualified(table, database)}: {found} of {expected} rows visible;"
                        f" waiting {self.poll_interval:g}s for the load to publish")
            self.sleep(self.poll_interval)
            found = self.count(database, table)
        return found

    @abc.abstractmethod
    def load_file(self, database: str | None, table: str, columns: Sequence[BulkColumn], file: BulkFile, *, label: str,
                  on_progress: ProgressCallback = ignore_progress) -> LoadOutcome:
        """Load the file into table (columns in file order)."""

    def start_load(self, database: str | None, table: str, columns: Sequence[BulkColumn], file: BulkFile, *,
                   label: str, on_progress: ProgressCallback = ignore_progress) -> PendingLoad:
        """Run load_file in a worker thread; the caller must wait() for or abandon() the PendingLoad.

        Here the load cannot be stopped early (abandon waits for it); targets that can override this.
        """
        return PendingLoad(lambda _p: self.load_file(database, table, columns, file, label=label,
                                                     on_progress=on_progress)).start()

    @abc.abstractmethod
    def swap(self, database: str | None, target: str, staging: str, on_progress: ProgressCallback = ignore_progress) -> None:
        """Atomically replace target's contents with staging's, then drop the old contents."""

    @abc.abstractmethod
    def drop(self, database: str | None, table: str) -> None:
        """Drop table if it exists (for staging/leftover tables only)."""

