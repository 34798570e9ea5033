"""The `rockway` command imports a command's module only when that command runs or is listed
(tooling/rockway/cli/main.py COMMANDS): `rockway migrate up` does not pay for the jobs, verify or docs commands."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from rockway.cli.main import COMMANDS, cli

_LOADED = """
import json, sys
from click.testing import CliRunner
from rockway.cli.main import cli
before = sorted(m for m in sys.modules if m.startswith("rockway.cli."))
result = CliRunner().invoke(cli, sys.argv[1:])
after = sorted(m for m in sys.modules if m.startswith("rockway.cli."))
print(json.dumps({"code": result.exit_code, "before": before, "after": after}))
"""


def _loaded(*argv: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_importing_the_cli_imports_no_command_module() -> None:
    loaded = _loaded("--version")
    assert loaded["code"] == 0
    commands = {spec.partition(":")[0] for spec in COMMANDS.values()}
    assert not commands & set(loaded["before"]), loaded["before"]  # type: ignore[arg-type]


def test_a_migrate_command_imports_the_migrate_commands_only() -> None:
    loaded = _loaded("migrate", "up", "--help")
    assert loaded["code"] == 0
    others = {spec.partition(":")[0] for name, spec in COMMANDS.items() if name not in ("migrate", "lint")}
    assert "rockway.cli.migrate_cmds" in loaded["after"]  # type: ignore[operator]
    assert not others & set(loaded["after"]), sorted(others & set(loaded["after"]))  # type: ignore[arg-type]


def test_help_lists_every_command_and_each_resolves() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)
    for name in COMMANDS:
        assert cli.get_command(cli.make_context("rockway", ["--help"], resilient_parsing=True), name) is not None


def test_help_imports_no_wing_a_command_only_needs_when_it_runs() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom rockway.cli.main import cli\n"
            "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
            "print(sorted({m for m in sys.modules if m.startswith(('rockway.adapters', 'rockway.verify', 'pymysql',"
            " 'jinja2', 'sqlglot', 'rich'))}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_read_only_migrate_api_imports_neither_the_schema_record_nor_the_mv_health_check() -> None:
    """`migrate info`, `validate`, `history` and `render` start without what only a run needs (migrate/api.py
    imports schema/api.py and mv/health.py inside `migrate`)."""
    code = ("import sys\nimport rockway.migrate.api\n"
            "print(sorted(m for m in sys.modules if m in ('rockway.schema.api', 'rockway.schema.dump', 'rockway.docs',"
            " 'rockway.mv.health', 'rockway.mv.status')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
