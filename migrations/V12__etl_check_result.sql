{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ etl_db }}.etl_check_result
-- Purpose: the outcome of every data check run: which check, on what, its severity, pass or fail, the value
--          observed and what was expected, linked to the job run and its trace.
-- Source: written by the check engine.
-- Refresh: append-only (DUPLICATE KEY), one row per check per run; day partitions on checked_at.
-- Owner: sales-data-engineering
{% call wh.table(etl_db ~ '.etl_check_result', 'DUPLICATE', ['checked_at', 'check_name'],
                 partition_by="date_trunc('day', checked_at)", distributed_by=['check_name'],
                 comment='Data check results, append-only') %}
    checked_at      DATETIME       NOT NULL COMMENT 'UTC',
    check_name      VARCHAR(128)   NOT NULL,
    run_id          VARCHAR(64)    NOT NULL,
    table_name      VARCHAR(255)   NULL,
    check_scope     VARCHAR(255)   NULL     COMMENT 'partition, window or filter checked',
    severity        VARCHAR(16)    NOT NULL COMMENT 'CRITICAL | WARNING | INFO',
    status          VARCHAR(16)    NOT NULL COMMENT 'pass | fail | error',
    observed_value  DOUBLE         NULL,
    expected        VARCHAR(255)   NULL,
    message         VARCHAR(2000)  NULL,
    trace_id        VARCHAR(32)    NULL
{% endcall %};
