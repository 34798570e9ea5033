"""Lint judges a rendering by the engine it was rendered for: the rules about table replicas (SR017 no
"replication_num", SR022 more replicas than backends) say nothing about a MySQL/MariaDB rendering, whose tables keep
none (Capabilities.replicas); every other rule still applies. `rockway lint` takes the engine from the DSN's
scheme, a rehearsal from the server it connected to.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rockway.adapters import engine_capabilities
from rockway.lint import RULES, lint_script
from rockway.model import Kind, Statement

CREATE = "CREATE TABLE t (id INT NOT NULL) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)"
OVER = 'CREATE TABLE u (id INT NOT NULL) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) PROPERTIES ("replication_num" = "3")'
TIMESTAMP = "CREATE TABLE v (at TIMESTAMP) DUPLICATE KEY(at) DISTRIBUTED BY HASH(at)"


def _rules(engine: str | None, *sqls: str, backends: int | None = None) -> set[str]:
    statements = [Statement(i, sql, i) for i, sql in enumerate(sqls, 1)]
    capabilities = engine_capabilities(engine) if engine else None
    report = lint_script("migrations/V1__t.sql", Kind.VERSIONED, "\n".join(sqls), statements, backends=backends,
                         capabilities=capabilities)
    return {f.rule for f in report.all_findings}


def test_replica_rules_apply_to_a_starrocks_rendering_only() -> None:
    assert _rules("starrocks", CREATE, OVER, backends=1) >= {"SR017", "SR022"}
    assert _rules(None, CREATE, OVER, backends=1) >= {"SR017", "SR022"}  # no engine given: every rule
    assert not _rules("mysql", CREATE, OVER, backends=1) & {"SR017", "SR022"}


def test_other_starrocks_rules_still_judge_a_mysql_rendering() -> None:
    assert "SR001" in _rules("mysql", TIMESTAMP)


def test_only_the_replica_rules_depend_on_the_engine() -> None:
    assert {r.id: r.requires for r in RULES if r.requires} == {"SR017": "replicas", "SR022": "replicas"}


def test_an_unknown_engine_is_a_config_error() -> None:
    from rockway.errors import ConfigError

    with pytest.raises(ConfigError, match="oracle"):
        engine_capabilities("oracle")


def _project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__t.sql").write_text(CREATE + ";\n", encoding="utf-8")
    (tmp_path / "rockway.toml").write_text("[rockway]\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("dsn,engine,expected", [
    ("mysql://root@h/w", None, set()),
    ("starrocks://root@h:9030/w", None, {"SR017"}),
    ("mysql://root@h/w", "starrocks", {"SR017"}),  # a rehearsal that reached StarRocks through a mysql:// DSN
    ("starrocks://root@h:9030/w", "mysql", set()),
])
def test_commands_lint_renders_for_the_engine_asked(tmp_path: Path, dsn: str, engine: str | None,
                                                    expected: set[str]) -> None:
    from rockway.migrate.api import lint
    from rockway.config import Settings

    reports = lint(Settings(dsn=dsn, project_dir=_project(tmp_path)), engine=engine)
    assert {f.rule for r in reports for f in r.all_findings} == expected
