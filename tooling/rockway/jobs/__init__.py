"""Jobs: incremental and historical loads on one watermark table, pipelines, schedules.

Layering: jobs never imports rockway.verify (checks run through rockway.contracts.Verifier, injected by
the CLI), nor click/rich, nor pymysql; engine SQL lives in adapters/job_ops.py, mysql_jobs.py and
starrocks_jobs.py.
"""
