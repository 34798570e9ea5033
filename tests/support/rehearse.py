"""Running `rockway rehearse` in a test and reading what it leaves: its prefix, leftover databases and roles, and
the JUnit report (validated against tests/data/junit-10.xsd); the warehouse and a two-script shop to rehearse;
the prefixed names the clean-up drops."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rockway.config import parse_dsn
from tests.support.cli import Result, run_cli
from tests.support.paths import DATA_DIR, REPO_ROOT
from tests.support.warehouse import admin_connection, copy_project

PASSWORD = "Rehearse-secret-9"
CLEANUP_PREFIX = "rh_0c1ea4ed_"  # the prefix of the rehearsal whose databases the clean-up tests drop


def server_dsn(mariadb_server: str, database: str, *, user: str | None = None, password: str | None = None) -> str:
    p = parse_dsn(mariadb_server)
    name = user or p.user
    secret = password if user else p.password
    return f"mysql://{name}{':' + secret if secret else ''}@{p.host}:{p.port}/{database}"


def cleanup_names(dsn: str) -> Any:
    """(settings, names) of a rehearsal named CLEANUP_PREFIX on dsn, with the warehouse's dw_db and etl_db."""
    from rockway.config import Settings
    from rockway.rehearse.naming import prefixed_settings

    return prefixed_settings(Settings(dsn=dsn, vars={"dw_db": "sales_dw", "etl_db": "sales_etl"}), CLEANUP_PREFIX)


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

    xmlschema.XMLSchema(str(DATA_DIR / "junit-10.xsd")).validate(str(path))
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
