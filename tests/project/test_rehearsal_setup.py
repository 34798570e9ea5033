"""The local rehearsal: `rockway dev seed`, then `rockway run evening` and `rockway run morning` on a fresh warehouse.

Everything is prefixed (tests/support/warehouse.py): the warehouse databases through ROCKWAY_VAR_*, and the ERP
through ROCKWAY_SOURCE_ERP_DSN, whose database (`<prefix>_erpsrc`) differs from the `database = "erp"` that
jobs/jobs.toml's [jobs.sources.erp] names for production, so the DSN's database must be the one that is read.
The project uses the shipped jobs/jobs.toml, pipelines and checks (the real Verifier).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.jobs import JobsWarehouse
from rockway.config import load_settings, parse_dsn
from rockway.jobs.settings import load_jobs_settings
from tests.support.paths import REPO_ROOT
from tests.support.warehouse import admin_connection

READER_PASSWORD = "rd#pw 'x\"$="


def reference_time() -> datetime:
    """Noon UTC of today, or of yesterday before noon: a past moment far from midnight in Europe/Berlin."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if now >= noon else noon - timedelta(days=1)


class Rehearsal:
    def __init__(self, server_dsn: str, tmp_path: Path) -> None:
        self.jw = JobsWarehouse(server_dsn, tmp_path)
        shutil.copy2(REPO_ROOT / "jobs" / "jobs.toml", self.jw.root / "jobs" / "jobs.toml")  # the shipped settings
        server = parse_dsn(server_dsn)
        self.erp = self.jw.wh.db("erpsrc")
        self.user = f"{self.jw.wh.prefix}_rdr"
        self.jw.wh.users.append(self.user)
        self.jw.extra_env = {"ROCKWAY_SOURCE_ERP_DSN": f"mysql://{self.user}@{server.host}:{server.port}/{self.erp}",
                             "ROCKWAY_SOURCE_ERP_PASSWORD": READER_PASSWORD,
                             "ROCKWAY_BACKUP_FOLDER": str(tmp_path / "backups")}
        self.as_of = reference_time().isoformat()

    def cli(self, *args: str, **env: str) -> Any:
        return self.jw.cli(*args, timeout=600, **env)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.jw.query(sql, params)

    def counts(self) -> dict[str, int]:
        out = {t: self.query(f"SELECT COUNT(*) FROM `{self.erp}`.`{t}`")[0][0]
               for t in ("customers", "materials", "orders", "order_items")}
        out["runs"] = self.query(f"SELECT COUNT(*) FROM {self.jw.db('etl')}.etl_job_run")[0][0]
        return out

    def watermarks(self) -> dict[str, str]:
        return dict(self.query(f"SELECT job_name, watermark_value FROM {self.jw.db('etl')}.etl_watermark"))

    def drop(self) -> None:
        with admin_connection(self.jw.server_dsn) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.erp}`")
        self.jw.drop()


@pytest.fixture
def rehearsal(mariadb_server: str, tmp_path: Path) -> Iterator[Rehearsal]:
    r = Rehearsal(mariadb_server, tmp_path)
    try:
        yield r
    finally:
        r.drop()


def test_seed_then_evening_and_morning_succeed_and_a_second_seed_changes_nothing(rehearsal: Rehearsal) -> None:
    r = rehearsal
    seeded = r.cli("dev", "seed", "--as-of", r.as_of, "--json")
    assert seeded.code == 0, seeded.err + seeded.out
    first = json.loads(seeded.out)
    assert first["erp_database"] == r.erp and first["erp_user"] == r.user
    assert set(r.watermarks()) == {"dim_customer", "dim_material", "stg_billing_item", "fact_sales"}
    yesterday = date.fromisoformat(first["sample_days"][1])
    assert r.watermarks()["fact_sales"] == (yesterday - timedelta(days=1)).isoformat()
    # the reader may read the ERP and nothing else
    grants = [g[0] for g in r.query(f"SHOW GRANTS FOR '{r.user}'@'%'")]
    assert len(grants) == 2 and f"GRANT SELECT ON `{r.erp}`.* TO `{r.user}`@`%`" in grants, grants
    assert READER_PASSWORD not in seeded.out + seeded.err

    evening = r.cli("run", "evening", "--as-of", r.as_of)
    assert evening.code == 0, evening.err + evening.out
    morning = r.cli("run", "morning", "--as-of", r.as_of, "--json")
    assert morning.code == 0, morning.err + morning.out
    steps = {s["kind"]: s["status"] for s in json.loads(morning.out)["steps"]}
    assert set(steps.values()) <= {"success", "skipped"} and steps["verify"] == "success", steps
    billed = r.query(f"SELECT COUNT(*) FROM {r.jw.db('dw')}.fact_sales WHERE billing_date = %s", (yesterday,))[0][0]
    assert billed > 0  # the morning loaded yesterday, which the seed left to it

    # every CRITICAL check of jobs/checks/sales.yaml passes on the morning's window
    checks = r.cli("verify", "--pipeline", "morning", "--scope", f"window_start={yesterday}",
        "--scope", f"window_end={yesterday + timedelta(days=1)}", "--json", "--reports-dir", str(r.jw.root / "reports"))
    assert checks.code == 0, checks.err + checks.out

    before, marks = r.counts(), r.watermarks()
    again = r.cli("dev", "seed", "--as-of", r.as_of, "--json")
    assert again.code == 0, again.err + again.out
    second = json.loads(again.out)
    assert second["created"] == [] and second["loaded"] == [] and second["migrations_applied"] == 0
    assert r.counts() == before and r.watermarks() == marks


def test_the_source_dsn_names_the_database_that_is_read(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "jobs", tmp_path / "jobs")
    shutil.copy2(REPO_ROOT / "rockway.toml", tmp_path / "rockway.toml")
    settings = load_settings(tmp_path, env_name="dev", environ={})
    shipped = load_jobs_settings(settings, environ={}).sources["erp"]
    assert (shipped.kind, shipped.database) == ("dsn", "erp")
    other = load_jobs_settings(settings, environ={"ROCKWAY_SOURCE_ERP_DSN": "mysql://etl_reader@127.0.0.1:3306/erp_b"})
    assert other.sources["erp"].database == "erp_b"
    named = load_jobs_settings(settings, environ={"ROCKWAY_SOURCE_ERP_DSN": "mysql://etl_reader@127.0.0.1:3306/erp_b",
                                                  "ROCKWAY_SOURCE_ERP_DATABASE": "erp_c"})
    assert named.sources["erp"].database == "erp_c"  # the explicit override still wins


@pytest.mark.parametrize("env, message", [
    ({"ROCKWAY_ENV": "prod"}, 'kind = "dsn"'),
    ({"ROCKWAY_SOURCE_ERP_DSN": "mysql://etl_reader@erp-elsewhere.invalid:3306/erp"}, "warehouse's server"),
    ({"ROCKWAY_SOURCE_ERP_DSN": "mysql://bad-user@127.0.0.1:3306/erp"}, "letters, digits and _"),
])
def test_seed_refuses_a_configuration_it_cannot_rehearse(rehearsal: Rehearsal, env: dict[str, str],
                                                         message: str) -> None:
    server = parse_dsn(rehearsal.jw.server_dsn)
    env = {k: v.replace("127.0.0.1:3306", f"{server.host}:{server.port}") for k, v in env.items()}
    result = rehearsal.cli("dev", "seed", **env)
    assert result.code == 2, result.err + result.out
    assert "jobs.toml" in result.err and message in result.err
    # nothing written: no history database, no ERP, no user
    assert not rehearsal.query("SELECT 1 FROM information_schema.schemata WHERE schema_name IN (%s, %s)",
                               (rehearsal.jw.wh.meta_db, rehearsal.erp))
    assert not rehearsal.query("SELECT 1 FROM mysql.user WHERE user = %s", (rehearsal.user,))
