{% import 'macros/warehouse.sql' as wh -%}
-- Purpose: the warehouse's databases and first tables: orders (loaded by jobs/orders.yaml), the currency
--          reference data (reference-data/currency.csv), and the tables the job runner and the data checks
--          write (watermarks, job runs, check results, metric history).
-- Source: n/a (DDL)
-- Owner: data-engineering
{{ wh.create_database(dw_db) }};
{{ wh.create_database(etl_db) }};

-- Table: {{ dw_db }}.orders
-- Purpose: one row per order, its latest version.
-- Source: the `app` source's orders table (jobs/orders.yaml).
-- Refresh: upserted by order_id every day (cron.d/rockway).
{% call wh.table(dw_db ~ '.orders', 'PRIMARY', ['order_id'], comment='Orders, latest version') %}
    order_id     BIGINT         NOT NULL,
    customer_id  VARCHAR(20)    NOT NULL,
    currency     VARCHAR(3)     NOT NULL COMMENT 'ISO 4217',
    amount       DECIMAL(12,2)  NOT NULL,
    ordered_at   DATETIME       NOT NULL COMMENT 'UTC',
    updated_at   DATETIME       NOT NULL COMMENT 'last change in the source, UTC',
    etl_run_id   VARCHAR(64)    NULL     COMMENT 'the job run that wrote the row',
    loaded_at    DATETIME       NULL     COMMENT 'UTC'
{% endcall %};

-- Table: {{ dw_db }}.currency
-- Purpose: currencies with their names: reference data maintained as a CSV.
-- Source: reference-data/currency.csv (repeatable/R__seed_currency.sql); the columns match its manifest.
{% call wh.table(dw_db ~ '.currency', 'PRIMARY', ['currency_code'], comment='Currencies (reference data)') %}
    currency_code  VARCHAR(3)   NOT NULL COMMENT 'ISO 4217',
    currency_name  VARCHAR(60)  NOT NULL,
    minor_units    INT          NOT NULL COMMENT 'digits after the decimal point'
{% endcall %};

-- Table: {{ etl_db }}.etl_watermark
-- Purpose: the high watermark of every incremental job and source (written by the job runner).
{% call wh.table(etl_db ~ '.etl_watermark', 'PRIMARY', ['job_name', 'source_name'],
                 comment='High watermark per incremental job and source') %}
    job_name         VARCHAR(64)   NOT NULL,
    source_name      VARCHAR(60)   NOT NULL COMMENT 'source table or extract',
    watermark_value  VARCHAR(64)   NOT NULL COMMENT 'ISO datetime (UTC, microseconds) or number',
    watermark_type   VARCHAR(16)   NOT NULL COMMENT 'datetime | integer | string',
    window_start     DATETIME      NULL     COMMENT 'exclusive lower bound of the last load',
    window_end       DATETIME      NULL     COMMENT 'inclusive upper bound of the last load',
    rows_loaded      BIGINT        NULL,
    run_id           VARCHAR(64)   NULL,
    updated_at       DATETIME      NOT NULL
{% endcall %};

-- Table: {{ etl_db }}.etl_job_run
-- Purpose: one row per job run (written by the job runner).
{% call wh.table(etl_db ~ '.etl_job_run', 'PRIMARY', ['run_id'], comment='Job runs') %}
    run_id         VARCHAR(64)    NOT NULL,
    job_name       VARCHAR(64)    NOT NULL,
    pipeline       VARCHAR(32)    NULL,
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

-- Table: {{ etl_db }}.etl_check_result
-- Purpose: one row per data check and run (written by `rockway verify`).
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

-- Table: {{ etl_db }}.etl_metric_history
-- Purpose: measured values of the anomaly checks (written by `rockway verify`).
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
