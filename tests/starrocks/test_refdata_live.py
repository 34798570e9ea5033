"""The two real reference CSVs loaded into a real StarRocks through Stream Load (allin1 container; conftest.py).

What this checks that the fake FE/BE and replay tests cannot: the FE really redirects to the BE and the BE
accepts the request rockway sends (Expect, label, columns, `\\x09` separator, strict mode, `\\N`), CREATE
TABLE … LIKE / ALTER TABLE … SWAP WITH / DROP TABLE … FORCE run as written, and the rows arrive as typed.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from tests.support.docker import STARROCKS_IMAGE, require_docker  # noqa: E402
from tests.support.paths import REPO_ROOT as ROOT

require_docker()

from rockway.refdata import loader as refdata
from rockway.adapters.starrocks.stream_load import StarRocksBulk, StreamLoadClient  # noqa: E402

pytestmark = pytest.mark.starrocks

IMAGE = STARROCKS_IMAGE


def _be_rewrite(server: Any) -> Callable[[str], str] | None:
    """The FE redirects to the BE's own address (port 8040 inside the container): point it at the mapped port."""
    import docker

    client = docker.from_env()
    try:
        for container in client.containers.list(filters={"ancestor": IMAGE}):
            fe = container.ports.get("8030/tcp") or []
            be = container.ports.get("8040/tcp") or []
            if be and any(int(p["HostPort"]) == server.http_port for p in fe):
                port = int(be[0]["HostPort"])
                return lambda url: urlsplit(url)._replace(netloc=f"{server.host}:{port}").geturl()
    finally:
        client.close()
    return None


def _typed(value: str, type_: str) -> Any:
    if value == "":
        return None
    base = type_.split("(")[0]
    if base in ("TINYINT", "SMALLINT", "INT", "BIGINT"):
        return int(value)
    if base == "DECIMAL":
        return Decimal(value)
    if base == "DATE":
        return date.fromisoformat(value)
    if base == "DATETIME":
        return datetime.fromisoformat(value)
    if base == "BOOLEAN":
        return 1 if value.lower() in ("1", "true") else 0
    return value


def _db_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


@pytest.mark.parametrize("name", ["dim_material_mapper.csv", "dim_sales_group_code.csv"])
def test_real_reference_csv_loads_through_stream_load_and_swap(starrocks_adapter: Any, starrocks_server: Any,
                                                               name: str) -> None:
    a = starrocks_adapter
    path = ROOT / "reference-data" / name
    manifest = refdata.load_manifest(path, ROOT)
    manifest = replace(manifest, table=f"{manifest.table}_{uuid.uuid4().hex[:8]}")
    a.execute(a.create_table_sql(manifest.table_spec()))
    client = StreamLoadClient(starrocks_server.host, starrocks_server.http_port, "root", "", timeout=600,
                              rewrite_redirect=_be_rewrite(starrocks_server))
    progress: list[str] = []

    def load() -> refdata.LoadResult:
        bulk = StarRocksBulk(a, client=client, timeout=600, poll_interval=1)
        return refdata.load_reference_csv(a, path, manifest, display=f"reference-data/{name}",
                                          on_progress=progress.append, bulk=bulk)

    with open(path, encoding="utf-8", newline="") as fh:
        expected_rows = list(csv.reader(fh))[1:]
    first = load()
    assert first.rows == len(expected_rows) and first.method == "Stream Load" and first.label
    order = ", ".join(f"`{k}`" for k in manifest.key)
    got = [tuple(_db_value(v) for v in r) for r in a.query(f"SELECT * FROM {a.qualified(manifest.table)} ORDER BY {order}")]
    expected = sorted((tuple(_typed(v, c.type) for v, c in zip(r, manifest.columns)) for r in expected_rows),
                      key=lambda r: tuple(r[manifest.names.index(k)] for k in manifest.key))
    assert got == expected
    second = load()  # same file again: a new label, a second staging table, swapped in
    assert second.rows == first.rows and second.label != first.label
    assert a.query(f"SELECT COUNT(*) FROM {a.qualified(manifest.table)}") == [(len(expected_rows),)]
    leftovers = [r[0] for r in a.query("SHOW TABLES") if str(r[0]).startswith(manifest.table + "__rw_")]
    assert leftovers == []
    a.execute(f"DROP TABLE IF EXISTS {a.qualified(manifest.table)} FORCE")
