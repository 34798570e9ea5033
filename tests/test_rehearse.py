"""`rockway rehearse` on the real MariaDB: the warehouse of this repository from empty, a broken U script, a job
that reads a dropped column, `--pending`, bad input and an unreachable server; the JUnit report against
tests/data/junit-10.xsd and its structure; the prefix rule and the readiness logic of the StarRocks container.
"""

from __future__ import annotations

import os
import shutil
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from rw_helpers import Result, run_cli
from warehouse_helpers import REPO_ROOT, admin_connection, copy_project

DATA = Path(__file__).resolve().parent / "data"
PASSWORD = "Rehearse-secret-9"


def server_dsn(mariadb_server: str, database: str, *, user: str | None = None, password: str | None = None) -> str:
    from rockway.config import parse_dsn

    p = parse_dsn(mariadb_server)
    name = user or p.user
    secret = password if user else p.password
    return f"mysql://{name}{':' + secret if secret else ''}@{p.host}:{p.port}/{database}"


def rehearse(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Result:
    return run_cli(root, "rehearse", *args, env=env, timeout=timeout)


def leftovers(mariadb_server: str, prefix: str) -> list[str]:
    """Databases and roles on the server whose names start with prefix."""
    conn = admin_connection(mariadb_server)
    try:
        with conn.cursor() as cur:
            pattern = prefix.replace("_", "\\_") + "%"
            cur.execute("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s", (pattern,))
            found = [f"database {r[0]}" for r in cur.fetchall()]
            cur.execute("SELECT user FROM mysql.user WHERE user LIKE %s", (pattern,))
            return found + [f"role {r[0]}" for r in cur.fetchall()]
    finally:
        conn.close()


def prefix_of(result: Result) -> str:
    for line in result.out.splitlines():
        if "named rh_" in line:
            return line.split("named ", 1)[1].rstrip("*").strip()
    raise AssertionError(f"no prefix reported:\n{result.out}\n{result.err}")


def junit_cases(path: Path) -> dict[tuple[str, str], ET.Element]:
    """Validate the report against the JUnit schema and check its totals; (suite, case name) -> <testcase>."""
    import xmlschema

    xmlschema.XMLSchema(str(DATA / "junit-10.xsd")).validate(str(path))
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases: dict[tuple[str, str], ET.Element] = {}
    total = failed = 0
    for suite in root.findall("testsuite"):
        items = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(items), suite.get("name")
        assert int(suite.get("failures", "-1")) == sum(1 for c in items if c.find("failure") is not None)
        assert int(suite.get("skipped", "-1")) == sum(1 for c in items if c.find("skipped") is not None)
        for case in items:
            assert case.get("classname", "").startswith("rockway.rehearse.")
            float(case.get("time", "x"))
            cases[(suite.get("name", ""), case.get("name", ""))] = case
        total += len(items)
        failed += int(suite.get("failures", "0"))
    assert int(root.get("tests", "-1")) == total and int(root.get("failures", "-1")) == failed
    return cases


def failed(cases: dict[tuple[str, str], ET.Element]) -> dict[tuple[str, str], str]:
    return {key: (case.find("failure").get("message") or "") for key, case in cases.items()  # type: ignore[union-attr]
            if case.find("failure") is not None}


def warehouse(tmp_path: Path) -> Path:
    root = copy_project(tmp_path / "project")
    shutil.copytree(REPO_ROOT / "jobs", root / "jobs")
    return root


@pytest.fixture
def privileged_user(mariadb_server: str) -> Any:
    """A user with a password and every privilege (creates databases and roles), dropped afterwards."""
    name = f"rhu{uuid.uuid4().hex[:8]}"
    conn = admin_connection(mariadb_server)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE USER `{name}`@'%%' IDENTIFIED BY %s", (PASSWORD,))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO `{name}`@'%' WITH GRANT OPTION")
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS `{name}`@'%'")
        conn.close()


