{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ raw_db }}.stg_billing_item
-- Purpose: landing zone of SAP billing document items exactly as extracted (SAP field names), one row per
--          item and extraction; the input of the evening fact_sales load and its audit trail.
-- Source: SAP ECC SD billing (VBRK header + VBRP items), incremental extract by change time (AEDAT/AEZET).
-- Refresh: append-only, every evening (DUPLICATE KEY: rows are never updated); day partitions on
--          extracted_at, older partitions dropped by the retention job.
-- Owner: sales-data-engineering
{% call wh.table(raw_db ~ '.stg_billing_item', 'DUPLICATE', ['extracted_at', 'vbeln', 'posnr'],
                 partition_by="date_trunc('day', extracted_at)", distributed_by=['vbeln'],
                 comment='SAP billing items as extracted, append-only') %}
    extracted_at  DATETIME      NOT NULL COMMENT 'extraction time, UTC',
    vbeln         VARCHAR(10)   NOT NULL COMMENT 'billing document',
    posnr         INT           NOT NULL COMMENT 'billing item',
    fkdat         DATE          NULL     COMMENT 'billing date',
    fkart         VARCHAR(4)    NULL     COMMENT 'billing type',
    fksto         VARCHAR(1)    NULL     COMMENT 'cancelled flag (X)',
    vkorg         VARCHAR(4)    NULL     COMMENT 'sales organisation',
    vtweg         VARCHAR(2)    NULL     COMMENT 'distribution channel',
    spart         VARCHAR(2)    NULL     COMMENT 'division',
    vkgrp         VARCHAR(3)    NULL     COMMENT 'sales group',
    kunag         VARCHAR(10)   NULL     COMMENT 'sold-to party',
    matnr         VARCHAR(18)   NULL     COMMENT 'material',
    fkimg         DECIMAL(18,3) NULL     COMMENT 'billed quantity',
    vrkme         VARCHAR(3)    NULL     COMMENT 'sales unit',
    netwr         DECIMAL(18,2) NULL     COMMENT 'net value, document currency',
    mwsbp         DECIMAL(18,2) NULL     COMMENT 'tax amount, document currency',
    waerk         VARCHAR(5)    NULL     COMMENT 'document currency',
    changed_at    DATETIME      NULL     COMMENT 'AEDAT + AEZET, UTC',
    batch_id      VARCHAR(64)   NULL     COMMENT 'extraction batch (the load label)'
{% endcall %};
