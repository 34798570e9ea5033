"""Reference data on MariaDB: the LOAD CSV seed end to end through `migrate up`, and the loader checking a CSV
while LOAD DATA reads it (the checks without a server: tests/unit/test_refdata.py).

Decision: a CSV with a header and no data rows is an error (line 2): a seed never empties a table.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rockway.adapters.bulk import PendingLoad
from rockway.adapters.mysql.bulk import MySQLBulk
from rockway.config import Settings, parse_dsn
from rockway.errors import DatabaseError, InputError
from rockway.model import Statement
from rockway.refdata import loader as refdata
from tests.support.refdata import DDL, GOOD, GOOD_ROWS, HEADER, MANIFEST, SEED, write_ref


# --- MariaDB end to end ----------------------------------------------------------------------------

@pytest.fixture
def seeded(project, cli, sql):  # type: ignore[no-untyped-def]
    write_ref(project.root, GOOD)
    project.migration("V1__dim_x.sql", DDL)
    project.repeatable("R__seed_x.sql", SEED)
    r = cli("migrate", "up")
    assert r.code == 0, r.err + r.out
    return project


def rows(sql) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in sql("SELECT code, name, price, since, changed_at, active FROM dim_x ORDER BY code")]


def side_tables(sql) -> list[str]:  # type: ignore[no-untyped-def]
    return [r[0] for r in sql("SHOW TABLES") if "__rw_" in r[0]]


def test_migrate_up_loads_the_csv(seeded, cli, sql) -> None:  # type: ignore[no-untyped-def]
    assert rows(sql) == GOOD_ROWS
    assert side_tables(sql) == []
    history = sql("SELECT script, status, statements_total FROM rockway_schema_history WHERE script LIKE 'repeatable/%'")
    assert history == [("repeatable/R__seed_x.sql", "success", 1)]
    render = cli("migrate", "render", "R__seed_x.sql")
    assert render.code == 0 and "ROCKWAY LOAD CSV 'dim_x.csv' INTO dim_x;" in render.out


def test_editing_the_csv_reruns_the_seed(seeded, cli, sql) -> None:  # type: ignore[no-untyped-def]
    assert "up to date" in cli("migrate", "up").out
    csv_path = seeded.root / "reference-data" / "dim_x.csv"
    csv_path.write_text(GOOD.replace("Alpha", "Alpha v2") + "4,C:\\N\\delta,1.00,2024-03-01,,FALSE\n", encoding="utf-8")
    info = {i["description"]: i["state"] for i in json.loads(cli("migrate", "info", "--json").out)}
    assert info["seed x"] == "outdated"
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    got = rows(sql)
    assert len(got) == 4 and got[0][1] == "Alpha v2"
    assert got[3] == (4, "C:\\N\\delta", Decimal("1.00"), date(2024, 3, 1), None, 0)
    assert side_tables(sql) == []


def test_bom_crlf_and_the_word_null_load_as_written(seeded, cli, sql) -> None:  # type: ignore[no-untyped-def]
    csv_path = seeded.root / "reference-data" / "dim_x.csv"
    csv_path.write_bytes(("\ufeff" + GOOD.replace("\n", "\r\n")).encode("utf-8"))
    (seeded.root / "repeatable" / "R__seed_x.sql").write_text(SEED + "-- again\n", encoding="utf-8")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert rows(sql) == GOOD_ROWS
    csv_path.write_text(GOOD + "4,NULL,,,,1\n", encoding="utf-8")
    r = cli("migrate", "up")
    assert r.code == 0, r.err
    assert rows(sql)[3] == (4, "NULL", None, None, None, 1)


def test_a_bad_csv_edit_fails_before_anything_and_keeps_the_old_rows(seeded, cli, sql) -> None:  # type: ignore[no-untyped-def]
    before = rows(sql)
    history_before = sql("SELECT installed_rank, status FROM rockway_schema_history ORDER BY installed_rank")
    csv_path = seeded.root / "reference-data" / "dim_x.csv"
    csv_path.write_text(GOOD + "4,Delta,1.00,2024-02-30,,false\n", encoding="utf-8")
    r = cli("migrate", "up")
    assert r.code == 2, r.err
    assert "reference-data/dim_x.csv:5:" in r.err and "2024-02-30" in r.err
    assert rows(sql) == before
    assert side_tables(sql) == []
    assert sql("SELECT installed_rank, status FROM rockway_schema_history ORDER BY installed_rank") == history_before
    csv_path.write_text(GOOD + "2,Dup,,,,1\n", encoding="utf-8")
    r = cli("migrate", "up")
    assert r.code == 2 and "reference-data/dim_x.csv:5: duplicate key (code=2) (first on line 3)" in r.err
    assert rows(sql) == before


def test_a_server_side_failure_drops_the_staging_table_and_keeps_the_target(seeded, cli, sql) -> None:  # type: ignore[no-untyped-def]
    before = rows(sql)
    # the table takes 20 characters but the manifest now allows 40: LOAD DATA warns (LOCAL implies IGNORE)
    manifest = seeded.root / "reference-data" / "dim_x.yaml"
    manifest.write_text(MANIFEST.replace("VARCHAR(20)", "VARCHAR(40)"), encoding="utf-8")
    (seeded.root / "reference-data" / "dim_x.csv").write_text(GOOD + "4,A name longer than twenty,,,,1\n",
                                                               encoding="utf-8")
    r = cli("migrate", "up")
    assert r.code == 1, r.err
    assert "reported 1 warning(s)" in r.err and "Data truncated for column 'name' at row 4" in r.err
    assert rows(sql) == before
    assert side_tables(sql) == []


def test_manifest_and_table_must_have_the_same_columns(project, cli, sql) -> None:  # type: ignore[no-untyped-def]
    write_ref(project.root, GOOD)
    project.migration("V1__dim_x.sql", DDL.replace(", active BOOLEAN NOT NULL", ", is_active BOOLEAN NOT NULL"))
    project.repeatable("R__seed_x.sql", SEED)
    r = cli("migrate", "up")
    assert r.code == 1
    assert "reference-data/dim_x.yaml" in r.err and "differ from table" in r.err
    assert "missing in the table: active" in r.err and "not in the manifest: is_active" in r.err
    assert sql("SELECT COUNT(*) FROM dim_x") == [(0,)]
    assert side_tables(sql) == []


def test_missing_table_says_to_create_it_in_a_migration(project, db_dsn, sql) -> None:  # type: ignore[no-untyped-def]
    from rockway.adapters import connect_dsn

    path = write_ref(project.root, GOOD)
    manifest = refdata.load_manifest(path, project.root)
    adapter = connect_dsn(parse_dsn(db_dsn))
    try:
        with pytest.raises(InputError) as info:
            refdata.load_reference_csv(adapter, path, manifest, display="reference-data/dim_x.csv")
        assert "does not exist; create it in a V migration first" in str(info.value)
        assert "CREATE TABLE" in str(info.value) and "`code` INT NOT NULL" in str(info.value)
        sql(DDL)
        progress: list[str] = []
        stmt = Statement(1, "ROCKWAY LOAD CSV 'dim_x.csv' INTO dim_x", 1)
        result = refdata.handle_load_csv(adapter, stmt, Settings(project_dir=project.root), progress.append)
        assert result.rowcount == 3 and result.async_jobs == ()
        assert any("LOAD DATA LOCAL INFILE: 3 rows" in p for p in progress)
        assert rows(sql) == GOOD_ROWS
        wrong = Statement(1, "ROCKWAY LOAD CSV 'dim_x.csv' INTO other", 1)
        with pytest.raises(InputError, match="manifest's table is dim_x"):
            refdata.handle_load_csv(adapter, wrong, Settings(project_dir=project.root), progress.append)
    finally:
        adapter.close()


def test_load_into_another_database(project, db_dsn, sql) -> None:  # type: ignore[no-untyped-def]
    from rockway.adapters import connect_dsn

    other = parse_dsn(db_dsn).database + "_dw"
    sql(f"CREATE DATABASE `{other}`")
    try:
        sql(DDL.replace("CREATE TABLE dim_x", f"CREATE TABLE `{other}`.dim_x"))
        write_ref(project.root, GOOD)
        adapter = connect_dsn(parse_dsn(db_dsn))
        try:
            stmt = Statement(1, f"ROCKWAY LOAD CSV 'dim_x.csv' INTO {other}.dim_x", 1)
            assert refdata.handle_load_csv(adapter, stmt, Settings(project_dir=project.root), lambda m: None).rowcount == 3
        finally:
            adapter.close()
        assert [tuple(r) for r in sql(f"SELECT code, name, price, since, changed_at, active FROM `{other}`.dim_x"
                                      " ORDER BY code")] == GOOD_ROWS
        assert not [r for r in sql(f"SHOW TABLES FROM `{other}`") if "__rw_" in r[0]]
    finally:
        sql(f"DROP DATABASE IF EXISTS `{other}`")


# --- MariaDB: loading while checking, and the row count from LOAD DATA's own report -----------------

class SpyBulk(MySQLBulk):
    """MySQLBulk that records what it was asked to do (and can hold the staging table locked)."""

    def __init__(self, adapter: Any, *, lock_staging: Any = None, finish_load_first: bool = False) -> None:
        super().__init__(adapter)
        self.events: list[str] = []
        self.kills: list[int] = []
        self.pending: PendingLoad | None = None
        self.lock_staging = lock_staging  # a pymysql connection: LOCK TABLES <staging> WRITE until drop()
        self.finish_load_first = finish_load_first  # start_load returns only after the load has ended

    def create_staging(self, database: str | None, target: str, staging: str) -> None:
        self.events.append("create_staging")  # (its DROP TABLE IF EXISTS of a leftover is not recorded)
        self._creating = True
        try:
            super().create_staging(database, target, staging)
        finally:
            self._creating = False
        if self.lock_staging is not None:
            with self.lock_staging.cursor() as cur:
                cur.execute(f"LOCK TABLES `{staging}` WRITE")

    def start_load(self, *a: Any, **kw: Any) -> PendingLoad:
        self.events.append("start_load")
        self.pending = super().start_load(*a, **kw)
        if self.lock_staging is not None:  # wait until the LOAD DATA waits for the lock on the server
            for _ in range(500):
                session = self.pending._session
                if session is not None:
                    with self.lock_staging.cursor() as cur:
                        cur.execute("SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %s", (session,))
                        if "lock" in str(cur.fetchall()).lower():
                            break
                threading.Event().wait(0.01)
        if self.finish_load_first:
            while not self.pending.done():
                self.pending._thread.join(0.05)
        return self.pending

    def load_file(self, *a: Any, **kw: Any) -> Any:
        outcome = super().load_file(*a, **kw)
        self.events.append(f"loaded {outcome.rows} exact={outcome.exact}")
        return outcome

    def kill_query(self, connection_id: int) -> None:
        self.kills.append(connection_id)
        super().kill_query(connection_id)

    def count(self, database: str | None, table: str) -> int:
        self.events.append("COUNT(*)")
        return super().count(database, table)

    def drop(self, database: str | None, table: str) -> None:
        if self.lock_staging is not None:
            with self.lock_staging.cursor() as cur:
                cur.execute("UNLOCK TABLES")
        if not getattr(self, "_creating", False):
            self.events.append(f"drop {table}")
        super().drop(database, table)


def _big(n: int, bad_row: int | None = None, bad: str = "{i},late,1.00,2024-02-30,,true\n") -> str:
    """n data rows in csvcheck's strict subset (so the CSV itself is loaded while it is checked)."""
    parts = [HEADER]
    for i in range(1, n + 1):
        parts.append(bad.format(i=i) if i == bad_row else
                     f"{i},name {i},{i % 997}.25,2024-01-{i % 28 + 1:02d},2024-03-01 10:00:00,{'true' if i % 3 else 'false'}\n")
    return "".join(parts)


