"""MV health through `migrate up` end to end: the migration on MariaDB, the MV catalog from recorded StarRocks
answers (tests/support/mv_catalog.py): findings reported, `fail` and `activate` modes, the history row's note and the
run span, and a catalog that cannot be read. The check itself: tests/unit/test_mv_health.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rockway.adapters.starrocks.mv import StarRocksMaterializedViews
from tests.support.mv_catalog import ACTIVATE, BASE_VIEW_CHANGED, COLUMNS_4X, adapter_for, listing, mv_row, probe
from tests.support.starrocks_replay import ReplayConnection, Step, q


# --- `migrate up` end to end: the migration on MariaDB, the MV catalog from recorded StarRocks answers ----------

def write_project(tmp_path: Path) -> None:
    """A table and an MV over it (on MariaDB the MV macro renders a plain view of the same name)."""
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "repeatable").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "V1__sales.sql").write_text("CREATE TABLE sales (id INT, amount INT);\n", encoding="utf-8")
    (tmp_path / "repeatable" / "R__mv_sales_daily.sql").write_text(
        "{% call mv.materialized_view(name='mv_sales_daily', distributed_by=['id']) %}\n"
        "SELECT id, SUM(amount) AS amount FROM sales GROUP BY id\n{% endcall %}\n", encoding="utf-8")


def migrate_up(tmp_path: Path, db_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               steps: list[Step], *args: str) -> tuple[int, str, str, ReplayConnection]:
    import rockway.adapters.registry as registry
    from rockway.cli.main import _run, cli

    write_project(tmp_path)
    replay, conn = adapter_for(steps)
    catalog = StarRocksMaterializedViews(replay)
    monkeypatch.setattr(registry, "materialized_views", lambda adapter: catalog)
    for key in ("ROCKWAY_ENV", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ROCKWAY_DSN", db_dsn)
    code = _run(cli, ["-C", str(tmp_path), "migrate", "up", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, conn


def test_migrate_up_reports_fails_and_records_in_history(tmp_path: Path, db_dsn: str, sql: Any,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    steps = [probe(COLUMNS_4X), listing(mv_row()), listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED))]
    code, out, err, conn = migrate_up(tmp_path, db_dsn, monkeypatch, capsys, steps, "--mv-health", "fail")
    conn.assert_done()
    assert code == 1 and "applied 2 scripts" in out
    assert "error: materialized view sales_dw.mv_sales_daily: inactive: base-view changed: v_sales_enriched" in err
    assert "fix: rockway mv activate -d sales_dw; if it stays inactive, edit repeatable/R__mv_sales_daily.sql" in err
    rows = sql("SELECT description, status, error FROM rockway_schema_history ORDER BY installed_rank")
    assert [(r[0], r[1]) for r in rows] == [("sales", "success"), ("mv sales daily", "success")]
    assert rows[0][2] is None and rows[1][2].startswith("mv health after this run: sales_dw.mv_sales_daily: inactive")


def test_migrate_up_activates_when_asked_and_exits_0(tmp_path: Path, db_dsn: str, sql: Any,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    inactive = mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED)
    steps = [probe(COLUMNS_4X), listing(mv_row()), listing(inactive), listing(inactive), q(ACTIVATE), listing(mv_row())]
    monkeypatch.setenv("ROCKWAY_MV_HEALTH", "activate")
    code, out, err, conn = migrate_up(tmp_path, db_dsn, monkeypatch, capsys, steps, "--json")
    conn.assert_done()
    assert code == 0
    health = json.loads(out)["mv_health"]
    assert health["mode"] == "activate" and [f["activated"] for f in health["findings"]] == [True]


def test_migrate_up_with_nothing_to_do_reads_no_mv_state(tmp_path: Path, db_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    steps = [probe(COLUMNS_4X), listing(mv_row()), listing(mv_row())]
    assert migrate_up(tmp_path, db_dsn, monkeypatch, capsys, steps)[0] == 0
    code, out, _err, conn = migrate_up(tmp_path, db_dsn, monkeypatch, capsys, [])  # no query: the empty replay
    assert code == 0 and "Nothing to do" in out


def test_bad_mv_health_value_is_a_usage_error(tmp_path: Path, db_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], sql: Any) -> None:
    monkeypatch.setenv("ROCKWAY_MV_HEALTH", "sometimes")
    code, _out, err, _conn = migrate_up(tmp_path, db_dsn, monkeypatch, capsys, [])
    assert code == 2 and "ROCKWAY_MV_HEALTH" in err and "warn, fail, activate" in err
    assert not sql("SHOW TABLES")


def test_an_mv_step_with_an_unknown_severity_is_bad_input(jw) -> None:  # type: ignore[no-untyped-def]
    pipelines = jw.root / "jobs" / "pipelines.yaml"
    pipelines.write_text(pipelines.read_text(encoding="utf-8").replace("mv: {severity: warning}", "mv: {severity: loud}"),
                         encoding="utf-8")
    result = jw.cli("job", "validate", "--offline")
    assert result.code == 2, result.err + result.out
    assert "pipelines.yaml" in result.err + result.out and "severity must be one of warning, critical" in result.err + result.out


def test_the_run_span_carries_the_findings(tmp_path: Path, db_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.support.otlp_receiver import isolated_telemetry
    from rockway.migrate.api import migrate
    from rockway.config import load_settings

    with isolated_telemetry(monkeypatch):
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        steps = [probe(COLUMNS_4X), listing(mv_row()),
                 listing(mv_row(is_active="false", inactive_reason=BASE_VIEW_CHANGED))]
        write_project(tmp_path)
        replay, conn = adapter_for(steps)
        catalog = StarRocksMaterializedViews(replay)
        monkeypatch.setattr("rockway.adapters.registry.materialized_views", lambda adapter: catalog)
        result = migrate(load_settings(tmp_path, overrides={"dsn": db_dsn}))
        conn.assert_done()
        assert result.mv_health is not None and len(result.mv_health.problems) == 1
        [run] = [s for s in exporter.get_finished_spans() if s.name == "rockway migrate up"]
        assert (run.attributes["rockway.mv.health"], run.attributes["rockway.mv.unhealthy"],
                run.attributes["rockway.mv.activated"]) == ("warn", 1, 0)
        assert run.attributes["rockway.mv.findings"][0].startswith(
            "sales_dw.mv_sales_daily: inactive (base-view changed: v_sales_enriched); fix: rockway mv activate")


def test_an_unreadable_catalog_never_keeps_the_migration_from_running(tmp_path: Path, db_dsn: str, sql: Any,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # a server whose information_schema.materialized_views lacks IS_ACTIVE: the reader refuses (starrocks_mv.py)
    steps = [probe(tuple(c for c in COLUMNS_4X if c != "IS_ACTIVE"))]
    code, out, err, conn = migrate_up(tmp_path, db_dsn, monkeypatch, capsys, steps, "--mv-health", "fail")
    conn.assert_done()
    assert code == 0 and "applied 2 scripts" in out
    assert "warning: the materialized views could not be read before the run: information_schema.materialized_views" \
           " has no column(s) IS_ACTIVE; `rockway mv status` shows their state" in err
    assert [r[0] for r in sql("SELECT status FROM rockway_schema_history")] == ["success", "success"]
