#!/usr/bin/env python3
"""Opening a connection: rockway's `open_connection` vs a plain `pymysql.connect` with the same arguments.

    python bench/bench_connect.py [--server mysql://root@127.0.0.1:3306] [--repeats 30]

Both open and close one connection per repeat, interleaved, in the default TLS mode (`preferred`): TLS when
the server offers it. pymysql builds `ssl.create_default_context()` for every connection in that mode, which
loads the system's CA store although the mode never verifies a certificate; rockway shares one unverified
context. `ssl_mode=disabled` (no TLS context at all) is shown for reference. The medians are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tooling"))  # measure this checkout's rockway, whatever is installed

from rockway.adapters.connection import Timeouts, open_connection  # noqa: E402
from rockway.config import parse_dsn  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("ROCKWAY_TEST_DSN", "mysql://root@127.0.0.1:3306"))
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    dsn = parse_dsn(args.server)
    disabled = parse_dsn(args.server.split("?")[0] + "?ssl_mode=disabled")
    timeouts = Timeouts()

    def plain_pymysql() -> None:
        pymysql.connect(host=dsn.host, port=dsn.port, user=dsn.user, password=dsn.password or "", autocommit=True,
                        charset="utf8mb4", connect_timeout=10, read_timeout=timeouts.read,
                        write_timeout=timeouts.write).close()

    variants: dict[str, Callable[[], None]] = {
        "pymysql.connect (preferred TLS)": plain_pymysql,
        "rockway open_connection (preferred TLS)": lambda: open_connection(dsn, timeouts).close(),
        "rockway open_connection (ssl_mode=disabled)": lambda: open_connection(disabled, timeouts).close(),
    }
    for fn in variants.values():  # warm imports and the shared context, unmeasured
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    print(f"server: {args.server}, python {sys.version.split()[0]}, nproc {os.cpu_count()}; "
          f"{args.repeats} interleaved repeats, median")
    med = {name: statistics.median(v) for name, v in times.items()}
    for name, value in med.items():
        print(f"{name:<46} {value * 1000:8.2f} ms")
    base = med["pymysql.connect (preferred TLS)"]
    ours = med["rockway open_connection (preferred TLS)"]
    print(f"pymysql.connect / rockway open_connection = {base / ours:.1f}x ({(base - ours) * 1000:.1f} ms saved per connection)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
