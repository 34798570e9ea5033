"""`rockway rehearse` on a real StarRocks: the warehouse from empty with `--env prod` against the suite's container
(conftest.py), and `--start-starrocks`, which starts and removes a container of its own.

Both rehearse the prod rendering (StarRocks DDL, MVs that must be active with a successful first refresh, the
jobs' catalog sources, whose target columns are checked) and must leave nothing named with their prefix.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.support.docker import require_docker  # noqa: E402

require_docker()

import pymysql  # noqa: E402

from tests.support.cli import run_cli  # noqa: E402
from tests.support.docker import STARROCKS_IMAGE  # noqa: E402
from tests.support.paths import REPO_ROOT  # noqa: E402
from tests.support.warehouse import copy_project  # noqa: E402

pytestmark = pytest.mark.starrocks


def _project(tmp_path: Path) -> Path:
    root = copy_project(tmp_path / "project")
    shutil.copytree(REPO_ROOT / "jobs", root / "jobs")
    return root


def _env(version: str) -> dict[str, str]:
    return {"ROCKWAY_ENV": "prod", "ROCKWAY_REPLICATION_NUM": "1", "ROCKWAY_VAR_REPLICATION_NUM": "1",
            "ROCKWAY_VAR_STARROCKS_VERSION": version, "ROCKWAY_ASYNC_TIMEOUT": "600", "ROCKWAY_POLL_INTERVAL": "1"}


def _cases(path: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(path).getroot()
    return {(s.get("name", ""), c.get("name", "")): c for s in root.findall("testsuite") for c in s.findall("testcase")}


def _prefix(out: str) -> str:
    return next(line.split("named ", 1)[1].rstrip("*").strip() for line in out.splitlines() if "named rh_" in line)


def test_the_warehouse_rehearses_on_starrocks(starrocks_server: Any, starrocks_dsn: str, tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = run_cli(root, "rehearse", "--dsn", starrocks_dsn, "--junit", str(tmp_path / "r.xml"),
                     env=_env(starrocks_server.version), timeout=1800)
    assert result.code == 0, result.out + result.err
    cases = _cases(tmp_path / "r.xml")
    assert not [key for key, case in cases.items() if case.find("failure") is not None]
    mvs = {name.rsplit(".", 1)[1] for suite, name in cases if suite == "materialized views"}
    assert mvs == {"mv_sales_daily", "mv_material_group_monthly"}
    conn = pymysql.connect(host=starrocks_server.host, port=starrocks_server.port, user="root", password="")
    try:
        with conn.cursor() as cur:
            cur.execute(f"SHOW DATABASES LIKE '{_prefix(result.out)}%'")
            assert cur.fetchall() == ()
    finally:
        conn.close()


def test_start_starrocks_runs_a_throwaway_server_and_removes_it(tmp_path: Path) -> None:
    import docker

    root = _project(tmp_path)
    client = docker.from_env()
    before = {c.id for c in client.containers.list(all=True, filters={"ancestor": STARROCKS_IMAGE})}
    version = STARROCKS_IMAGE.rsplit(":", 1)[1]
    result = run_cli(root, "rehearse", "--start-starrocks", STARROCKS_IMAGE, "--markdown", str(tmp_path / "r.md"),
                     env=_env(version), timeout=2400)
    assert result.code == 0, result.out + result.err
    assert "rehearse: removing the" in result.err
    after = {c.id for c in client.containers.list(all=True, filters={"ancestor": STARROCKS_IMAGE})}
    assert after <= before  # the container it started is gone
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("## rockway rehearse: passed")
