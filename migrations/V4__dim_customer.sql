{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.dim_customer
-- Purpose: customers (sold-to parties) with full history (SCD type 2): a new version whenever a tracked
--          attribute changes, so sales are reported with the attributes valid when they were billed.
-- Source: SAP ECC customer master (KNA1, KNVV for the customer group), daily full extract.
-- Refresh: daily: versions whose attr_hash changed are closed (valid_to, is_current = false) and the new
--          versions inserted in one upsert (PRIMARY KEY on customer_sk, a deterministic 64-bit hash of
--          customer_id and valid_from computed by the load, so a re-run rewrites the same rows).
-- Owner: sales-data-engineering
{% call wh.table(dw_db ~ '.dim_customer', 'PRIMARY', ['customer_sk'],
                 comment='Customers with history (SCD2), one row per customer version') %}
    customer_sk     BIGINT        NOT NULL COMMENT 'surrogate key of this version',
    customer_id     VARCHAR(10)   NOT NULL COMMENT 'KUNNR',
    customer_name   VARCHAR(160)  NULL     COMMENT 'NAME1',
    customer_group  VARCHAR(2)    NULL     COMMENT 'KDGRP',
    industry_key    VARCHAR(4)    NULL     COMMENT 'BRSCH',
    country_code    VARCHAR(3)    NULL     COMMENT 'LAND1',
    city            VARCHAR(160)  NULL     COMMENT 'ORT01',
    postal_code     VARCHAR(10)   NULL     COMMENT 'PSTLZ',
    attr_hash       VARCHAR(64)   NOT NULL COMMENT 'SHA-256 of the tracked attributes',
    valid_from      DATETIME      NOT NULL,
    valid_to        DATETIME      NOT NULL DEFAULT '9999-12-31 23:59:59',
    is_current      BOOLEAN       NOT NULL,
    etl_run_id      VARCHAR(64)   NULL,
    updated_at      DATETIME      NULL
{% endcall %};