@pytest.fixture
def adapter(db_dsn):  # type: ignore[no-untyped-def]
    from rockway.adapters import connect_dsn

    a = connect_dsn(parse_dsn(db_dsn))
    try:
        yield a
    finally:
        a.close()


def _load(adapter: Any, root: Path, bulk: SpyBulk, **kw: Any) -> refdata.LoadResult:
    path = root / "reference-data" / "dim_x.csv"
    manifest = refdata.load_manifest(path, root)
    return refdata.load_reference_csv(adapter, path, manifest, display="reference-data/dim_x.csv", bulk=bulk, **kw)


def test_a_bad_row_near_the_end_of_a_big_csv_stops_the_load_and_keeps_the_target(seeded, adapter, sql) -> None:  # type: ignore[no-untyped-def]
    before = rows(sql)
    write_ref(seeded.root, _big(200_000, bad_row=199_990))
    bulk = SpyBulk(adapter)
    with pytest.raises(InputError) as info:
        _load(adapter, seeded.root, bulk)
    assert str(info.value).startswith("reference-data/dim_x.csv:199991: column since: '2024-02-30' is not a valid date"), \
        str(info.value)
    assert info.value.exit_code == 2
    assert bulk.events[:2] == ["create_staging", "start_load"]  # the load ran while the file was checked…
    assert bulk.pending is not None and bulk.pending.done()  # …and was stopped (or had ended) before the drop
    assert bulk.events[-1] == "drop dim_x__rw_stage"
    assert rows(sql) == before
    assert side_tables(sql) == []
    # the same file without the bad row loads, counted by LOAD DATA's own report (no COUNT(*))
    write_ref(seeded.root, _big(200_000))
    bulk = SpyBulk(adapter)
    assert _load(adapter, seeded.root, bulk).rows == 200_000
    assert "loaded 200000 exact=True" in bulk.events and "COUNT(*)" not in bulk.events
    assert sql("SELECT COUNT(*), MAX(code) FROM dim_x") == [(200_000, 200_000)]
    assert side_tables(sql) == []


