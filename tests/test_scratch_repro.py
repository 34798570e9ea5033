from test_sim_jobs import *  # noqa
from test_sim_jobs import JobsSimulation, Sim, sim  # noqa


def test_replay(sim):
    JobsSimulation.sim = sim
    m = JobsSimulation()
    m.start(seed=0)
    m.business(changes=2, customer_changes=1, hours=12, new_customer=False, orders=4)
    m.run_job(fault='source_error', hours_back=0, job='stg_billing_item')
    import logging
    print("WM before", m._watermarks())
    m.run_job(fault=('kill', 43), hours_back=9, job='dim_customer')
    print("WM after", m._watermarks())
    print(sim.query(f"SELECT * FROM {sim.etl}.etl_job_run"))
    print(sim.query(f"SELECT customer_id, valid_from, valid_to FROM {sim.dw}.dim_customer"))
    for c, vs in m.history.customers.items():
        print(c, [(v.changed_at, v.seq, v.settled, v.read) for v in vs])
    m.scd2_one_current_version_contiguous_history()
