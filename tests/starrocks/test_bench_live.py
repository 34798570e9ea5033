"""bench/bench_verify.py on a real StarRocks (allin1 container; conftest.py), at a small size.

What this checks: the StarRocks table and fill statements the benchmark ships (DUPLICATE KEY table,
INSERT … SELECT FROM TABLE(generate_series(…)) with seconds_sub/days_sub) run as written, the checks pass on
the generated data, and the benchmark reports both ratios, so `--server starrocks://…` gives real numbers
wherever a StarRocks runs.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

from tests.support.docker import require_docker  # noqa: E402
from tests.support.paths import REPO_ROOT

require_docker()

pytestmark = pytest.mark.starrocks
BENCH = REPO_ROOT / "bench" / "bench_verify.py"


def _load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_verify", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verify_benchmark_runs_on_starrocks(starrocks_server, capsys):
    bench = _load_bench()
    server = f"starrocks://root@{starrocks_server.host}:{starrocks_server.port}"
    assert bench.main(["--server", server, "--rows", "30000", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert f"(StarRocks {starrocks_server.version})" in out
    assert "filled rw_bench_verify.facts with 30,000 rows" in out
    assert re.search(r"rockway / COUNT\(\*\)\s+= \d+\.\d\dx", out)
    assert re.search(r"one-per-check / rockway\s+= \d+\.\d\dx", out)