def test_a_failed_check_kills_a_running_load(seeded, adapter, sql, db_dsn) -> None:  # type: ignore[no-untyped-def]
    import pymysql

    before = rows(sql)
    write_ref(seeded.root, _big(2_000, bad_row=1_990))
    p = parse_dsn(db_dsn)
    locker = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password or "", database=p.database,
                             autocommit=True)
    try:  # the staging table is locked, so the LOAD DATA is certainly still running when the check fails
        bulk = SpyBulk(adapter, lock_staging=locker)
        with pytest.raises(InputError, match=r"^reference-data/dim_x.csv:1991: column since"):
            _load(adapter, seeded.root, bulk)
    finally:
        locker.close()
    assert bulk.kills and bulk.pending is not None and bulk.pending.done()
    with pytest.raises(DatabaseError, match="1317"):  # Query execution was interrupted
        bulk.pending.wait()
    assert rows(sql) == before
    assert side_tables(sql) == []


def test_the_check_error_wins_over_a_failed_load(seeded, adapter, sql) -> None:  # type: ignore[no-untyped-def]
    before = rows(sql)
    # the table takes 20 characters, the manifest 40: the load warns; the check finds a bad date later on
    (seeded.root / "reference-data" / "dim_x.yaml").write_text(MANIFEST.replace("VARCHAR(20)", "VARCHAR(40)"),
                                                               encoding="utf-8")
    write_ref(seeded.root, _big(3_000, bad_row=2_500).replace("1,name 1,", "1,a name longer than twenty,", 1),
              MANIFEST.replace("VARCHAR(20)", "VARCHAR(40)"))
    bulk = SpyBulk(adapter, finish_load_first=True)  # the load has failed before the check even starts
    with pytest.raises(InputError, match=r"^reference-data/dim_x.csv:2501: column since"):
        _load(adapter, seeded.root, bulk)
    with pytest.raises(DatabaseError, match="reported 2 warning.*column 'name' at row 1.*column 'since' at row 2500"):
        assert bulk.pending is not None
        bulk.pending.wait()
    assert rows(sql) == before and side_tables(sql) == []
    # without the bad date, the load's own error is the one reported
    write_ref(seeded.root, _big(3_000).replace("1,name 1,", "1,a name longer than twenty,", 1),
              MANIFEST.replace("VARCHAR(20)", "VARCHAR(40)"))
    with pytest.raises(DatabaseError, match="reported 1 warning"):
        _load(adapter, seeded.root, SpyBulk(adapter))
    assert rows(sql) == before and side_tables(sql) == []


