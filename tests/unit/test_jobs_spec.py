"""Job specs, pipelines and cron.d: bad inputs exit 2 naming file, line and field; windows, chunks, labels,
backoff. The repository's own jobs and cron.d: tests/project/test_repository_jobs.py; the live column check on
MariaDB: tests/mariadb/test_jobs_spec.py."""

from __future__ import annotations

import random
import re
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.job_specs import BASE_SPEC, BASE_SQL, mini_project
from tests.support.text_files import line_of
from tests.support.paths import REPO_ROOT as REPO


def validate(root: Path, *extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_cli(root, "job", "validate", *extra, env={"ROCKWAY_DSN": "", **(env or {})})


def test_valid_mini_project_passes(tmp_path: Path) -> None:
    result = validate(mini_project(tmp_path), "--offline")
    assert result.code == 0, result.err
    assert "valid" in result.out


def test_unknown_column_in_key_names_file_line_and_field(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    spec = root / "jobs" / "orders_copy.yaml"
    spec.write_text(BASE_SPEC.replace("key: [order_id]", "key: [order_nr]"), encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2, result.out + result.err
    assert f"jobs/orders_copy.yaml:{line_of(spec, 'key:')}: load.key[0]: unknown column 'order_nr'" in result.err


def test_extract_returning_an_undeclared_column_is_an_unknown_column(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    (root / "jobs" / "orders_copy.sql").write_text(BASE_SQL.replace("o.amount,", "o.amount, o.currency,"), encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2
    assert "jobs/orders_copy.yaml:6: columns: unknown column 'currency'" in result.err


def test_missing_watermark_for_an_incremental_job(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    spec = root / "jobs" / "orders_copy.yaml"
    spec.write_text(BASE_SPEC.split("watermark:")[0], encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2
    assert "jobs/orders_copy.yaml:1: watermark: missing watermark" in result.err
    # a full job needs none
    spec.write_text(BASE_SPEC.split("watermark:")[0].replace("mode: incremental", "mode: full"), encoding="utf-8")
    assert validate(root, "--offline").code == 0


def test_watermark_column_must_be_declared(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    spec = root / "jobs" / "orders_copy.yaml"
    spec.write_text(BASE_SPEC.replace("  column: changed_at", "  column: updated"), encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2
    assert f"jobs/orders_copy.yaml:{line_of(spec, 'column: updated')}: watermark.column: unknown column 'updated'" \
        in result.err


def test_cyclic_dependencies(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    jobs = root / "jobs"
    for name, dep in (("a_job", "b_job"), ("b_job", "a_job")):
        (jobs / f"{name}.yaml").write_text(BASE_SPEC.replace("orders_copy", name) + f"depends_on: [{dep}]\n",
                                           encoding="utf-8")
        (jobs / f"{name}.sql").write_text(BASE_SQL, encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2
    assert re.search(r"jobs/b_job\.yaml:18: depends_on\[0\]: cyclic dependency: a_job -> b_job -> a_job", result.err), \
        result.err
    # a pipeline run refuses to start with the same message
    (jobs / "pipelines.yaml").write_text("pipelines:\n  morning:\n    steps:\n      - jobs: [a_job]\n", encoding="utf-8")
    run = run_cli(root, "run", "morning", env={"ROCKWAY_DSN": "mysql://root@127.0.0.1:1/x"})
    assert run.code == 2 and "cyclic dependency" in run.err


def test_unknown_fields_and_bad_types(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    spec = root / "jobs" / "orders_copy.yaml"
    spec.write_text(BASE_SPEC.replace("  amount: DECIMAL(18,2)", "  amount: MONEY")
                    .replace("  strategy: upsert", "  strategy: upsert\n  keys: [x]"), encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2
    assert f"jobs/orders_copy.yaml:{line_of(spec, 'amount: MONEY')}: columns.amount: type 'MONEY'" in result.err
    assert f"jobs/orders_copy.yaml:{line_of(spec, 'keys:')}: load.keys: unknown field" in result.err


def test_pipeline_with_unknown_job_and_step(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    path = root / "jobs" / "pipelines.yaml"
    path.write_text("pipelines:\n  morning:\n    steps:\n      - jobs: [orders_copy, nope]\n      - reboot: {}\n",
                    encoding="utf-8")
    result = validate(root, "--offline")
    assert result.code == 2
    assert "jobs/pipelines.yaml:4: pipelines.morning.steps[0].jobs[1]: unknown job 'nope'" in result.err
    assert "jobs/pipelines.yaml:5: pipelines.morning.steps[1].reboot: unknown step 'reboot'" in result.err


CRON = """\
SHELL=/bin/sh
CRON_TZ=Europe/Berlin
30 19 * * 1-5 rockway cd /srv/w && flock -n /run/lock/rw-evening.lock rockway run evening >> /var/log/rw/evening.log 2>&1
"""


def test_bad_cron_lines_exit_2(tmp_path: Path) -> None:
    root = mini_project(tmp_path)
    (root / "jobs" / "pipelines.yaml").write_text(
        "pipelines:\n  evening:\n    steps:\n      - jobs: [orders_copy]\n", encoding="utf-8")
    cron = root / "cron.d" / "rockway"
    cron.parent.mkdir()
    cron.write_text(CRON, encoding="utf-8")
    ok = run_cli(root, "schedule", "--count", "2", "--json", env={"ROCKWAY_DSN": ""})
    assert ok.code == 0, ok.err
    bad = CRON + "61 5 * * * rockway flock -n /run/lock/rw-m.lock rockway run evening >> /var/log/m.log 2>&1\n" \
                 "15 5 * * * rockway rockway run evening\n" \
                 "15 6 * * * rockway flock -n /run/lock/rw-x.lock rockway job runn x >> /var/log/x.log 2>&1\n" \
                 "15 7 * * * rockway flock -n /run/lock/rw-y.lock rockway run nightly >> /var/log/y.log 2>&1\n" \
                 "CRON_TZ=Mars/Olympus\n"
    cron.write_text(bad, encoding="utf-8")
    result = run_cli(root, "schedule", env={"ROCKWAY_DSN": ""})
    assert result.code == 2, result.out + result.err
    assert "cron.d/rockway:4: schedule: '61 5 * * *' is not a valid cron schedule" in result.err
    assert "cron.d/rockway:5: command: no `flock -n <lock file>`" in result.err
    assert "cron.d/rockway:5: command: output is not redirected" in result.err
    assert "cron.d/rockway:6: command: `rockway job runn x`" in result.err
    assert "cron.d/rockway:7: command: pipeline 'nightly' is not in jobs/pipelines.yaml" in result.err
    assert "cron.d/rockway:8: CRON_TZ: 'Mars/Olympus' is not an IANA time zone" in result.err
    # job validate reports cron problems too
    assert validate(root, "--offline").code == 2


# --- pure parts ----------------------------------------------------------------------------------
def test_chunks_cover_days_exactly_once() -> None:
    from rockway.jobs.window import chunks

    months = chunks("datetime", date(2026, 1, 15), date(2026, 3, 3), "month")
    assert [(w.lo, w.hi) for w in months] == [
        (datetime(2026, 1, 14, 23, 59, 59), datetime(2026, 1, 31, 23, 59, 59)),
        (datetime(2026, 1, 31, 23, 59, 59), datetime(2026, 2, 28, 23, 59, 59)),
        (datetime(2026, 2, 28, 23, 59, 59), datetime(2026, 3, 3, 23, 59, 59))]
    days = chunks("date", date(2026, 2, 27), date(2026, 3, 1), "day")
    assert [(w.lo, w.hi) for w in days] == [(date(2026, 2, 26), date(2026, 2, 27)), (date(2026, 2, 27), date(2026, 2, 28)),
                                            (date(2026, 2, 28), date(2026, 3, 1))]
    with pytest.raises(ValueError):
        chunks("date", date(2026, 3, 2), date(2026, 3, 1), "day")


def test_labels_are_deterministic_and_valid() -> None:
    from rockway.adapters.starrocks.jobs import label
    from rockway.jobs.window import Window, job_label

    w = Window("datetime", datetime(2026, 1, 1), datetime(2026, 1, 1, 1, 0, 0, 123456))
    assert job_label("stg_orders", w) == "rw_stg_orders_20260101T000000_20260101T010000123456"
    assert job_label("stg_orders", w) == job_label("stg_orders", Window("datetime", w.lo, w.hi))
    long = label("rw_" + "x" * 120, "apply", "abcdef12_a3")
    assert len(long) == 128 and re.fullmatch(r"[A-Za-z0-9_]+", long)
    assert label("rw_a", "", "t_a1") == "rw_a_t_a1"


def test_backoff_is_exponential_with_jitter_and_only_for_transient_errors() -> None:
    from rockway.errors import DatabaseError, OutcomeUnknown
    from rockway.jobs.retry import RetryPolicy, retrying

    policy = RetryPolicy(attempts=5, initial_delay=1.0, max_delay=5.0)
    assert [policy.delay(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.5]
    assert [policy.delay(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    rng = random.Random(1)
    assert len({round(policy.delay(3, rng.random), 6) for _ in range(20)}) > 10  # jitter spreads the waits

    waits: list[float] = []
    calls = {"n": 0}

    def flaky(attempt: int) -> str:
        calls["n"] += 1
        if attempt < 3:
            raise OutcomeUnknown("connection lost during INSERT")
        return "done"

    transient = lambda exc: isinstance(exc, OutcomeUnknown)  # noqa: E731
    assert retrying(flaky, policy, transient, sleep=waits.append, rand=lambda: 0.5) == "done"
    assert calls["n"] == 3 and waits == [0.75, 1.5]

    def permanent(attempt: int) -> str:
        calls["n"] += 1
        raise DatabaseError("(1054) Unknown column 'x'", errno=1054)

    calls["n"] = 0
    with pytest.raises(DatabaseError):
        retrying(permanent, policy, transient, sleep=waits.append)
    assert calls["n"] == 1

    def always(attempt: int) -> str:
        raise OutcomeUnknown("lost")

    with pytest.raises(OutcomeUnknown):
        retrying(always, RetryPolicy(attempts=3, initial_delay=0), transient, sleep=lambda s: None)


def test_engine_error_classification() -> None:
    from rockway.adapters.registry import offline_ops
    from rockway.errors import DatabaseError, DatabaseUnavailable, OutcomeUnknown

    mysql, sr = offline_ops("mysql"), offline_ops("starrocks")
    for ops in (mysql, sr):
        assert ops.is_transient(OutcomeUnknown("connection lost during COMMIT"))
        assert ops.is_transient(DatabaseUnavailable("mysql://x@h:3306/db: cannot connect: timed out"))
        assert not ops.is_transient(DatabaseUnavailable("mysql://x@h:3306/db: access denied for user 'x'"))
        assert not ops.is_transient(DatabaseError("(1054) Unknown column 'v'", errno=1054))
    assert mysql.is_transient(DatabaseError("(1205) Lock wait timeout exceeded", errno=1205))
    assert mysql.is_transient(DatabaseError("(1969) Query execution was interrupted (max_statement_time exceeded)",
                                            errno=1969))
    assert sr.is_transient(DatabaseError('A schema change operation is in progress on the table "t". Please wait until '
                                         "the current operation completes.", errno=1064))
    assert sr.is_transient(DatabaseError("Query reached its timeout of 300 seconds, please increase the 'timeout'",
                                         errno=1064))
    assert not sr.is_transient(DatabaseError("Insert has filtered data in strict mode", errno=1064))


def test_yaml_lines_and_durations() -> None:
    from rockway.durations import parse_duration
    from rockway.yamlsrc import parse_doc

    doc = parse_doc(textwrap.dedent("""\
        job: x
        load:
          key:
            - a
            - b
        """), "x.yaml")
    assert doc.line("load", "key", 1) == 5 and doc.line("load") == 2 and doc.line("nope") == 1  # falls back to the parent
    assert doc.problem("bad", "load", "key", 1).__str__() == "x.yaml:5: load.key[1]: bad"
    assert parse_duration("2h") == 7200 and parse_duration(90) == 90
    with pytest.raises(ValueError):
        parse_duration("2 weeks")


def test_pipeline_scheduling_bounds_concurrency_orders_dimensions_first_and_skips_dependents(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """run_jobs with the repository's specs plus a few more; the job bodies only sleep and record (no database)."""
    import threading
    import time
    from contextlib import contextmanager
    from dataclasses import replace

    from rockway.config import load_settings
    from rockway.jobs import pipeline
    from rockway.jobs.api import load_project
    from rockway.jobs.runner import JobEnv, JobResult

    project = load_project(load_settings(REPO))
    base = project.specs["dim_material"]
    specs = dict(project.specs)
    for name, kind, deps in (("dim_a", "dimension", ()), ("dim_b", "dimension", ()), ("stg_x", "staging", ()),
                             ("fact_x", "fact", ("stg_x",)), ("fact_y", "fact", ("fact_x",)), ("stg_bad", "staging", ()),
                             ("fact_after_bad", "fact", ("stg_bad",))):
        specs[name] = replace(base, name=name, kind=kind, depends_on=deps)
    log: list[tuple[str, str, float]] = []
    running = {"now": 0, "max": 0}
    guard = threading.Lock()

    def fake_run(spec, env, **kw):  # type: ignore[no-untyped-def]
        with guard:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            log.append(("start", spec.name, time.monotonic()))
        time.sleep(0.05)
        with guard:
            running["now"] -= 1
            log.append(("end", spec.name, time.monotonic()))
        return JobResult(spec.name, "r", "failed" if spec.name == "stg_bad" else "success")

    @contextmanager
    def no_lock(*a, **k):  # type: ignore[no-untyped-def]
        yield

    monkeypatch.setattr(pipeline, "run_job", fake_run)
    monkeypatch.setattr(pipeline, "job_lock", no_lock)
    monkeypatch.setattr(pipeline, "_record", lambda env, run: None)
    env = JobEnv(project.settings, replace(project.jobs, concurrency=2), None, None, "etl")  # type: ignore[arg-type]
    names = ["fact_y", "fact_x", "stg_x", "dim_a", "dim_b", "stg_bad", "fact_after_bad"]
    results = pipeline.run_jobs(names, specs, env, None, "run")  # type: ignore[arg-type]

    assert running["max"] == 2  # bounded, and more than one at a time
    when = {(event, name): t for event, name, t in log}
    for fact in ("fact_x", "fact_y"):
        assert when[("start", fact)] >= max(when[("end", "dim_a")], when[("end", "dim_b")])
    assert when[("start", "fact_x")] >= when[("end", "stg_x")] and when[("start", "fact_y")] >= when[("end", "fact_x")]
    assert results["stg_bad"].status == "failed"
    assert results["fact_after_bad"].status == "skipped" and results["fact_after_bad"].error == "dependency stg_bad failed"
    assert ("start", "fact_after_bad") not in when
    assert {n for n, r in results.items() if r.status == "success"} == {"fact_x", "fact_y", "stg_x", "dim_a", "dim_b"}
