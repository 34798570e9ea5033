"""replication_num against the backends: where each setting is named, `migrate up` on StarRocks, and lint (the
shipped environments against the shipped deployment: tests/project/test_replication.py).

StarRocks keeps every replica of a tablet on its own backend, so replication_num above the alive backends makes
every CREATE TABLE fail: the default 3 fails on a single BE, "1" suits a single-BE cluster
(https://docs.starrocks.io/docs/administration/management/resource_management/Replica/). SHOW BACKENDS answers have
the 4.1 column list of StarRocks fe/fe-core/src/main/java/com/starrocks/common/proc/BackendsProcDir.java
(tests/support/starrocks_replay.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rockway.migrate import api as commands
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.config import Settings, load_settings, parse_dsn
from rockway.adapters import Timeouts
from rockway.errors import EXIT_USAGE, ConfigError
from rockway.lint import lint_script
from rockway.model import Kind, Statement
from rockway.migrate.replication import refuse_more_replicas_than_backends, replication_settings
from tests.support.sim_engine import SIM_DSN, StarRocksModel, model_adapter
from tests.support.starrocks_replay import BACKENDS_COLUMNS, ReplayConnection, backend_row, q

CREATE = ("CREATE TABLE t1 (id INT NOT NULL, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"
          ' PROPERTIES ("replication_num" = "{{ replication_num }}")')
ONE_OF_THREE_ALIVE = [backend_row(10002, True, "be-0"), backend_row(10003, False, "be-1"),
                      backend_row(10004, False, "be-2")]


# --- where each setting is named --------------------------------------------------------------------------

def test_settings_are_named_where_they_are_set() -> None:
    s = Settings(env="prod", replication_num=3, vars={"replication_num": "3"})
    assert [(r.where, r.value) for r in replication_settings(s, environ={})] == [
        ("[env.prod] replication_num", 3), ("[env.prod.vars] replication_num", 3)]
    from_env = replication_settings(s, environ={"ROCKWAY_VAR_REPLICATION_NUM": "3", "ROCKWAY_REPLICATION_NUM": "3"})
    assert [r.where for r in from_env] == ["ROCKWAY_REPLICATION_NUM", "ROCKWAY_VAR_REPLICATION_NUM"]
    assert [r.where for r in replication_settings(Settings(vars={"replication_num": 2}), environ={})] == [
        "[rockway.vars] replication_num"]
    assert replication_settings(Settings(vars={"replication_num": "{{ x }}"}), environ={}) == []


def test_refusal_names_only_the_settings_over_the_backends() -> None:
    s = Settings(env="prod", replication_num=1, vars={"replication_num": 3})
    with pytest.raises(ConfigError) as caught:
        refuse_more_replicas_than_backends(s, 1, environ={})
    assert caught.value.exit_code == EXIT_USAGE
    assert "[env.prod.vars] replication_num = 3" in str(caught.value)
    assert "1 alive backend" in str(caught.value)
    assert "[env.prod] replication_num" not in str(caught.value)
    refuse_more_replicas_than_backends(s, 3, environ={})  # enough backends
    refuse_more_replicas_than_backends(s, None, environ={})  # unknown: no check


# --- the adapter reads SHOW BACKENDS by column name -------------------------------------------------------

def replay_adapter(steps: list[Any]) -> tuple[StarRocksAdapter, ReplayConnection]:
    conn = ReplayConnection(steps)
    return StarRocksAdapter(conn, parse_dsn("starrocks://root@h:9030/db"), Timeouts(), "3.5.3-abc1234"), conn


def test_alive_backends_counts_rows_whose_alive_is_true() -> None:
    adapter, conn = replay_adapter([q("SHOW BACKENDS", BACKENDS_COLUMNS, ONE_OF_THREE_ALIVE)])
    assert adapter.capabilities.replicas
    assert adapter.alive_backends() == 1
    conn.assert_done()


def test_alive_backends_is_unknown_without_the_privilege_to_look() -> None:
    # a user without the privilege SHOW BACKENDS needs; the text is illustrative [INFERRED], only the error counts
    adapter, conn = replay_adapter([q("SHOW BACKENDS", error=(1227, "Access denied; you need (at least one of) the "
                                                                    "OPERATE privilege(s) on SYSTEM for this operation"))])
    assert adapter.alive_backends() is None
    conn.assert_done()


# --- migrate up refuses before writing anything -----------------------------------------------------------

class BackendsModel(StarRocksModel):
    """The StarRocks model with a recorded SHOW BACKENDS answer."""

    def __init__(self, rows: list[tuple]) -> None:
        super().__init__()
        self.backend_rows = rows

    def handle(self, sql: str, args: Any) -> tuple[tuple[str, ...], list[tuple]]:
        if " ".join(sql.split()) == "SHOW BACKENDS":
            return BACKENDS_COLUMNS, list(self.backend_rows)
        return super().handle(sql, args)


def sim_project(tmp_path: Path, *, own: int, tables: int) -> Path:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "repeatable").mkdir()
    (tmp_path / "migrations" / "V1__t1.sql").write_text(CREATE + ";\n", encoding="utf-8")
    (tmp_path / "rockway.toml").write_text(f'[env.prod]\ndsn = "{SIM_DSN}"\nreplication_num = {own}\n\n'
                                           f"[env.prod.vars]\nreplication_num = {tables}\n", encoding="utf-8")
    return tmp_path


def wire(monkeypatch: pytest.MonkeyPatch, model: StarRocksModel) -> None:
    for key in ("ROCKWAY_VAR_REPLICATION_NUM", "ROCKWAY_REPLICATION_NUM", "ROCKWAY_DSN", "ROCKWAY_ENV"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("rockway.migrate.project.connect", lambda settings: model_adapter(model, settings))


@pytest.mark.parametrize("own, tables, named", [(1, 3, "[env.prod.vars] replication_num = 3"),
                                                (3, 1, "[env.prod] replication_num = 3")])
def test_migrate_up_refuses_more_replicas_than_alive_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              own: int, tables: int, named: str) -> None:
    model = BackendsModel(ONE_OF_THREE_ALIVE)
    wire(monkeypatch, model)
    settings = load_settings(sim_project(tmp_path, own=own, tables=tables), env_name="prod")
    with pytest.raises(ConfigError) as caught:
        commands.migrate(settings)
    assert caught.value.exit_code == EXIT_USAGE
    assert named in str(caught.value) and "1 alive backend" in str(caught.value)
    assert model.tables == {} and model.meta == {}  # nothing written: no table, no history, no lock


def test_migrate_up_cli_exits_2_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from rockway.cli.main import _run, cli

    model = BackendsModel(ONE_OF_THREE_ALIVE)
    wire(monkeypatch, model)
    project = sim_project(tmp_path, own=1, tables=3)
    code = _run(cli, ["-C", str(project), "migrate", "up", "--env", "prod"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "[env.prod.vars] replication_num = 3" in err
    assert model.tables == {} and model.meta == {}


def test_migrate_up_runs_when_the_backends_suffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = BackendsModel(ONE_OF_THREE_ALIVE)
    wire(monkeypatch, model)
    # the model answers no catalog introspection; the schema record after `up` never fails a migration
    # (tooling/rockway/schema/api.py record_after_migrate), so it is left out here as in tests/unit/test_sim_migrate.py
    monkeypatch.setattr("rockway.schema.api.before_migrate", lambda *args, **kwargs: None)
    monkeypatch.setattr("rockway.schema.api.record_after_migrate", lambda *args, **kwargs: None)
    result = commands.migrate(load_settings(sim_project(tmp_path, own=1, tables=1), env_name="prod"))
    assert result.report is not None and len(result.report.applied) == 1
    assert "t1" in model.tables


# --- lint compares with the declared backends, and only then ----------------------------------------------

def lint_create(replicas: int, backends: int | None) -> list[str]:
    sql = CREATE.replace("{{ replication_num }}", str(replicas))
    report = lint_script("V1__t1.sql", Kind.VERSIONED, sql, [Statement(1, sql, 1)], backends=backends)
    return [f.rule for st in report.statements for f in st.findings]


def test_lint_flags_replication_above_the_declared_backends() -> None:
    assert "SR022" in lint_create(3, 1)
    assert "SR022" not in lint_create(1, 1)
    assert "SR022" not in lint_create(3, 3)
    assert "SR022" not in lint_create(3, None)  # no declared backends: lint has no server to ask, so it says nothing


def test_rockway_lint_env_prod_uses_prod_backends(tmp_path: Path) -> None:
    from tests.support.cli import run_cli

    project = sim_project(tmp_path, own=1, tables=3)
    text = (project / "rockway.toml").read_text(encoding="utf-8").replace("replication_num = 1\n",
                                                                          "replication_num = 1\nbackends = 1\n", 1)
    (project / "rockway.toml").write_text(text, encoding="utf-8")
    declared = run_cli(project, "lint", "--env", "prod")
    assert declared.code == 1 and "SR022" in declared.out and "backends = 1" in declared.out
    (project / "rockway.toml").write_text(text.replace("backends = 1\n", ""), encoding="utf-8")
    undeclared = run_cli(project, "lint", "--env", "prod")
    assert "SR022" not in undeclared.out
