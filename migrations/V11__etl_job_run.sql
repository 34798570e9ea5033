{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ etl_db }}.etl_job_run
-- Purpose: one row per job run: what ran in which pipeline, when, for which window, how it ended, rows read
--          and written, the error, and the trace id that leads to the run's trace.
-- Source: written by the job runner.
-- Refresh: inserted when a run starts (status running) and upserted when it ends (PRIMARY KEY on run_id).
-- Owner: sales-data-engineering
{% call wh.table(etl_db ~ '.etl_job_run', 'PRIMARY', ['run_id'], comment='Job runs of the evening and morning pipelines') %}
    run_id         VARCHAR(64)    NOT NULL,
    job_name       VARCHAR(64)    NOT NULL,
    pipeline       VARCHAR(32)    NULL     COMMENT 'evening | morning | manual',
    started_at     DATETIME       NOT NULL COMMENT 'UTC',
    ended_at       DATETIME       NULL     COMMENT 'UTC',
    status         VARCHAR(16)    NOT NULL COMMENT 'running | success | failed | skipped',
    rows_read      BIGINT         NULL,
    rows_written   BIGINT         NULL,
    window_start   DATETIME       NULL,
    window_end     DATETIME       NULL,
    error_message  VARCHAR(2000)  NULL,
    trace_id       VARCHAR(32)    NULL     COMMENT 'OpenTelemetry trace id',
    host           VARCHAR(255)   NULL
{% endcall %};
