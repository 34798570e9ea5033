"""The StarRocks run lock: a table that only one CREATE TABLE can create (README, "The run lock is stuck").

StarRocks has no GET_LOCK; CREATE TABLE without IF NOT EXISTS fails with "already exists" for every caller but one.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Protocol, Sequence

from rockway.config import validate_identifier
from rockway.errors import DatabaseError, OutcomeUnknown
from rockway.adapters.base import Column, LockOwner, LockPrimitive, StatementResult, TableSpec
from rockway.adapters.starrocks.sql import is_already_exists, show_text, sql_string


class LockTableHost(Protocol):
    """What the lock needs of the StarRocks adapter (base.py): its connection, table DDL and clocks."""

    database: str | None
    _clock: Callable[[], float]
    _sleep: Callable[[float], None]
    _utcnow: Callable[[], datetime]

    def qualified(self, table: str, database: str | None = None) -> str: ...

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> StatementResult: ...

    def primary_key_table_sql(self, spec: TableSpec, properties: dict[str, str] | None, *, if_not_exists: bool,
                              buckets: int | None = None) -> str: ...


class LockLost(DatabaseError):
    """The lease ran out and another run took the lock over (fencing on renew)."""


class DdlMutexLock(LockPrimitive):
    """A run lock made of one table: CREATE TABLE without IF NOT EXISTS succeeds for exactly one caller.

    The table's COMMENT holds the owner as JSON (host, pid, run_id, acquired_at, expires_at); a
    contender that finds the table reads it from information_schema.tables.TABLE_COMMENT. A lease
    that has run out is taken over: the contender re-reads the comment right before
    `DROP TABLE … FORCE` and drops only if it is still the expired one it saw, then tries CREATE once
    more. renew() moves expires_at forward with `ALTER TABLE … COMMENT = "…"` (3.1+) after checking the
    comment still names this run; release() drops the table only when the comment names this run.

    Remaining race (documented, not closed): two contenders that both saw the same expired comment
    can interleave as A re-reads, B re-reads, A drops, A creates, B drops (A's new table), B creates —
    both then believe they hold the lock. StarRocks has no compare-and-swap on DDL to prevent it. It
    needs a lease to expire (the holder stopped renewing) and two waiters within a few milliseconds;
    the loser finds out at its next renew(), which raises LockLost (fencing), so renew well inside the
    lease. Expiry compares the holder's expires_at with this host's UTC clock: keep clocks in sync.
    """

    needs_renewal = True

    def __init__(self, adapter: LockTableHost, name: str, *, lease_seconds: float,
                 properties: dict[str, str] | None = None) -> None:
        self.adapter = adapter
        self.name = validate_identifier(name, "lock table name")
        self.lease_seconds = float(lease_seconds)
        self.properties = properties

    @property
    def where(self) -> str:
        return self.adapter.qualified(self.name)

    def _stamp(self, owner: LockOwner, acquired_at: str | None = None) -> LockOwner:
        now = self.adapter._utcnow()
        return LockOwner(owner.host, owner.pid, owner.run_id,
                         acquired_at=acquired_at or owner.acquired_at or now.isoformat(timespec="seconds"),
                         expires_at=(now + timedelta(seconds=self.lease_seconds)).isoformat(timespec="seconds"))

    @staticmethod
    def _encode(owner: LockOwner) -> str:
        return json.dumps({"host": owner.host, "pid": owner.pid, "run_id": owner.run_id,
                           "acquired_at": owner.acquired_at, "expires_at": owner.expires_at},
                          separators=(",", ":"), sort_keys=True)

    @staticmethod
    def _decode(comment: str) -> LockOwner:
        try:
            data = json.loads(comment)
            return LockOwner(host=str(data["host"]), pid=int(data["pid"]), run_id=str(data["run_id"]),
                             acquired_at=str(data.get("acquired_at", "")), expires_at=str(data.get("expires_at", "")))
        except (ValueError, TypeError, KeyError):
            return LockOwner(host="unknown", pid=0, run_id=f"unreadable lock comment {comment!r}")

    def create_sql(self, owner: LockOwner) -> str:
        """The acquiring statement: CREATE TABLE (no IF NOT EXISTS) with the owner in its COMMENT."""
        spec = TableSpec(self.name, (Column("id", "INT", nullable=False),), ("id",), comment=self._encode(owner))
        return self.adapter.primary_key_table_sql(spec, self.properties, if_not_exists=False, buckets=1)

    def _comment(self) -> str | None:
        rows = self.adapter.query(
            "SELECT TABLE_COMMENT FROM information_schema.tables WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self.adapter.database, self.name))
        return show_text(rows[0][0]) if rows else None

    def _expired(self, holder: LockOwner) -> bool:
        if not holder.expires_at:
            return False
        try:
            until = datetime.fromisoformat(holder.expires_at)
        except ValueError:
            return False
        if until.tzinfo is None:
            until = until.replace(tzinfo=timezone.utc)
        return until <= self.adapter._utcnow()

    def _create(self, owner: LockOwner) -> bool:
        try:
            self.adapter.execute(self.create_sql(self._stamp(owner)))
            return True
        except OutcomeUnknown:
            raise
        except DatabaseError as exc:
            if is_already_exists(exc.errno, exc.message):
                return False
            raise

    def try_acquire(self, owner: LockOwner, wait_seconds: float) -> bool:
        """Create the lock table within wait_seconds (polling about once a second); take over an expired lease."""
        clock, sleep = self.adapter._clock, self.adapter._sleep
        deadline = clock() + max(0.0, wait_seconds)
        while True:
            if self._create(owner):
                return True
            comment = self._comment()
            if comment is None:
                if self._create(owner):  # released between our CREATE and the read
                    return True
            else:
                holder = self._decode(comment)
                if self._expired(holder) and self._comment() == comment:
                    self.adapter.execute(f"DROP TABLE IF EXISTS {self.where} FORCE")
                    if self._create(owner):
                        return True
            remaining = deadline - clock()
            if remaining <= 0:
                return False
            sleep(min(1.0, remaining))

    def holder(self) -> LockOwner | None:
        comment = self._comment()
        return None if comment is None else self._decode(comment)

    def renew(self, owner: LockOwner) -> None:
        """Extend the lease, after checking the lock is still ours (fencing)."""
        comment = self._comment()
        held = None if comment is None else self._decode(comment)
        if held is None or held.run_id != owner.run_id:
            who = "nobody (the lock table is gone)" if held is None else held.describe()
            raise LockLost(f"run lock {self.where} is no longer held by run {owner.run_id}: now {who}",
                           hint="The lease ran out before it was renewed. Stop this run; check what the other "
                                "run changed before going on.")
        fresh = self._stamp(owner, acquired_at=held.acquired_at)
        self.adapter.execute(f"ALTER TABLE {self.where} COMMENT = {sql_string(self._encode(fresh))}")

    def release(self, owner: LockOwner) -> None:
        """Drop the lock table if it names this run; leave someone else's lock alone."""
        held = self.holder()
        if held is not None and held.run_id == owner.run_id:
            self.adapter.execute(f"DROP TABLE IF EXISTS {self.where} FORCE")

    def force_release(self) -> LockOwner | None:
        """Drop the lock table whoever holds it; return who held it."""
        held = self.holder()
        if held is not None:
            self.adapter.execute(f"DROP TABLE IF EXISTS {self.where} FORCE")
        return held
