{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ etl_db }}.etl_watermark
-- Purpose: the high watermark of every incremental job and source: how far the job has loaded, the window
--          of its last load and the run that moved it.
-- Source: written by the job runner.
-- Refresh: upserted after a load committed and its CRITICAL checks passed (PRIMARY KEY on job and source);
--          never moved backwards except by an operator.
-- Owner: sales-data-engineering
{#- watermark_value is text so any watermark (a change time with microseconds, a sequence number) is kept
    exactly; MariaDB's DATETIME would keep whole seconds. StarRocks limits an encoded primary key to 128
    bytes, so job and source names stay short. #}
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
