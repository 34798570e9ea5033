import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from test_sim_jobs import sim, JobsSimulation  # noqa

def _run(sim):
    JobsSimulation.sim = sim
    run_state_machine_as_test(JobsSimulation, settings=settings(settings.default, max_examples=25, stateful_step_count=30,
                                                                 database=None))

def test_m_checks_ignored(sim, monkeypatch):
    import rockway.jobs.runner as runner
    monkeypatch.setattr(runner, "window_done", lambda r: r.loaded)
    _run(sim)

def test_m_scd2_no_close(sim, monkeypatch):
    import rockway.jobs.scd as scd
    orig = scd.scd2_apply_select
    monkeypatch.setattr(scd, "scd2_apply_select", lambda *a, **k: orig(*a, **k).replace("FALSE AS", "TRUE AS", 1))
    _run(sim)

def test_m_append_twice(sim, monkeypatch):
    import rockway.jobs.scd as scd
    orig = scd.copy_select
    monkeypatch.setattr(scd, "copy_select", lambda *a, **k: orig(*a, **{**k, "unique": ()}))
    _run(sim)
