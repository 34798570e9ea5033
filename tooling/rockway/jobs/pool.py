"""A bounded pool of connections, each a clone of one adapter: one per concurrently running job.

Every statement sent on a pooled connection is traced (`spans.statement_span`: a CLIENT span with db.*
attributes and redacted query text, plus the db.client.operation.duration metric), so a job's or a pipeline
step's statements appear in the trace under its span, whichever thread runs it. Statements are numbered
(`rockway.statement.index`) from 1 within the innermost `statement_numbering()` block: per job run and per
pipeline step.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from rockway.observability import spans
from rockway.adapters.base import Adapter, StatementResult

_NUMBERING: contextvars.ContextVar[Iterator[int] | None] = contextvars.ContextVar("rockway_statement_numbering",
                                                                                  default=None)


@contextmanager
def statement_numbering() -> Iterator[None]:
    """Number the statements traced inside the block 1, 2, … (their `rockway.statement.index`)."""
    token = _NUMBERING.set(itertools.count(1))
    try:
        yield
    finally:
        _NUMBERING.reset(token)


def trace_statements(adapter: Adapter) -> Adapter:
    """Make every statement on this connection a statement span (execute, executemany, and what calls them:
    query, run_statement, the job operations). Patches the instance, so its type and other methods stay as
    they are; returns it. A connection already traced is left alone."""
    if getattr(adapter, "_rockway_traced", False):
        return adapter
    own = itertools.count(1)  # outside any statement_numbering() block
    execute, executemany = adapter.execute, adapter.executemany

    def index() -> int:
        return next(_NUMBERING.get() or own)

    def traced_execute(sql: str, params: Sequence[Any] | None = None) -> StatementResult:
        with spans.statement_span(adapter, index(), sql):
            return execute(sql, params)

    def traced_executemany(sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with spans.statement_span(adapter, index(), sql) as current:
            current.set_attribute("db.operation.batch.size", len(rows))
            return executemany(sql, rows)

    setattr(adapter, "execute", traced_execute)
    setattr(adapter, "executemany", traced_executemany)
    setattr(adapter, "_rockway_traced", True)
    return adapter


class Pool:
    """At most `size` connections out at once; broken ones are discarded, not reused."""

    def __init__(self, template: Adapter, size: int, *, on_open: Callable[[Adapter], None] | None = None,
                 timeout: float | None = None, traced: bool = True) -> None:
        self.template = template
        self.size = max(1, size)
        self.on_open = on_open
        self.timeout = timeout
        self.traced = traced
        self._slots = threading.BoundedSemaphore(self.size)
        self._idle: list[Adapter] = []
        self._lock = threading.Lock()
        self.opened = 0

    def get(self) -> Adapter:
        """Take a slot (waiting up to timeout) and an idle connection or a new clone."""
        if not self._slots.acquire(timeout=self.timeout):
            raise TimeoutError(f"no connection free in the pool of {self.size} within {self.timeout}s")
        try:
            with self._lock:
                adapter = self._idle.pop() if self._idle else None
            if adapter is None:
                adapter = self.template.clone()
                if self.traced:
                    trace_statements(adapter)
                with self._lock:
                    self.opened += 1
                if self.on_open is not None:
                    self.on_open(adapter)
            return adapter
        except BaseException:
            self._slots.release()
            raise

    def put(self, adapter: Adapter) -> None:
        with self._lock:
            self._idle.append(adapter)
        self._slots.release()

    def discard(self, adapter: Adapter) -> None:
        adapter.close()
        self._slots.release()

    @contextmanager
    def connection(self) -> Iterator[Adapter]:
        adapter = self.get()
        try:
            yield adapter
        except BaseException:
            self.discard(adapter)
            raise
        else:
            self.put(adapter)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for adapter in idle:
            adapter.close()
