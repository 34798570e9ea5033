{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ etl_db }}.etl_metric_history
-- Purpose: the history of measured metrics (row counts, null rates, sums, freshness) per table and scope,
--          the baseline the anomaly checks compare new values with.
-- Source: written by the check engine.
-- Refresh: append-only (DUPLICATE KEY), one row per metric per measurement; day partitions on measured_at.
-- Owner: sales-data-engineering
{% call wh.table(etl_db ~ '.etl_metric_history', 'DUPLICATE', ['measured_at', 'metric_name'],
                 partition_by="date_trunc('day', measured_at)", distributed_by=['metric_name'],
                 comment='Metric history for anomaly checks, append-only') %}
    measured_at    DATETIME      NOT NULL COMMENT 'UTC',
    metric_name    VARCHAR(128)  NOT NULL,
    table_name     VARCHAR(255)  NOT NULL,
    metric_scope   VARCHAR(255)  NULL     COMMENT 'partition, window or group measured',
    metric_value   DOUBLE        NULL,
    run_id         VARCHAR(64)   NULL,
    trace_id       VARCHAR(32)   NULL
{% endcall %};
