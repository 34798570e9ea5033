"""The run lock: one `migrate up` (or pipeline) per database at a time."""

from __future__ import annotations

import threading
import time
from typing import Callable

from rockway.adapters.base import Adapter, LockOwner, LockPrimitive
from rockway.config import Settings
from rockway.errors import LockHeld, RockwayError
from rockway.migrate.history import table_properties

WaitCallback = Callable[[LockOwner | None, float], None]


class RunLock:
    """Acquire an engine lock within a timeout, name the holder when it cannot, renew leases while held."""

    def __init__(self, adapter: Adapter, name: str, owner: LockOwner, *, timeout: float, lease: float = 900.0,
                 properties: dict[str, str] | None = None, on_wait: WaitCallback | None = None) -> None:
        self.adapter = adapter
        self.name = name
        self.owner = owner
        self.timeout = timeout
        self.lease = lease
        self.properties = properties
        self.on_wait = on_wait
        self.primitive: LockPrimitive = adapter.lock_primitive(name, lease_seconds=lease, properties=properties)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._renew_error: BaseException | None = None
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise LockHeld (exit 4) naming the holder."""
        deadline = time.monotonic() + max(0.0, self.timeout)
        wait = 0.0  # first a quick try, so a waiting run says so at once
        while True:
            if self.primitive.try_acquire(self.owner, wait):
                self.held = True
                break
            remaining = deadline - time.monotonic()
            holder = self.primitive.holder()
            if remaining <= 0:
                who = holder.describe() if holder else "another session (it may just have finished)"
                raise LockHeld(f"lock {self.name!r} is held by {who}; gave up after {self.timeout:g} s",
                               hint="Wait for that run to finish, raise --lock-timeout, or inspect it with"
                                    " `rockway lock status`; `rockway lock release` removes a stale lock.")
            if self.on_wait:
                self.on_wait(holder, remaining)
            wait = max(0.0, min(remaining, 5.0))
        if self.primitive.needs_renewal:
            self._start_renewal()

    def _start_renewal(self) -> None:
        twin = self.adapter.clone()
        primitive = twin.lock_primitive(self.name, lease_seconds=self.lease, properties=self.properties)

        def renew() -> None:
            try:
                while not self._stop.wait(max(1.0, self.lease / 3)):
                    primitive.renew(self.owner)
            except BaseException as exc:  # noqa: BLE001 - reported by check()
                self._renew_error = exc
            finally:
                twin.close()

        self._renewer = threading.Thread(target=renew, name="rockway-lock-renewal", daemon=True)
        self._renewer.start()

    def check(self) -> None:
        """Raise if lease renewal failed (another run may have taken over): stop before writing more."""
        if self._renew_error is not None:
            raise LockHeld(f"lost lock {self.name!r}: {self._renew_error}")

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        if self.held:
            self.held = False
            try:
                self.primitive.release(self.owner)
            except RockwayError:
                pass  # the connection may be gone; session locks die with it, leases expire

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_name(history_table: str) -> str:
    """The lock guarding one history table."""
    return f"{history_table}_lock"


def run_lock(adapter: Adapter, name: str, settings: Settings, run_id: str, *, properties: dict[str, str] | None = None,
             on_wait: WaitCallback | None = None) -> RunLock:
    """The lock `name` for this run, with the configured timeout and lease (lock_timeout, lock_lease)."""
    return RunLock(adapter, name, LockOwner.here(run_id), timeout=settings.lock_timeout, lease=settings.lock_lease,
                   properties=properties, on_wait=on_wait)


def migration_lock(adapter: Adapter, settings: Settings, run_id: str, *,
                   on_wait: WaitCallback | None = None) -> RunLock:
    """The lock of the history table: one `migrate` command that writes runs per database at a time."""
    return run_lock(adapter, lock_name(settings.history_table), settings, run_id, properties=table_properties(settings),
                    on_wait=on_wait)


def migration_lock_primitive(adapter: Adapter, settings: Settings) -> LockPrimitive:
    """The engine lock under migration_lock, for `rockway lock status` and `lock release` (no owner of their own)."""
    return adapter.lock_primitive(lock_name(settings.history_table), lease_seconds=settings.lock_lease,
                                  properties=table_properties(settings))
