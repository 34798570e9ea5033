"""Job and verify validation, rendering, scheduling, hints and logs (issue 13, items 14-16), on the real MariaDB.

- `rockway job validate` and `rockway run` check every file a pipeline reads (check files included) before
  anything connects (cron.d, `--env` and rendering without a server: tests/unit/test_jobs_validation.py).
- `rockway verify` without `--scope` checks yesterday on the server; a pipeline's refresh step shows rendered names.
- A source's login failure names the source's own password variable; `job reset-watermark` checks its
  arguments before it asks and needs --yes without a terminal; with --log-file JSON lines go to the file only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import Result
from tests.support.jobs import JobsWarehouse, jobs_toml, yesterdays
from tests.support.text_files import line_of, replace_once

AS_OF = "2026-03-02T05:00:00Z"


def _own_verifier(w: JobsWarehouse) -> None:
    """jobs.toml without the tests' Verifier/Notifier: check references resolve in jobs/checks/ (rockway.verify)."""
    text = "\n".join(line for line in jobs_toml(w.erp_db).splitlines() if not line.startswith(("verifier", "notifier")))
    (w.root / "jobs" / "jobs.toml").write_text(text, encoding="utf-8")


def _count(w: JobsWarehouse, table: str) -> int:
    return int(w.query(f"SELECT COUNT(*) FROM `{w.db('etl')}`.{table}")[0][0])


