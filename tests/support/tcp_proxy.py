"""A threaded TCP proxy to a real server that tests can cut: every open connection is closed at once.

    proxy = TcpProxy(("127.0.0.1", 3306)).start()
    dsn = f"mysql://root@127.0.0.1:{proxy.port}/db"
    proxy.cut_after(50_000)   # cut every connection once 50 kB more have gone through (either direction)
    proxy.cut()               # cut now
New connections are accepted after a cut; only the ones open at that moment break.
"""

from __future__ import annotations

import socket
import threading
from typing import Any


class TcpProxy:
    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(64)
        self.host, self.port = self._listener.getsockname()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stopped = threading.Event()
        self.bytes = 0  # forwarded so far, both directions
        self._cut_at: int | None = None
        self.cuts = 0
        self.accepted = 0

    def start(self) -> "TcpProxy":
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._pairs.append((client, upstream))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                fire = False
                with self._lock:
                    self.bytes += len(data)
                    if self._cut_at is not None and self.bytes >= self._cut_at:
                        self._cut_at = None
                        fire = True
                if fire:
                    self.cut()
                    return
        except OSError:
            pass
        finally:
            self._close_pair(src, dst)

    def _close_pair(self, a: socket.socket, b: socket.socket) -> None:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        with self._lock:
            self._pairs = [p for p in self._pairs if p[0] is not a and p[0] is not b]

    def cut(self) -> int:
        """Close every open connection (both sides); return how many were cut."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.cuts += 1
        for client, upstream in pairs:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass
        return len(pairs)

    def cut_after(self, more_bytes: int) -> None:
        """Cut every open connection once `more_bytes` more bytes have been forwarded."""
        with self._lock:
            self._cut_at = self.bytes + max(1, more_bytes)

    def disarm(self) -> bool:
        """Cancel a pending cut_after; True when it had not fired."""
        with self._lock:
            pending = self._cut_at is not None
            self._cut_at = None
            return pending

    def close(self) -> None:
        self._stopped.set()
        try:
            self._listener.close()
        except OSError:
            pass
        self.cut()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
