"""Job and verify validation, rendering, scheduling, hints and logs (issue 13, items 14-16), on the real MariaDB.

- `rockway job validate` and `rockway run` check every file a pipeline reads (check files included) before
  anything connects; cron.d lines must name the user; an unknown `--env` is rejected by every command.
- `rockway job render` with an explicit window never connects; `rockway verify` without `--scope` checks
  yesterday in [jobs] business_time_zone; a pipeline's refresh step shows rendered names.
- A source's login failure names the source's own password variable; `job reset-watermark` checks its
  arguments before it asks and needs --yes without a terminal; with --log-file JSON lines go to the file only.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobs_helpers import JobsWarehouse, jobs_toml
from rw_helpers import Result, run_cli
from warehouse_helpers import REPO_ROOT, copy_project

AS_OF = "2026-03-02T05:00:00Z"


def _own_verifier(w: JobsWarehouse) -> None:
    """jobs.toml without the tests' Verifier/Notifier: check references resolve in jobs/checks/ (rockway.verify)."""
    text = "\n".join(line for line in jobs_toml(w.erp_db).splitlines() if not line.startswith(("verifier", "notifier")))
    (w.root / "jobs" / "jobs.toml").write_text(text, encoding="utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def _count(w: JobsWarehouse, table: str) -> int:
    return int(w.query(f"SELECT COUNT(*) FROM `{w.db('etl')}`.{table}")[0][0])


def _run(root: Path, *args: str, env: dict[str, str], stdin: str | None = None) -> Result:
    """The CLI without a terminal: stdin is the given text, or empty."""
    proc = subprocess.run([sys.executable, "-c", "from rockway.cli.main import main; main()", *args], cwd=root, env=env,
                          input=stdin if stdin is not None else "", capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def plain_project(tmp_path: Path) -> Path:
    """The warehouse project without a database: for commands that must not need one."""
    root = copy_project(tmp_path / "project")
    for part in ("jobs", "cron.d"):
        shutil.copytree(REPO_ROOT / part, root / part)
    shutil.copy2(REPO_ROOT / "README.md", root / "README.md")
    return root


# --- 14: every file a pipeline reads, before anything runs -------------------------------------------------------
def test_job_validate_reports_an_unknown_key_in_a_check_file(jw: JobsWarehouse) -> None:
    _own_verifier(jw)
    checks = jw.root / "jobs" / "checks" / "sales.yaml"
    _edit(checks, "        severity: INFO\n", "        severity: INFO\n        severty: INFO\n")
    line = _line_of(checks, "severty")
    result = jw.cli("job", "validate")
    assert result.code == 2, result.out + result.err
    assert f"jobs/checks/sales.yaml:{line}: " in result.err and "unknown key 'severty'" in result.err
    assert "valid" not in result.out


def test_run_stops_at_a_bad_check_file_before_it_writes(jw: JobsWarehouse) -> None:
    """The morning run used to load stg_billing_item (and record it) before the verify step read the bad file."""
    _own_verifier(jw)
    checks = jw.root / "jobs" / "checks" / "sales.yaml"
    _edit(checks, "    scope: current_rows\n", "    scope: current_rows\n    filter: x\n")
    result = jw.cli("run", "morning", "--as-of", AS_OF)
    assert result.code == 2, result.out + result.err
    assert f"jobs/checks/sales.yaml:{_line_of(checks, 'filter: x')}: " in result.err
    assert (_count(jw, "etl_job_run"), _count(jw, "etl_watermark")) == (0, 0)


def test_job_validate_resolves_the_checks_jobs_and_pipelines_name(jw: JobsWarehouse) -> None:
    _own_verifier(jw)
    assert jw.cli("job", "validate", "--offline").code == 0
    _edit(jw.root / "jobs" / "fact_sales.yaml", "checks: [fact_sales_unique_items,", "checks: [fact_sales_unique,")
    result = jw.cli("job", "validate", "--offline")
    assert result.code == 2
    assert "jobs/fact_sales.yaml:" in result.err and "checks[0]" in result.err and "'fact_sales_unique'" in result.err


@pytest.mark.parametrize("command", [("schedule",), ("job", "validate", "--offline")])
def test_a_cron_line_without_user_is_rejected(plain_project: Path, command: tuple[str, ...]) -> None:
    cron = plain_project / "cron.d" / "rockway"
    _edit(cron, "15 5  *   *   2-6  rockway  cd /opt", "15 5 * * 2-6 cd /opt")
    line = _line_of(cron, "15 5 * * 2-6 cd /opt")
    result = run_cli(plain_project, *command, env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 2, result.out + result.err
    assert f"cron.d/rockway:{line}: user: " in result.err and "m h dom mon dow user command" in result.err


@pytest.mark.parametrize("command", [("schedule",), ("job", "validate", "--offline")])
def test_a_cron_line_with_an_unknown_environment_is_rejected(plain_project: Path, command: tuple[str, ...]) -> None:
    cron = plain_project / "cron.d" / "rockway"
    _edit(cron, "rockway run evening --env prod", "rockway run evening --env prd")
    result = run_cli(plain_project, *command, env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 2, result.out + result.err
    assert f"cron.d/rockway:{_line_of(cron, '--env prd')}: command: --env prd" in result.err
    assert "Defined: dev, prod" in result.err


@pytest.mark.parametrize("command", [
    ("migrate", "info"), ("migrate", "render"), ("job", "list"), ("job", "validate", "--offline"), ("run", "morning"),
    ("verify", "--explain"), ("schedule",), ("docs", "check"), ("lint",), ("mv", "status"),
], ids=lambda c: " ".join(c))
def test_every_command_rejects_an_unknown_environment(plain_project: Path, command: tuple[str, ...]) -> None:
    result = run_cli(plain_project, *command, "--env", "prd", env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 2, result.out + result.err
    assert "environment 'prd' is not defined in rockway.toml" in result.err and "Defined: dev, prod" in result.err


def test_the_group_level_env_option_is_checked_too(plain_project: Path) -> None:
    result = run_cli(plain_project, "--env", "prd", "docs", "check")
    assert result.code == 2 and "environment 'prd'" in result.err


# --- 15: rendering without a server, the verify window, rendered step names ----------------------------------------
@pytest.mark.parametrize("scheme,engine", [("starrocks", "starrocks"), ("mysql", "mysql")])
def test_job_render_with_a_window_never_connects(plain_project: Path, scheme: str, engine: str) -> None:
    """A listening socket as the server: rendering with --from/--to must not even open a connection to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.setblocking(False)
        port = server.getsockname()[1]
        result = run_cli(plain_project, "job", "render", "fact_sales", "--env", "prod", "--dsn",
                         f"{scheme}://u@127.0.0.1:{port}/x", "--from", "2026-11-01", "--to", "2026-11-02")
        with pytest.raises(BlockingIOError):
            server.accept()
    assert result.code == 0, result.err
    assert f"engine {engine}" in result.out and "window (2026-11-01, 2026-11-02]" in result.out
    assert "'2026-11-02'" in result.out


def test_job_render_with_a_window_on_an_unreachable_server(plain_project: Path) -> None:
    result = run_cli(plain_project, "job", "render", "fact_sales", "--env", "prod", "--dsn", "starrocks://u@127.0.0.1:1/x",
                     "--from", "2026-11-01", "--to", "2026-11-02")
    assert result.code == 0, result.err
    assert "engine starrocks" in result.out


def _yesterday(zone: str) -> set[str]:
    """Yesterday in zone, as window_start (both sides of a midnight that may pass during the test)."""
    now = datetime.now(timezone.utc)
    return {((now + timedelta(seconds=s)).astimezone(ZoneInfo(zone)).date() - timedelta(days=1)).isoformat()
            for s in (-120, 0, 120)}


def test_verify_without_scope_checks_yesterday_on_the_server(jw: JobsWarehouse) -> None:
    """It used to stop at "undefined variable 'window_start'"; now fact_sales_rows runs for yesterday (and fails:
    the warehouse has no rows, a CRITICAL check, exit 1)."""
    result = jw.cli("verify", "--checks", "jobs/checks/sales.yaml#fact_sales_rows", "--no-record", "--json")
    assert result.code == 1, result.out + result.err
    run = json.loads(result.out)
    assert run["scope"]["window_start"] in _yesterday("UTC")
    assert [r["status"] for r in run["results"]] == ["fail"]
    assert "window_start=" in result.err and "yesterday in UTC" in result.err


def test_verify_default_window_is_yesterday_in_the_business_time_zone(plain_project: Path) -> None:
    result = run_cli(plain_project, "verify", "--explain", "--json", "--checks", "jobs/checks/sales.yaml#fact_sales_rows",
                     env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 0, result.err
    (query,) = json.loads(result.out)
    assert any(f"billing_date >= '{day}'" in query["where"] for day in _yesterday("Europe/Berlin"))
    assert "yesterday in Europe/Berlin" in result.err


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


def test_the_repository_project_validates(plain_project: Path) -> None:
    """The shipped jobs, checks, pipelines and cron.d file pass the stricter validation."""
    result = run_cli(plain_project, "job", "validate", "--offline", env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 0, result.err