def _run(root: Path, *args: str, env: dict[str, str], stdin: str | None = None) -> Result:
    """The CLI without a terminal: stdin is the given text, or empty."""
    proc = subprocess.run([sys.executable, "-c", "from rockway.cli.main import main; main()", *args], cwd=root, env=env,
                          input=stdin if stdin is not None else "", capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


# --- 14: every file a pipeline reads, before anything runs -------------------------------------------------------
def test_job_validate_reports_an_unknown_key_in_a_check_file(jw: JobsWarehouse) -> None:
    _own_verifier(jw)
    checks = jw.root / "jobs" / "checks" / "sales.yaml"
    replace_once(checks, "        severity: INFO\n", "        severity: INFO\n        severty: INFO\n")
    line = line_of(checks, "severty")
    result = jw.cli("job", "validate")
    assert result.code == 2, result.out + result.err
    assert f"jobs/checks/sales.yaml:{line}: " in result.err and "unknown key 'severty'" in result.err
    assert "valid" not in result.out


def test_run_stops_at_a_bad_check_file_before_it_writes(jw: JobsWarehouse) -> None:
    """The morning run used to load stg_billing_item (and record it) before the verify step read the bad file."""
    _own_verifier(jw)
    checks = jw.root / "jobs" / "checks" / "sales.yaml"
    replace_once(checks, "    scope: current_rows\n", "    scope: current_rows\n    filter: x\n")
    result = jw.cli("run", "morning", "--as-of", AS_OF)
    assert result.code == 2, result.out + result.err
    assert f"jobs/checks/sales.yaml:{line_of(checks, 'filter: x')}: " in result.err
    assert (_count(jw, "etl_job_run"), _count(jw, "etl_watermark")) == (0, 0)


def test_job_validate_resolves_the_checks_jobs_and_pipelines_name(jw: JobsWarehouse) -> None:
    _own_verifier(jw)
    assert jw.cli("job", "validate", "--offline").code == 0
    replace_once(jw.root / "jobs" / "fact_sales.yaml", "checks: [fact_sales_unique_items,", "checks: [fact_sales_unique,")
    result = jw.cli("job", "validate", "--offline")
    assert result.code == 2
    assert "jobs/fact_sales.yaml:" in result.err and "checks[0]" in result.err and "'fact_sales_unique'" in result.err


# --- 15: the verify window on the server, rendered step names ------------------------------------------------------
def test_verify_without_scope_checks_yesterday_on_the_server(jw: JobsWarehouse) -> None:
    """It used to stop at "undefined variable 'window_start'"; now fact_sales_rows runs for yesterday (and fails:
    the warehouse has no rows, a CRITICAL check, exit 1)."""
    result = jw.cli("verify", "--checks", "jobs/checks/sales.yaml#fact_sales_rows", "--no-record", "--json")
    assert result.code == 1, result.out + result.err
    run = json.loads(result.out)
    assert run["scope"]["window_start"] in yesterdays("UTC")
    assert [r["status"] for r in run["results"]] == ["fail"]
    assert "window_start=" in result.err and "yesterday in UTC" in result.err


def test_the_refresh_step_shows_the_rendered_names(jw: JobsWarehouse) -> None:
    result = jw.cli("run", "morning", "--as-of", AS_OF, "--json")
    steps = {s["kind"]: s for s in json.loads(result.out)["steps"]}
    dw = jw.db("dw")
    assert steps["refresh"]["name"] == f"{dw}.mv_sales_daily,{dw}.mv_material_group_monthly"
    assert "{{" not in result.out + result.err


# --- 16: hints, confirmation, log files ---------------------------------------------------------------------------
def test_a_source_login_failure_names_the_sources_password_variable(jw: JobsWarehouse) -> None:
    assert jw.cli("job", "reset-watermark", "stg_billing_item", "--to", "2026-03-01 00:00:00", "--yes").code == 0
    wrong = jw.source_dsn().replace("//root", "//rw_no_such_user", 1)
    assert "rw_no_such_user" in wrong
    result = jw.cli("job", "run", "stg_billing_item", "--as-of", AS_OF, ROCKWAY_SOURCE_ERP_DSN=wrong,
                    ROCKWAY_SOURCE_ERP_PASSWORD="s3cret-source-pw")
    assert result.code != 0
    assert "ROCKWAY_SOURCE_ERP_PASSWORD" in result.err and "ROCKWAY_PASSWORD" not in result.err
    assert "s3cret-source-pw" not in result.out + result.err


def test_reset_watermark_checks_to_before_it_asks(jw: JobsWarehouse) -> None:
    result = _run(jw.root, "job", "reset-watermark", "fact_sales", "--to", "2026-13-01", env=jw.env(), stdin="y\n")
    assert result.code == 2
    assert "--to '2026-13-01' is not a date" in result.err
    assert "Set the watermark" not in result.out + result.err
    assert _count(jw, "etl_job_run") == 0


def test_reset_watermark_without_a_terminal_needs_yes(jw: JobsWarehouse) -> None:
    result = _run(jw.root, "job", "reset-watermark", "fact_sales", "--to", "2026-03-01", env=jw.env())
    assert result.code == 2, result.out + result.err
    assert "--yes" in result.err
    assert jw.watermark("fact_sales") is None and _count(jw, "etl_job_run") == 0
    assert _run(jw.root, "job", "reset-watermark", "fact_sales", "--to", "2026-03-01", "--yes", env=jw.env()).code == 0
    assert jw.watermark("fact_sales") == "2026-03-01"


def test_with_a_log_file_json_lines_go_to_the_file_only(jw: JobsWarehouse, tmp_path: Path) -> None:
    log_file = tmp_path / "run.jsonl"
    result = jw.cli("run", "morning", "--as-of", AS_OF, "--log-file", str(log_file))
    assert result.code == 1  # stg_billing_item has no watermark yet: the run fails, with ERROR lines
    lines = result.err.splitlines()
    assert not [line for line in lines if line.lstrip().startswith("{")], result.err
    assert sum("job_end stg_billing_item" in line for line in lines) == 1, result.err
    events = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert any(e.get("event") == "job_end" and e.get("job") == "stg_billing_item" for e in events)
    assert any(e.get("event") == "job_skipped" and e.get("job") == "fact_sales" for e in events)


def test_without_a_log_file_job_events_stay_json_on_stderr(jw: JobsWarehouse) -> None:
    """cron.d/rockway collects stderr as the JSON job log: that stays as it was."""
    result = jw.cli("run", "morning", "--as-of", AS_OF)
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "job_end" and e.get("job") == "stg_billing_item" for e in events)