def test_a_csv_outside_the_strict_subset_is_reloaded_from_the_plain_file(seeded, adapter, sql) -> None:  # type: ignore[no-untyped-def]
    write_ref(seeded.root, _big(3_000, bad_row=2_000, bad="{i},NULL,,,,1\n"))  # MySQL would read a bare NULL as NULL
    bulk = SpyBulk(adapter)
    progress: list[str] = []
    assert _load(adapter, seeded.root, bulk, on_progress=progress.append).rows == 3_000
    assert sql("SELECT name FROM dim_x WHERE code = 2000") == [("NULL",)]
    assert bulk.events.count("create_staging") == 2 and "COUNT(*)" not in bulk.events
    assert any("not loadable as it is" in m for m in progress)
    assert side_tables(sql) == []


def test_without_overlap_the_check_runs_before_any_sql(seeded, adapter, sql) -> None:  # type: ignore[no-untyped-def]
    before = rows(sql)
    write_ref(seeded.root, _big(500, bad_row=400))
    bulk = SpyBulk(adapter)
    with pytest.raises(InputError, match=":401: "):
        _load(adapter, seeded.root, bulk, overlap=False)
    assert bulk.events == [] and rows(sql) == before
    write_ref(seeded.root, _big(500))
    assert _load(adapter, seeded.root, bulk, overlap=False).rows == 500
    assert bulk.events[:2] == ["create_staging", "loaded 500 exact=True"] and "COUNT(*)" not in bulk.events


def test_a_load_report_that_is_not_exact_falls_back_to_count(seeded, adapter, sql) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace as dc_replace

    class Vague(SpyBulk):
        def load_file(self, *a: Any, **kw: Any) -> Any:  # e.g. a server that sends no "Records: …" info line
            return dc_replace(super().load_file(*a, **kw), exact=False)

    bulk = Vague(adapter)
    assert _load(adapter, seeded.root, bulk).rows == 3
    assert "COUNT(*)" in bulk.events
    assert rows(sql) == GOOD_ROWS


def test_a_bad_csv_and_a_missing_table_report_the_csv_first(project, adapter) -> None:  # type: ignore[no-untyped-def]
    write_ref(project.root, GOOD + "4,x,,2024-02-30,,1\n")
    with pytest.raises(InputError, match=r"dim_x.csv:5: column since"):
        _load(adapter, project.root, SpyBulk(adapter))
