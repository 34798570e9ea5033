{% import 'macros/warehouse.sql' as wh -%}
-- Table: {{ dw_db }}.fact_sales
-- Purpose: billed sales at billing-document-item grain (SAP VBRK/VBRP), with the sales area, the
--          reporting region resolved at load time (the row-level-security key) and amounts in document
--          currency. Cancelled items are kept and flagged.
-- Source: {{ raw_db }}.stg_billing_item (SAP SD billing extract); region_code from
--         {{ dw_db }}.dim_sales_group_code; customer_sk from {{ dw_db }}.dim_customer as of billing_date.
-- Refresh: incremental upsert every evening by changed-at watermark (etl_watermark); a re-billed or
--          cancelled item replaces its row (PRIMARY KEY). Day partitions on billing_date.
-- Owner: sales-data-engineering
{% call wh.table(dw_db ~ '.fact_sales', 'PRIMARY', ['billing_date', 'billing_document', 'billing_item'],
                 partition_by="date_trunc('day', billing_date)", distributed_by=['billing_document'],
                 comment='Billed sales, one row per billing document item') %}
    billing_date          DATE          NOT NULL COMMENT 'FKDAT',
    billing_document      VARCHAR(10)   NOT NULL COMMENT 'VBELN',
    billing_item          INT           NOT NULL COMMENT 'POSNR',
    billing_type          VARCHAR(4)    NULL     COMMENT 'FKART',
    sales_org             VARCHAR(4)    NOT NULL COMMENT 'VKORG',
    distribution_channel  VARCHAR(2)    NOT NULL COMMENT 'VTWEG',
    division              VARCHAR(2)    NOT NULL COMMENT 'SPART',
    sales_group_code      VARCHAR(3)    NULL     COMMENT 'VKGRP',
    region_code           VARCHAR(10)   NOT NULL DEFAULT 'UNMAPPED' COMMENT 'from dim_sales_group_code; RLS key',
    customer_id           VARCHAR(10)   NOT NULL COMMENT 'KUNAG sold-to party',
    customer_sk           BIGINT        NULL     COMMENT 'dim_customer version valid on billing_date',
    material_number       VARCHAR(18)   NOT NULL COMMENT 'MATNR',
    quantity              DECIMAL(18,3) NULL     COMMENT 'FKIMG billed quantity',
    sales_unit            VARCHAR(3)    NULL     COMMENT 'VRKME',
    net_amount            DECIMAL(18,2) NULL     COMMENT 'NETWR, document currency',
    tax_amount            DECIMAL(18,2) NULL     COMMENT 'MWSBP, document currency',
    document_currency     VARCHAR(5)    NULL     COMMENT 'WAERK',
    is_cancelled          BOOLEAN       NOT NULL COMMENT 'FKSTO set or cancellation document',
    source_changed_at     DATETIME      NULL     COMMENT 'change time in SAP; the load watermark',
    etl_run_id            VARCHAR(64)   NULL,
    loaded_at             DATETIME      NULL
{% endcall %};
