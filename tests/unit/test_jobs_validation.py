"""Job and verify validation on a copy of this repository's project, without a server (issue 13, items 14-15):
cron.d lines must name the user; an unknown `--env` is rejected by every command; `rockway job render` with an
explicit window never connects; `rockway verify` without `--scope` checks yesterday in [jobs] business_time_zone.
The same rules with a warehouse on MariaDB: tests/mariadb/test_jobs_validation.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.jobs import yesterdays
from tests.support.text_files import line_of, replace_once
from tests.support.warehouse import copy_project_with_jobs


@pytest.fixture
def plain_project(tmp_path: Path) -> Path:
    """The warehouse project without a database: for commands that must not need one."""
    return copy_project_with_jobs(tmp_path / "project")


# --- 14: cron.d lines and environments, before anything runs ------------------------------------------------------
@pytest.mark.parametrize("command", [("schedule",), ("job", "validate", "--offline")])
def test_a_cron_line_without_user_is_rejected(plain_project: Path, command: tuple[str, ...]) -> None:
    cron = plain_project / "cron.d" / "rockway"
    replace_once(cron, "15 5  *   *   2-6  rockway  cd /opt", "15 5 * * 2-6 cd /opt")
    line = line_of(cron, "15 5 * * 2-6 cd /opt")
    result = run_cli(plain_project, *command, env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 2, result.out + result.err
    assert f"cron.d/rockway:{line}: user: " in result.err and "m h dom mon dow user command" in result.err


@pytest.mark.parametrize("command", [("schedule",), ("job", "validate", "--offline")])
def test_a_cron_line_with_an_unknown_environment_is_rejected(plain_project: Path, command: tuple[str, ...]) -> None:
    cron = plain_project / "cron.d" / "rockway"
    replace_once(cron, "rockway run evening --env prod", "rockway run evening --env prd")
    result = run_cli(plain_project, *command, env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 2, result.out + result.err
    assert f"cron.d/rockway:{line_of(cron, '--env prd')}: command: --env prd" in result.err
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


# --- 15: rendering without a server, the verify window ---------------------------------------------------------
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


def test_job_render_offers_every_registered_engine() -> None:
    """`--engine` lists the registered dialects (rockway/adapters/registry.py): one more dialect, registered before the
    CLI is imported, is offered without an edit of the CLI (a fresh interpreter: the registry is read at import)."""
    program = (
        "from rockway.adapters.mysql.dialect import MySQL\n"
        "class Doris(MySQL):\n"
        "    name = 'doris_like'\n"
        "    dsn_schemes = ('doris',)\n"
        "from click.testing import CliRunner\n"
        "from rockway.cli.main import cli\n"
        "print(CliRunner().invoke(cli, ['job', 'render', '--help']).output)\n")
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    assert "--engine [doris_like|mysql|starrocks]" in out


def test_verify_default_window_is_yesterday_in_the_business_time_zone(plain_project: Path) -> None:
    result = run_cli(plain_project, "verify", "--explain", "--json", "--checks", "jobs/checks/sales.yaml#fact_sales_rows",
                     env={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    assert result.code == 0, result.err
    (query,) = json.loads(result.out)
    assert any(f"billing_date >= '{day}'" in query["where"] for day in yesterdays("Europe/Berlin"))
    assert "yesterday in Europe/Berlin" in result.err


def test_yesterday_is_the_business_day_before_as_of_in_the_business_time_zone(plain_project: Path) -> None:
    from datetime import date, datetime

    from rockway.config import load_settings
    from rockway.jobs.api import yesterday

    settings = load_settings(plain_project, environ={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    # 23:30 UTC on 1 March is already 2 March in Berlin: yesterday there is 1 March, not 28 February
    assert yesterday(settings, datetime(2026, 3, 1, 23, 30)) == (date(2026, 3, 1), date(2026, 3, 2), "Europe/Berlin")
    assert yesterday(settings, datetime(2026, 3, 1, 22, 30)) == (date(2026, 2, 28), date(2026, 3, 1), "Europe/Berlin")


def test_verify_api_names_a_bad_fail_on_before_connecting(plain_project: Path) -> None:
    from rockway.config import load_settings
    from rockway.errors import UsageError
    from rockway.verify import api

    settings = load_settings(plain_project, environ={"ROCKWAY_DSN": "mysql://u@127.0.0.1:1/x"})
    runner = api.checks_runner(settings)
    entries = api.select(runner, ["jobs/checks/sales.yaml#fact_sales_rows"])
    with pytest.raises(UsageError, match="fail_on must be critical, warning or info, not 'fatal'"):
        api.verify(settings, runner, entries, {"window_start": "2026-03-01", "window_end": "2026-03-02"},
                   fail_on="fatal")
