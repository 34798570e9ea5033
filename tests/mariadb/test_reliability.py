"""Reliability on a real MariaDB: concurrent runs, and SIGKILL at random points with journal-guided recovery."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.cli import Project, run_cli

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from rockway.cli.main import main; main()"]


def _env(dsn: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env.update({"ROCKWAY_DSN": dsn, "ROCKWAY_LOCK_TIMEOUT": "180"}, **extra)
    return env


def test_eight_concurrent_runs_apply_each_migration_exactly_once(project: Project, sql):
    project.migration("V1__log.sql", "CREATE TABLE applied_log (v INT NOT NULL);\n")
    for i in range(2, 31):
        project.migration(f"V{i}__step_{i}.sql",
                          f"CREATE TABLE t_{i} (id INT);\nINSERT INTO applied_log VALUES ({i});\n")
    procs = [subprocess.Popen([*CLI, "migrate", "up", "--quiet"], cwd=project.root, env=_env(project.dsn),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    applied_by = [out for _, out, _ in results if out.startswith("applied")]
    assert len(applied_by) >= 1  # one run did (nearly) everything; the rest found little or nothing to do
    rows = sql("SELECT version, status, success FROM rockway_schema_history ORDER BY installed_rank")
    assert [r[0] for r in rows] == [str(i) for i in range(1, 31)]
    assert all(r[1] == "success" and r[2] == 1 for r in rows)
    assert sorted(v for (v,) in sql("SELECT v FROM applied_log")) == list(range(2, 31))
    ranks = [r[0] for r in sql("SELECT installed_rank FROM rockway_schema_history ORDER BY installed_rank")]
    assert ranks == list(range(1, 31))


# --- SIGKILL trials ------------------------------------------------------------------------------

N = 20


def _write_project(root: Path) -> None:
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "V0__audit.sql").write_text("CREATE TABLE audit (v INT NOT NULL, k INT NOT NULL);\n")
    for i in range(1, N + 1):
        (root / "migrations" / f"V{i}__step_{i}.sql").write_text(
            f"CREATE TABLE t_{i} (id INT);\n"
            f"INSERT INTO audit VALUES ({i}, 2);\n"
            f"ALTER TABLE t_{i} ADD COLUMN c INT;\n"
            f"INSERT INTO audit VALUES ({i}, 4);\n")


def _took_effect(sql, version: int, k: int) -> bool:  # type: ignore[no-untyped-def]
    """What an operator would check by hand for statement k of V<version>."""
    if version == 0:
        return bool(sql("SHOW TABLES LIKE 'audit'"))
    if k == 1:
        return bool(sql(f"SHOW TABLES LIKE 't_{version}'"))
    if k == 3:
        return bool(sql(f"SHOW COLUMNS FROM t_{version} LIKE 'c'"))
    return bool(sql("SELECT 1 FROM audit WHERE v = %s AND k = %s", (version, k)))


def _snapshot(sql) -> dict:  # type: ignore[no-untyped-def]
    tables = sorted(r[0] for r in sql("SHOW TABLES") if r[0] not in ("rockway_lock_owner",))
    schema = {t: sql(f"SHOW CREATE TABLE `{t}`")[0][1] for t in tables if t != "rockway_schema_history"}
    audit = sorted(sql("SELECT v, k FROM audit")) if "audit" in tables else []
    history = sql("SELECT installed_rank, version, description, type, checksum, success, status, statements_total,"
                  " statements_applied, statement_hashes, pending_statement, error FROM rockway_schema_history"
                  " ORDER BY installed_rank")
    return {"schema": schema, "audit": audit, "history": history}


def _wait_for_dead_sessions(sql, database: str) -> None:  # type: ignore[no-untyped-def]
    """The killed client's server session may still be finishing its statement: wait until it is gone."""
    for _ in range(100):
        others = sql("SELECT COUNT(*) FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                     (database,))
        if others[0][0] == 0:
            return
        time.sleep(0.05)


def _recover(project_root: Path, dsn: str, sql, database: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Follow rockway's messages until `migrate up` succeeds; return the commands used."""
    commands: list[str] = []
    for _ in range(10):
        r = run_cli(project_root, "migrate", "up", "--quiet", env={"ROCKWAY_DSN": dsn})
        commands.append("migrate up")
        if r.code == 0:
            return commands
        assert r.code == 1, r.err
        if "was interrupted while statement" not in r.err:
            raise AssertionError(f"unexpected refusal: {r.err}")
        status = json.loads(run_cli(project_root, "migrate", "info", "--json", env={"ROCKWAY_DSN": dsn}).out)
        stuck = [i for i in status if i["state"] == "interrupted"]
        assert len(stuck) == 1, status
        version = int(stuck[0]["version"])
        k = int(r.err.split("was interrupted while statement ")[1].split(" ")[0])
        named_done = f"→ `migrate repair --statement-done {version}`" in r.err
        if named_done or "→ `migrate up --resume`" in r.err:  # the catalog judged statement k: it must be right
            assert named_done == _took_effect(sql, version, k), r.err
        else:
            assert f"`migrate repair --statement-done {version}`" in r.err and "`migrate up --resume`" in r.err
        if _took_effect(sql, version, k):
            r2 = run_cli(project_root, "migrate", "repair", "--statement-done", str(version), env={"ROCKWAY_DSN": dsn})
            commands.append(f"migrate repair --statement-done {version}")
            assert r2.code == 0, r2.err
        else:
            r2 = run_cli(project_root, "migrate", "up", "--resume", "--quiet", env={"ROCKWAY_DSN": dsn})
            commands.append("migrate up --resume")
            if r2.code == 0:
                return commands
            assert r2.code == 1 and "was interrupted" in r2.err, r2.err
    raise AssertionError(f"did not converge: {commands}")


def test_sigkill_at_random_points_recovers_to_the_uninterrupted_result(tmp_path: Path, mariadb_server: str, request):
    import pymysql

    from rockway.config import parse_dsn

    server = parse_dsn(mariadb_server)
    admin = pymysql.connect(host=server.host, port=server.port, user=server.user, password=server.password or "",
                            autocommit=True)

    def database(name: str):  # type: ignore[no-untyped-def]
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}`")
        conn = pymysql.connect(host=server.host, port=server.port, user=server.user, password=server.password or "",
                               database=name, autocommit=True)

        def run(statement: str, params: tuple | None = None) -> list[tuple]:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return list(cur.fetchall()) if cur.description else []
        request.addfinalizer(lambda: (conn.close(), admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")))
        return f"mysql://{server.user}@{server.host}:{server.port}/{name}", run

    prefix = f"rw_kill_{uuid.uuid4().hex[:6]}"  # concurrent test runs on one server must not collide
    seed = int(os.environ.get("ROCKWAY_KILL_SEED", "20261126"))
    rng = random.Random(seed)
    ref_root = tmp_path / "reference"
    _write_project(ref_root)
    ref_dsn, ref_sql = database(f"{prefix}_ref")
    t0 = time.monotonic()
    r = run_cli(ref_root, "migrate", "up", "--quiet", env={"ROCKWAY_DSN": ref_dsn})
    duration = time.monotonic() - t0
    assert r.code == 0, r.err
    reference = _snapshot(ref_sql)

    outcomes = []
    for trial in range(20):
        root = tmp_path / f"trial{trial}"
        _write_project(root)
        name = f"{prefix}_{trial}"
        dsn, trial_sql = database(name)
        proc = subprocess.Popen([*CLI, "migrate", "up", "--quiet"], cwd=root, env=_env(dsn),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        delay = rng.uniform(0.2, duration * 0.95)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _wait_for_dead_sessions(trial_sql, name)
        commands = _recover(root, dsn, trial_sql, name)
        snap = _snapshot(trial_sql)
        assert snap["schema"] == reference["schema"], f"trial {trial} (kill after {delay:.2f}s): {commands}"
        assert snap["audit"] == reference["audit"], f"trial {trial}: a statement ran twice or never: {commands}"
        assert snap["history"] == reference["history"], f"trial {trial}: {commands}"
        outcomes.append(commands)
    # the trials must have exercised recovery, not only clean restarts
    print("recovery paths:", [" + ".join(c) for c in outcomes])
    assert any(len(c) > 1 for c in outcomes), outcomes
