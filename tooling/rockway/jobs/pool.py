"""A bounded pool of connections, each a clone of one adapter: one per concurrently running job."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from ..adapters.base import Adapter


class Pool:
    """At most `size` connections out at once; broken ones are discarded, not reused."""

    def __init__(self, template: Adapter, size: int, *, on_open: Callable[[Adapter], None] | None = None,
                 timeout: float | None = None) -> None:
        self.template = template
        self.size = max(1, size)
        self.on_open = on_open
        self.timeout = timeout
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