# --- the warehouse of this repository ---------------------------------------------------------------------


@pytest.mark.mariadb
def test_the_warehouse_rehearses_from_empty_and_leaves_nothing(mariadb_server: str, tmp_path: Path,
                                                               privileged_user: str) -> None:
    root = warehouse(tmp_path)
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    dsn = server_dsn(mariadb_server, "warehouse", user=privileged_user, password=PASSWORD)
    result = rehearse(root, "--dsn", dsn, "--junit", str(tmp_path / "rehearse.xml"), "--markdown",
                      str(tmp_path / "rehearse.md"), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 0, result.out + result.err
    prefix = prefix_of(result)
    assert leftovers(mariadb_server, prefix) == []
    cases = junit_cases(tmp_path / "rehearse.xml")
    assert failed(cases) == {}
    names = {name for _, name in cases}
    scripts = sorted(p.name for p in (root / "migrations").glob("V*.sql"))
    for script in scripts:
        assert f"migrations/{script}" in names
        assert f"migrations/U{script[1:]} undoes {script.split('__')[0]}" in names
    assert {"migrate up again", "same schema after the second up", "migrate validate", "jobs/checks/sales.yaml",
            "fact_sales", "stg_billing_item", "dim_customer", "dim_material"} <= names
    assert ("materialized views", "materialized views") in cases  # skipped on MariaDB, with its reason
    markdown = (tmp_path / "rehearse.md").read_text(encoding="utf-8")
    assert markdown.startswith("## rockway rehearse: passed")
    assert "| first up | migrations/V9__fact_sales.sql |" in markdown
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + markdown
    for text in (markdown, (tmp_path / "rehearse.xml").read_text(encoding="utf-8"), result.out, result.err):
        assert PASSWORD not in text


# --- failures, each named ---------------------------------------------------------------------------------

SHOP_TOML = """[rockway]
env = "dev"

[rockway.vars]
app_db = "shop_app"

[env.dev]
dsn = "{dsn}"
create_database = true
"""


def shop(tmp_path: Path, mariadb_server: str, undo2: str) -> Path:
    root = tmp_path / "shop"
    (root / "migrations").mkdir(parents=True)
    (root / "rockway.toml").write_text(SHOP_TOML.format(dsn=server_dsn(mariadb_server, "shop_meta")), encoding="utf-8")
    files = {
        "V1__orders.sql": "CREATE DATABASE IF NOT EXISTS {{ app_db }};\n"
                          "CREATE TABLE {{ app_db }}.orders (id INT NOT NULL, amount DECIMAL(10,2) NULL);\n",
        "U1__orders.sql": "DROP DATABASE IF EXISTS {{ app_db }};\n",
        "V2__customers.sql": "CREATE TABLE {{ app_db }}.customers (id INT NOT NULL);\n"
                             "ALTER TABLE {{ app_db }}.orders ADD COLUMN customer_id INT NULL;\n",
        "U2__customers.sql": undo2,
    }
    for name, text in files.items():
        (root / "migrations" / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.mariadb
def test_a_u_script_that_does_not_undo_its_v_fails_naming_it(mariadb_server: str, tmp_path: Path) -> None:
    root = shop(tmp_path, mariadb_server, "-- forgets orders.customer_id\nDROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    result = rehearse(root, "--junit", str(tmp_path / "r.xml"), "--markdown", str(tmp_path / "r.md"))
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    bad = failed(junit_cases(tmp_path / "r.xml"))
    assert list(bad) == [("round trip", "migrations/U2__customers.sql undoes V2")]
    assert "shop_app.orders: not restored by migrations/U2__customers.sql" in bad[("round trip", "migrations/U2__customers.sql undoes V2")]
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "+  `customer_id` int(11) DEFAULT NULL" in markdown  # the schema diff
    assert "FAILED round trip: migrations/U2__customers.sql undoes V2" in result.err


@pytest.mark.mariadb
def test_the_same_project_with_a_correct_u_script_passes(mariadb_server: str, tmp_path: Path) -> None:
    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    result = rehearse(root, "--keep")
    assert result.code == 0, result.out + result.err
    prefix = prefix_of(result)
    try:
        assert f"kept everything named {prefix}*" in result.out
        assert sorted(leftovers(mariadb_server, prefix)) == [f"database {prefix}shop_app", f"database {prefix}shop_meta"]
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            for name in ("shop_app", "shop_meta"):
                cur.execute(f"DROP DATABASE IF EXISTS `{prefix}{name}`")
        conn.close()


@pytest.mark.mariadb
def test_a_job_that_reads_a_dropped_column_fails_naming_the_job(mariadb_server: str, tmp_path: Path) -> None:
    root = warehouse(tmp_path)
    (root / "migrations" / "V18__drop_tax_amount.sql").write_text(
        "ALTER TABLE {{ raw_db }}.stg_billing_item DROP COLUMN mwsbp;\n", encoding="utf-8")
    (root / "migrations" / "U18__drop_tax_amount.sql").write_text(
        "ALTER TABLE {{ raw_db }}.stg_billing_item ADD COLUMN mwsbp DECIMAL(18,2) NULL"
        " COMMENT 'tax amount, document currency' AFTER netwr;\n", encoding="utf-8")
    result = rehearse(root, "--dsn", server_dsn(mariadb_server, "warehouse"), "--junit", str(tmp_path / "r.xml"))
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    bad = failed(junit_cases(tmp_path / "r.xml"))
    assert set(bad) == {("jobs", "fact_sales"), ("jobs", "stg_billing_item")}  # reads it / writes it
    assert bad[("jobs", "fact_sales")].startswith("job fact_sales (jobs/fact_sales.yaml): statement")
    assert "mwsbp" in bad[("jobs", "fact_sales")]
    assert "rockway job render fact_sales --from 2000-01-01 --to 2000-01-02" in result.err


@pytest.mark.mariadb
def test_pending_applies_only_the_release_and_shows_what_it_changes(mariadb_server: str, tmp_path: Path,
                                                                    db_dsn: str) -> None:
    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    app_db = f"{db_dsn.rsplit('/', 1)[1]}_app"
    env = {"ROCKWAY_DSN": db_dsn, "ROCKWAY_VAR_APP_DB": app_db}
    try:
        assert run_cli(root, "migrate", "up", "--target", "1", env=env).code == 0  # the server before the release
        result = rehearse(root, "--pending", "--markdown", str(tmp_path / "r.md"), "--junit", str(tmp_path / "r.xml"),
                          env=env)
        assert result.code == 0, result.out + result.err
        cases = junit_cases(tmp_path / "r.xml")
        assert [name for suite, name in cases if suite == "migrations"] == ["migrations/V2__customers.sql"]
        assert not any(suite == "round trip" for suite, _ in cases)
        markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
        assert f"- {app_db}.customers: new after the release" in markdown
        assert f"- {app_db}.orders: changed" in markdown
        assert "pending migrations only" in markdown
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{app_db}`")
        conn.close()


@pytest.mark.mariadb
def test_ctrl_c_drops_everything_the_rehearsal_created(mariadb_server: str, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    root = warehouse(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROCKWAY_", "OTEL_"))}
    env["ROCKWAY_DSN"] = server_dsn(mariadb_server, "warehouse")
    proc = subprocess.Popen([sys.executable, "-c", "from rockway.cli.main import main; main()", "rehearse"], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prefix = None
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "is named rh_" in line:
                prefix = line.rsplit(" ", 1)[1].strip().rstrip("*")
            if "rehearse: rollback:" in line:  # in the middle of the round trip
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert prefix and leftovers(mariadb_server, prefix) == []
    assert f"dropping everything named {prefix}*" in err


# --- bad input and an unreachable server ------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (("--junit", "missing-folder/r.xml"), "--junit"),
    (("--markdown", "."), "--markdown"),
    (("--start-starrocks", "--dsn", "mysql://root@127.0.0.1:3306/x"), "--start-starrocks or --dsn"),
    (("--pending", "--keep"), "--keep"),
    (("--start-starrocks", "--pending"), "--pending"),
])
def test_bad_options_exit_2_naming_the_option_and_write_nothing(tmp_path: Path, args: tuple[str, ...],
                                                                 needle: str) -> None:
    root = shop(tmp_path, "mysql://root@127.0.0.1:1", "SELECT 1;\n")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = rehearse(root, *args)
    assert result.code == 2, result.out + result.err
    assert needle in result.err
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_without_testcontainers_start_starrocks_exits_2_naming_the_extra(tmp_path: Path, monkeypatch: Any,
                                                                       capsys: Any) -> None:
    import sys

    from rockway.cli.main import _run, cli

    root = shop(tmp_path, "mysql://root@127.0.0.1:1", "SELECT 1;\n")
    monkeypatch.setitem(sys.modules, "testcontainers.core.container", None)  # the import fails as if not installed
    monkeypatch.chdir(root)
    assert _run(cli, ["rehearse", "--start-starrocks"]) == 2
    assert "pip install 'rockway[rehearse]'" in capsys.readouterr().err


def test_an_unreachable_server_exits_3(tmp_path: Path) -> None:
    root = shop(tmp_path, "mysql://root@127.0.0.1:1", "SELECT 1;\n")
    result = rehearse(root, "--junit", str(tmp_path / "r.xml"), env={"ROCKWAY_CONNECT_TIMEOUT": "3"})
    assert result.code == 3, result.out + result.err
    assert not (tmp_path / "r.xml").exists()


# --- the prefix rule, the reports, the container's readiness ----------------------------------------------


def test_the_prefix_covers_every_db_variable_role_prefix_and_the_history_database() -> None:
    from rockway.config import Settings, parse_dsn
    from rockway.rehearse.naming import prefixed_settings

    settings = Settings(dsn="starrocks://deployer:pw%2F1@fe:9030/warehouse?http_port=8030&ssl_mode=required",
                        vars={"raw_db": "sales_raw", "dw_db": "sales_dw", "role_prefix": "sales_", "rls_roles": ["a"],
                              "replication_num": 1})
    rehearsed, names = prefixed_settings(settings, "rh_0123abcd_")
    assert rehearsed.vars == {"raw_db": "rh_0123abcd_sales_raw", "dw_db": "rh_0123abcd_sales_dw",
                              "role_prefix": "rh_0123abcd_sales_", "rls_roles": ["a"], "replication_num": 1}
    dsn = parse_dsn(rehearsed.dsn or "")
    assert (dsn.database, dsn.http_port, dsn.ssl_mode, dsn.password) == ("rh_0123abcd_warehouse", 8030, "required", None)
    assert rehearsed.password == "pw/1" and "pw" not in (rehearsed.dsn or "")
    assert rehearsed.create_database
    assert names.databases == ["rh_0123abcd_warehouse", "rh_0123abcd_sales_raw", "rh_0123abcd_sales_dw"]
    assert names.role_prefix == "rh_0123abcd_sales_"


def test_a_name_too_long_with_the_prefix_is_bad_input() -> None:
    from rockway.config import Settings
    from rockway.errors import ConfigError
    from rockway.rehearse.naming import prefixed_settings

    with pytest.raises(ConfigError, match="dw_db"):
        prefixed_settings(Settings(dsn="mysql://root@h/w", vars={"dw_db": "d" * 60}), "rh_0123abcd_")


def test_reports_mask_secrets_and_keep_xml_valid() -> None:
    import xmlschema

    from rockway.rehearse.model import Case, Rehearsal
    from rockway.rehearse.report import junit_xml, markdown

    result = Rehearsal("from-empty", engine="mysql", server="mysql://u@h:3306/rh_x_w", prefix="rh_x_")
    result.add(Case("migrations", "migrations/V3__users.sql", failure="V3 users: statement 1 failed",
                    detail="CREATE USER app IDENTIFIED BY 'Very-secret-1'\x01 failed"))
    result.add(Case("materialized views", "materialized views", skipped="mysql has no materialized views"))
    xml_text, md = junit_xml(result), markdown(result)
    for text in (xml_text, md):
        assert "Very-secret-1" not in text
    xmlschema.XMLSchema(str(DATA / "junit-10.xsd")).validate(xml_text)
    assert "FAILED (1 failure(s))" in md and "| migrations | 0 | 1 | 0 |" in md


def test_readiness_waits_for_a_backend_with_capacity() -> None:
    from rockway.errors import DatabaseUnavailable
    from rockway.rehearse.container import backends_ready, wait_backends

    assert backends_ready([]) == (False, "no backend registered yet")
    assert not backends_ready([{"Alive": "true", "AvailCapacity": "1.000 B"}])[0]
    assert backends_ready([{"Alive": "true", "AvailCapacity": "12.3 GB", "IP": "be"}])[0]
    answers = iter([(False, "FE not accepting connections"), (False, "no backend"), (True, "backend be alive")])
    assert wait_backends("h", 1, timeout=5, probe=lambda h, p: next(answers), interval=0) == "backend be alive"
    with pytest.raises(DatabaseUnavailable, match="not ready after 0 s: no backend"):
        wait_backends("h", 1, timeout=0, probe=lambda h, p: (False, "no backend"), interval=0)


def test_the_suite_and_the_command_start_the_same_image() -> None:
    import rw_helpers
    from rockway.rehearse.container import DEFAULT_IMAGE

    assert rw_helpers.STARROCKS_IMAGE == os.environ.get("ROCKWAY_STARROCKS_IMAGE", DEFAULT_IMAGE)


def test_mv_cases_on_recorded_starrocks_answers() -> None:
    """StarRocks' MV catalog (recorded rows, tests/test_mv_status.py): active with a successful refresh passes, an
    inactive MV and a FAILED first refresh fail, each named."""
    from rockway.adapters.starrocks.mv import WANTED_COLUMNS
    from rockway.rehearse.probes import mv_cases
    from starrocks_replay import q
    from test_mv_status import COLUMNS_4X, ROW_4X, SCHEMA_CHANGED, adapter_for, probe, project, varied

    db = "rh_0123abcd_sales_dw"
    rows = [varied(ROW_4X, COLUMNS_4X, table_schema=db, table_name="mv_ok"),
            varied(ROW_4X, COLUMNS_4X, table_schema=db, table_name="mv_inactive", is_active="false",
                   inactive_reason=SCHEMA_CHANGED),
            varied(ROW_4X, COLUMNS_4X, table_schema=db, table_name="mv_failed", last_refresh_state="FAILED",
                   last_refresh_error_message="Memory of process exceed limit")]
    wanted = list(WANTED_COLUMNS)
    sql = ("SELECT " + ", ".join(wanted) + " FROM information_schema.materialized_views WHERE TABLE_SCHEMA IN "
           f"('{db}') ORDER BY TABLE_SCHEMA, TABLE_NAME")
    adapter, conn = adapter_for([probe(COLUMNS_4X), q(sql, wanted, [project(COLUMNS_4X, r, wanted) for r in rows]),
                                 q("SELECT now()", ("now()",), [("2025-11-14 19:38:46",)])])
    cases = {c.name: c for c in mv_cases(adapter, [db])}
    conn.assert_done()
    assert cases[f"{db}.mv_ok"].status == "passed"
    assert cases[f"{db}.mv_inactive"].failure == f"inactive: {SCHEMA_CHANGED}"
    assert cases[f"{db}.mv_failed"].failure == "refresh FAILED: Memory of process exceed limit"


def test_an_empty_role_prefix_becomes_the_rehearsal_prefix() -> None:
    from rockway.config import Settings
    from rockway.rehearse.naming import prefixed_settings

    rehearsed, names = prefixed_settings(Settings(dsn="mysql://root@h/w", vars={"role_prefix": ""}), "rh_0123abcd_")
    assert rehearsed.vars["role_prefix"] == "rh_0123abcd_" and names.role_prefix == "rh_0123abcd_"


@pytest.mark.mariadb
def test_a_database_named_literally_is_reported_as_shared(mariadb_server: str, tmp_path: Path) -> None:
    literal = f"shared_{uuid.uuid4().hex[:8]}"
    root = shop(tmp_path, mariadb_server, "ALTER TABLE {{ app_db }}.orders DROP COLUMN customer_id;\n"
                                          "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    with (root / "migrations" / "V1__orders.sql").open("a", encoding="utf-8") as fh:
        fh.write(f"CREATE TABLE {literal}.notes (id INT NOT NULL);\n")
    (root / "migrations" / "V0_9__shared.sql").write_text(f"CREATE DATABASE {literal};\n", encoding="utf-8")
    (root / "migrations" / "U0_9__shared.sql").write_text(f"DROP DATABASE {literal};\n", encoding="utf-8")
    with (root / "migrations" / "U1__orders.sql").open("a", encoding="utf-8") as fh:
        fh.write(f"DROP TABLE {literal}.notes;\n")
    try:
        result = rehearse(root)
        assert result.code == 0, result.out + result.err
        assert (f"warning: database {literal} is not named through a `*_db` variable of rockway.toml: the rehearsal "
                "used it without its prefix and does not drop it") in result.err
    finally:
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{literal}`")
        conn.close()


@pytest.mark.mariadb
def test_a_failing_migration_names_script_statement_and_next_command(mariadb_server: str, tmp_path: Path) -> None:
    root = shop(tmp_path, mariadb_server, "DROP TABLE IF EXISTS {{ app_db }}.customers;\n")
    (root / "migrations" / "V2__customers.sql").write_text(
        "CREATE TABLE {{ app_db }}.customers (id INT NOT NULL);\n"
        "ALTER TABLE {{ app_db }}.orders ADD COLUMN customer_id INTEGRE NULL;\n", encoding="utf-8")
    result = rehearse(root, "--junit", str(tmp_path / "r.xml"))
    assert result.code == 1, result.out + result.err
    assert leftovers(mariadb_server, prefix_of(result)) == []
    cases = junit_cases(tmp_path / "r.xml")
    assert list(failed(cases)) == [("migrations", "migrations/V2__customers.sql")]
    text = cases[("migrations", "migrations/V2__customers.sql")].find("failure").text or ""  # type: ignore[union-attr]
    assert "V2 (customers) failed at statement 2 of 2" in text and "INTEGRE" in text
    assert "Next: fix statement 2 in migrations/V2__customers.sql, then run `migrate up --resume`" in text
    assert not any(suite == "round trip" for suite, _ in cases)  # nothing to round-trip after a failed up


@pytest.mark.mariadb
def test_a_project_from_rockway_init_rehearses_under_the_prefix(mariadb_server: str, tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init", "shop").code == 0
    root = tmp_path / "shop"
    result = rehearse(root, "--dsn", server_dsn(mariadb_server, "shop_rockway"), "--junit", str(tmp_path / "r.xml"))
    assert result.code == 0, result.out + result.err
    prefix = prefix_of(result)
    assert leftovers(mariadb_server, prefix) == []
    assert "warning: database" not in result.err  # every database it creates is named through a `*_db` variable
    cases = junit_cases(tmp_path / "r.xml")
    assert failed(cases) == {} and any(suite == "jobs" for suite, _ in cases)
